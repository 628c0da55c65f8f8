#!/usr/bin/env bash
# Builds the Debian package (`cargo deb --strip`), checks what is in it, installs it on this
# machine, checks that the packaged daemon works as its system user, verifies the installed unit
# with `systemd-analyze verify`, upgrades it over itself with a changed conffile, removes it,
# purges it, and checks what each step leaves. Any mismatch fails the script with a message.
#
# Runs as root (dpkg). CI runs it from .ci/run; it needs cargo-deb (`cargo install cargo-deb
# --locked`). It refuses to touch a wirefeed package that it did not install itself (purging
# deletes /var/lib/wirefeed), and leaves the machine as it found it: a run that was interrupted is
# cleaned up by the next one, and the `wirefeed` user, which purging keeps by design, is deleted
# at the end when this script created it.
#
# The daemon's run here is short and unsupervised (no systemd is PID 1 in CI's container): it
# starts on the packaged config as the `wirefeed` user, migrates its SQLite file in
# /var/lib/wirefeed, and stops on SIGTERM with exit status 0. `systemd-analyze verify` needs no
# running systemd: it loads the unit file offline and checks its directives, its ExecStart binary
# and its dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
say() { echo "test-package: $*"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (dpkg -i, useradd)"
command -v cargo-deb >/dev/null || fail "cargo-deb is missing: cargo install cargo-deb --locked"

# A marker outside every path the package owns: this script installed the package and records
# whether the user existed before it did.
marker=/var/tmp/wirefeed-package-test.state
# The package's dpkg state: "ii" installed, "rc" removed with its config left, "" none.
state() {
  local s
  s=$(dpkg-query -W -f='${db:Status-Abbrev}' wirefeed 2>/dev/null || true)
  s=${s// /}
  [ "$s" = un ] && s=
  echo "$s"
}

user_existed=no
if [ -n "$(state)" ]; then
  if [ -f "$marker" ]; then
    say "a previous run was interrupted: purging its package"
    dpkg --purge wirefeed >/dev/null
  else
    fail "wirefeed is installed here (dpkg state $(state)) and not by this script; purging it \
would delete /var/lib/wirefeed. Run this test on another machine."
  fi
fi
if [ -f "$marker" ]; then
  # shellcheck disable=SC1090
  . "$marker"
elif getent passwd wirefeed >/dev/null; then
  user_existed=yes
fi
echo "user_existed=$user_existed" > "$marker"

cleanup() {
  local rc=$?
  if [ -n "$(state)" ]; then
    dpkg --purge wirefeed >/dev/null 2>&1 || true
  fi
  if [ "$user_existed" = no ]; then
    if getent passwd wirefeed >/dev/null; then userdel wirefeed >/dev/null 2>&1 || true; fi
    if getent group wirefeed >/dev/null; then groupdel wirefeed >/dev/null 2>&1 || true; fi
  fi
  [ -n "${work:-}" ] && rm -rf "$work"
  rm -f "$marker"
  exit $rc
}
trap cleanup EXIT
work=$(mktemp -d)

# 1. Build. cargo-deb prints the package's path on stdout. The release profile keeps debug line
# tables for profiling (130 MB); the packaged binary is stripped (21 MB).
say "building the package"
deb=$(cargo deb --strip | tail -n 1)
[ -f "$deb" ] || fail "cargo deb did not produce a package (got '$deb')"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)

# 2. What is in it.
dpkg-deb -c "$deb" | awk '{print $1, $6}' > "$work/contents"
for want in \
  "-rwxr-xr-x ./usr/bin/wirefeed" \
  "-rw-r--r-- ./etc/wirefeed/wirefeed.toml" \
  "-rw-r--r-- ./usr/lib/systemd/system/wirefeed.service" \
  "-rw-r--r-- ./usr/share/doc/wirefeed/copyright" \
  "-rw-r--r-- ./usr/share/doc/wirefeed/NOTICE" \
  "-rw-r--r-- ./usr/share/doc/wirefeed/README.deploy.md" \
  "-rw-r--r-- ./usr/share/doc/wirefeed/examples/prometheus/wirefeed-alerts.yml" \
  "-rw-r--r-- ./usr/share/doc/wirefeed/examples/grafana/wirefeed.json"; do
  grep -qxF -- "$want" "$work/contents" || fail "the package lacks '$want':
$(cat "$work/contents")"
done
if grep -q "^-.* ./var/" "$work/contents"; then
  fail "the package ships files under /var (the state is made at install, never shipped)"
fi
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = "/etc/wirefeed/wirefeed.toml" ] \
  || fail "conffiles should be exactly /etc/wirefeed/wirefeed.toml, not: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "no $script in the package"
  sh -n "$work/control/$script" || fail "$script is not valid sh"
