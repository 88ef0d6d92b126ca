#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DSTRATA_FUZZ=ON, in build-fuzz) and runs them.
#
#   scripts/fuzz.sh [SECONDS [TARGET...]]     default: 600 s each for safetensors idx config cli csv npy,
#                                             two at a time (FUZZ_JOBS=N to change)
#
# Each target starts from the committed seeds in fuzz/corpus/NAME and grows its own corpus in
# build-fuzz/corpus/NAME (not committed). A finding is written to build-fuzz/findings/NAME-*, the
# run's log to build-fuzz/logs/NAME.log; the script fails when any target finds something.
# Limits: 10 s per input (a hang), 1 GiB RSS and per allocation (a lying size field), inputs up to 64 KiB.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh fuzz
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors idx config cli csv npy)
jobs=${FUZZ_JOBS:-2}

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRATA_FUZZ=ON -DSTRATA_BUILD_TESTS=OFF
fi
ninja -C build-fuzz $(printf 'fuzz_%s ' "${targets[@]}")

repo=$PWD
root=$PWD/build-fuzz
mkdir -p "$root/findings" "$root/logs" "$root/scratch"
run_one() {
  local name=$1
  mkdir -p "$root/corpus/$name"
  # From a scratch folder: the CLI target's relative paths then name nothing of the tree's.
  (cd "$root/scratch" && "$root/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
     -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 -artifact_prefix="$root/findings/$name-" \
     "$root/corpus/$name" "$repo/fuzz/corpus/$name" >"$root/logs/$name.log" 2>&1)
}
status=0
running=0
for name in "${targets[@]}"; do
  run_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
for name in "${targets[@]}"; do
  echo "== $name: $(grep -E '^(stat::number_of_executed_units|Done)' "$root/logs/$name.log" | tr '\n' ' ')"
done
ls "$root/findings" | sed 's/^/finding: /'
exit $status
