#!/usr/bin/env bash
# Checks the alert rules with promtool: `promtool check rules` (syntax, PromQL, templates) and
# `promtool test rules` (wirefeed-alerts.test.yml: alerts fire when they should, with their
# labels and texts, and stay quiet otherwise). Then parses every query of the Grafana dashboard
# (../grafana/wirefeed.json, Grafana's variables given values) as recording rules, so a query
# that is not valid PromQL fails here too.
#
# promtool comes from PATH, else from Debian's `prometheus` package: downloaded with
# `apt-get download` and unpacked into a cache directory, never installed, so no Prometheus
# service, user or web assets land on the machine (promtool is one self-contained binary).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  cache="${WIREFEED_PROMTOOL_CACHE:-/var/cache/wirefeed-ci/prometheus}"
  promtool="$cache/usr/bin/promtool"
  if [ ! -x "$promtool" ]; then
    echo "check.sh: fetching promtool from Debian's prometheus package"
    dl=$(mktemp -d)
    trap 'rm -rf "$dl"' EXIT
    (cd "$dl" && apt-get download prometheus >/dev/null 2>&1) || {
      apt-get update -qq
      (cd "$dl" && apt-get download prometheus >/dev/null)
    }
    mkdir -p "$cache"
    dpkg-deb --fsys-tarfile "$dl"/prometheus_*.deb | tar -x -C "$cache" ./usr/bin/promtool
  fi
fi
"$promtool" --version 2>&1 | head -n 1
cd "$here"
"$promtool" check rules wirefeed-alerts.yml
"$promtool" test rules wirefeed-alerts.test.yml

# The dashboard's queries: one `"expr": "..."` per line in the JSON file; JSON's \" and \\
# unescaped, $__rate_interval and $instance given values, each a YAML single-quoted scalar.
rules=$(mktemp --suffix=.yml)
{
  printf 'groups:\n  - name: dashboard\n    rules:\n'
  n=0
  # shellcheck disable=SC2016 # the $ names are Grafana's, replaced literally
  grep -E '^ *"expr": ".*",?$' ../grafana/wirefeed.json \
    | sed -E 's/^ *"expr": "(.*)",?$/\1/; s/\\"/"/g; s/\\\\/\\/g; s/\$__rate_interval/5m/g; s/\$instance/.*/g' \
    | while IFS= read -r expr; do
        n=$((n + 1))
        printf "      - record: wirefeed_dashboard:query%d\n        expr: '%s'\n" "$n" "${expr//\'/\'\'}"
      done
} > "$rules"
count=$(grep -c 'record:' "$rules" || true)
[ "$count" -ge 12 ] || { echo "check.sh: found only $count dashboard queries"; exit 1; }
echo "Checking the dashboard's $count queries"
"$promtool" check rules "$rules" >/dev/null || { "$promtool" check rules "$rules"; rm -f "$rules"; exit 1; }
rm -f "$rules"
echo "  SUCCESS"