done
grep -q "deb-systemd-invoke try-restart wirefeed.service" "$work/control/postinst" \
  || fail "postinst does not restart a running daemon on upgrade"
# Installing neither enables nor starts: cargo-deb's "dont-enable" fragment (which re-enables
# only a unit the operator had enabled) and no start action.
grep -q "deb-systemd-helper debian-installed wirefeed.service" "$work/control/postinst" \
  || fail "postinst enables the service at install"
if grep -q "_dh_action=start\|deb-systemd-invoke start" "$work/control/postinst"; then
  fail "postinst starts the service at install"
fi
[ "$(dpkg-deb -f "$deb" Package)" = wirefeed ] || fail "package name"
[ "$(dpkg-deb -f "$deb" Version)" = "$version-1" ] || fail "version $(dpkg-deb -f "$deb" Version), want $version-1"
dpkg-deb -f "$deb" Depends | grep -q passwd || fail "Depends lacks passwd (useradd)"
size_kib=$(dpkg-deb -f "$deb" Installed-Size)
[ "$size_kib" -lt 65536 ] || fail "Installed-Size $size_kib KiB: the binary was not stripped"
dpkg-deb -x "$deb" "$work/root"
cmp -s "$work/root/usr/lib/systemd/system/wirefeed.service" deploy/wirefeed.service \
  || fail "the packaged unit differs from deploy/wirefeed.service"
cmp -s "$work/root/etc/wirefeed/wirefeed.toml" deploy/debian/wirefeed.toml \
  || fail "the packaged config differs from deploy/debian/wirefeed.toml"
grep -qx 'url = "sqlite:///var/lib/wirefeed/wirefeed.db"' "$work/root/etc/wirefeed/wirefeed.toml" \
  || fail "the packaged config does not keep its database in /var/lib/wirefeed"
say "contents, conffiles and maintainer scripts: ok"

# 3. Install.
say "installing $deb"
dpkg -i "$deb" > "$work/install.log" 2>&1 || fail "dpkg -i failed:
$(cat "$work/install.log")"
[ "$(state)" = ii ] || fail "dpkg state after install is '$(state)'"
uid=$(id -u wirefeed) || fail "no wirefeed user"
[ "$uid" -lt 1000 ] || fail "wirefeed is not a system user (uid $uid)"
[ "$(id -gn wirefeed)" = wirefeed ] || fail "wirefeed's group is $(id -gn wirefeed)"
[ "$(getent passwd wirefeed | cut -d: -f7)" = /usr/sbin/nologin ] || fail "wirefeed has a login shell"
[ "$(stat -c '%U:%G %a' /var/lib/wirefeed)" = "wirefeed:wirefeed 750" ] \
  || fail "/var/lib/wirefeed is $(stat -c '%U:%G %a' /var/lib/wirefeed), want wirefeed:wirefeed 750"
[ "$(/usr/bin/wirefeed --version)" = "wirefeed $version" ] \
  || fail "wirefeed --version says '$(/usr/bin/wirefeed --version)'"
# setpriv execs the command as the user (runuser would stay its parent and SIGKILL it 2 s after
# forwarding a SIGTERM, cutting the daemon's drain short).
as_user() { (cd / && setpriv --reuid wirefeed --regid wirefeed --init-groups -- "$@"); }
as_user /usr/bin/wirefeed --config /etc/wirefeed/wirefeed.toml check \
  || fail "wirefeed check on the packaged config failed as the wirefeed user"
as_user env -u WIREFEED_DATABASE_URL /usr/bin/wirefeed --config /etc/wirefeed/wirefeed.toml migrate \
  > "$work/migrate.log" 2>&1 || fail "wirefeed migrate as the wirefeed user failed:
