#!/usr/bin/env bash
# Reference near-duplicate systems (datasketch MinHashLSH, gaoya) on the dedup dev set.
# Usage: benches/compare/run.sh [PATH/TO/dev.jsonl.gz]
# Default data: ../shared/data/dedup/dev.jsonl.gz relative to the repo root.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${1:-$root/../shared/data/dedup/dev.jsonl.gz}"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    datasketch==2.0.0 gaoya==0.2.2 numpy==2.4.6 scipy==1.17.1
exec "$venv/bin/python" "$here/dedup_reference.py" "$data"
