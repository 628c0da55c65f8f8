#!/usr/bin/env bash
# Coverage-guided fuzzing of wirefeed with AFL++ through cargo-afl, on the stable toolchain.
#
#   fuzz/run.sh TARGET SECONDS    one target for SECONDS of fuzzing
#   fuzz/run.sh all SECONDS       every target in turn, SECONDS each
#
# Installs what is missing (cargo-afl, the AFL++ it builds), builds the targets instrumented,
# rebuilds the seed corpora (seed.sh), runs afl-fuzz with a fresh output directory under
# fuzz/out/TARGET, then prints one line per target from its fuzzer_stats. Exits non-zero when a
# target saved a crash (the inputs are in fuzz/out/TARGET/default/crashes/) or could not run.
# Hangs are reported, not failed on.
#
# FUZZ_SKIP_BUILD=1 skips the install and build steps and fuzzes the binaries already built.
# Cargo commands run at low priority, under `flock $CARGO_LOCK_FILE` when that is set (to keep
# builds of several work trees from running at once); afl-fuzz runs at low priority.
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=(parse_feed dates normalize extract fingerprint config)

usage() { echo "usage: fuzz/run.sh all|TARGET SECONDS (TARGET: ${TARGETS[*]})" >&2; exit 2; }
[ $# -eq 2 ] || usage
what=$1
secs=$2
[[ $secs =~ ^[1-9][0-9]*$ ]] || usage
if [ "$what" = all ]; then
  targets=("${TARGETS[@]}")
else
  [[ " ${TARGETS[*]} " == *" $what "* ]] || usage
  targets=("$what")
fi

lock=${CARGO_LOCK_FILE:-}
cargo_() {
  if [ -n "$lock" ]; then
    flock -o "$lock" nice -n 10 cargo "$@"
  else
    nice -n 10 cargo "$@"
  fi
}
now() { date +%s; }
t0=$(now)

# cargo-afl at the version of the afl crate in Cargo.lock (its runtime and AFL++ build are kept
# per version), then AFL++ itself (installing cargo-afl builds it; a new toolchain needs it built
# again).
install() {
  local want have out
  want=$(awk '/^name = "afl"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  have=$(cargo afl --version 2>/dev/null | awk '{ print $2 }' || true)
  if [ "$have" != "$want" ]; then
    echo "fuzz: installing cargo-afl $want (found: ${have:-none})"
    cargo_ install cargo-afl --locked --version "$want" --force
  fi
  if ! out=$(cargo_ afl config --build 2>&1); then
    if ! grep -q "already built" <<<"$out"; then
      echo "$out" >&2
      echo "fuzz: cargo afl config --build failed" >&2
      exit 1
    fi
  fi
}

build() {
  local bins=() t
  for t in "${targets[@]}"; do bins+=(--bin "$t"); done
  cargo_ afl build --release "${bins[@]}"
}

skip=${FUZZ_SKIP_BUILD:-0}
if [ "$skip" != 1 ]; then install; fi
t_install=$(now)
if [ "$skip" != 1 ]; then build; fi
t_build=$(now)

./seed.sh >/dev/null

# A container has no CPU frequency governor or core-dump handler to check, and another build
# may be holding both cores: bind to none.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# Short runs: calibrate quickly.
export AFL_FAST_CAL=1

mkdir -p out
failed=0
summary=()
for t in "${targets[@]}"; do
  rm -rf "out/$t"
  echo "fuzz: $t for ${secs}s"
  set +e
  nice -n 10 cargo afl fuzz -i "seeds/$t" -o "out/$t" -V "$secs" -x xml.dict "target/release/$t" \
    >"out/$t.log" 2>&1
  rc=$?
  set -e
  stats="out/$t/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    tail -n 30 "out/$t.log" >&2
    echo "fuzz: $t did not run (afl-fuzz exit $rc; log: fuzz/out/$t.log)" >&2
    summary+=("$(printf '%-12s %s' "$t" "did not run")")
    failed=1
    continue
  fi
  get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  crashes=$(get saved_crashes)
  hangs=$(get saved_hangs)
  summary+=("$(printf '%-12s run_time=%ss execs_done=%s execs_per_sec=%s corpus_count=%s saved_crashes=%s saved_hangs=%s' \
    "$t" "$(get run_time)" "$(get execs_done)" "$(get execs_per_sec)" "$(get corpus_count)" "$crashes" "$hangs")")
  if [ "${crashes:-0}" != 0 ]; then
    echo "fuzz: $t saved $crashes crash(es):" >&2
    ls "out/$t/default/crashes/" >&2
    failed=1
  fi
  if [ "${hangs:-0}" != 0 ]; then
    echo "fuzz: $t saved $hangs hang(s): fuzz/out/$t/default/hangs/" >&2
  fi
done
t_end=$(now)

echo "fuzz: install $((t_install - t0))s, build $((t_build - t_install))s, fuzzing $((t_end - t_build))s"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED (a crash was saved or a target did not run)" >&2
  exit 1
fi