$(cat "$work/migrate.log")"
[ "$(stat -c '%U' /var/lib/wirefeed/wirefeed.db)" = wirefeed ] \
  || fail "the database is not /var/lib/wirefeed/wirefeed.db owned by wirefeed"

# The daemon itself, briefly: starts, then drains and exits 0 on SIGTERM (after its grace
# period at most, when a feed's request is still in flight: no network is needed).
say "running the packaged daemon as the wirefeed user for 5 s"
rc=0
timeout --preserve-status -k 60 5 setpriv --reuid wirefeed --regid wirefeed --init-groups -- \
  env -u WIREFEED_DATABASE_URL /usr/bin/wirefeed --config /etc/wirefeed/wirefeed.toml run \
  > "$work/run.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "the daemon did not stop cleanly on SIGTERM (status $rc):
$(tail -n 20 "$work/run.log")"
grep -q "wirefeed started" "$work/run.log" || fail "the daemon's log lacks its start:
$(tail -n 20 "$work/run.log")"
grep -q "stopped" "$work/run.log" || fail "the daemon's log lacks its stop:
$(tail -n 20 "$work/run.log")"

# 4. The installed unit.
command -v systemd-analyze >/dev/null || {
  say "installing systemd for systemd-analyze (it is not started)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
}
systemd-analyze verify /usr/lib/systemd/system/wirefeed.service > "$work/verify.log" 2>&1 \
  || fail "systemd-analyze verify:
$(cat "$work/verify.log")"
if [ -s "$work/verify.log" ]; then
  fail "systemd-analyze verify warned:
$(cat "$work/verify.log")"
fi
say "installed: user, state directory, binary, check, migrate, run, unit verify: ok"

# 5. An upgrade over itself keeps a changed conffile and the user.
echo "# changed by test-package.sh" >> /etc/wirefeed/wirefeed.toml
dpkg -i --force-confold "$deb" > "$work/upgrade.log" 2>&1 || fail "reinstall failed:
$(cat "$work/upgrade.log")"
tail -n 1 /etc/wirefeed/wirefeed.toml | grep -qx "# changed by test-package.sh" \
  || fail "the upgrade replaced the operator's changed config"
[ "$(id -u wirefeed)" = "$uid" ] || fail "the upgrade changed the user's id"
[ -f /var/lib/wirefeed/wirefeed.db ] || fail "the upgrade lost the database"

# 6. Remove: the program goes; config, state and user stay.
dpkg -r wirefeed > "$work/remove.log" 2>&1 || fail "dpkg -r failed:
$(cat "$work/remove.log")"
[ "$(state)" = rc ] || fail "dpkg state after remove is '$(state)', want rc"
[ ! -e /usr/bin/wirefeed ] || fail "dpkg -r left /usr/bin/wirefeed"
[ ! -e /usr/lib/systemd/system/wirefeed.service ] || fail "dpkg -r left the unit"
grep -q "# changed by test-package.sh" /etc/wirefeed/wirefeed.toml || fail "dpkg -r removed the config"
[ -f /var/lib/wirefeed/wirefeed.db ] || fail "dpkg -r removed the database"
getent passwd wirefeed >/dev/null || fail "dpkg -r removed the user"

# 7. Purge: config (and the operator's wirefeed.env) and state go; the user stays.
echo "WIREFEED_DATABASE_URL=postgres://wirefeed@localhost/wirefeed" > /etc/wirefeed/wirefeed.env
chmod 600 /etc/wirefeed/wirefeed.env
dpkg --purge wirefeed > "$work/purge.log" 2>&1 || fail "dpkg --purge failed:
$(cat "$work/purge.log")"
[ -z "$(state)" ] || fail "dpkg state after purge is '$(state)'"
[ ! -e /etc/wirefeed ] || fail "purge left /etc/wirefeed: $(ls -A /etc/wirefeed)"
[ ! -e /var/lib/wirefeed ] || fail "purge left /var/lib/wirefeed"
getent passwd wirefeed >/dev/null || fail "purge removed the system user (it should keep it)"
say "upgrade, remove and purge: ok"
say "ok"
