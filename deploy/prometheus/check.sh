#!/usr/bin/env bash
# Checks the alert rules with promtool: `promtool check rules` (syntax, PromQL, templates) and
# `promtool test rules` (wirefeed-alerts.test.yml: alerts fire when they should, with their
# labels and texts, and stay quiet otherwise).
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
