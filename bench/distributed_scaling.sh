#!/usr/bin/env bash
# W1 (the MLP VAE on Fashion-MNIST, shared/bench/WORKLOADS.md) trained by `strata train` in one
# process and data-parallel in two (mpirun -n 2 ... --distributed), on this machine's loopback.
# Prints a markdown table of training throughput (images per second over the steps after the first
# WARMUP, from each run's metrics.csv) and each row's ratio to the first, all from this one run.
#   bash bench/distributed_scaling.sh [STRATA_BINARY] [STEPS]     (defaults: build/strata, 300)
# Every process of a job shares this machine's cores: on a 2-core machine two ranks of one thread
# each use what one process of two threads uses, so ideal strong scaling here is 1x, not 2x.
set -euo pipefail
strata=${1:-build/strata}
steps=${2:-300}
warmup=20
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_rmaps_base_oversubscribe=1
cores=$(nproc)

# images/s between step $warmup and the last step of RUN/metrics.csv; $2: images per global step.
throughput() {
  awk -F, -v warmup="$warmup" -v per_step="$2" '
    NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
    $col["loss"] != "" && $col["loss"] != "nan" {
      step = $col["step"]; t = $col["wall_time_s"]
      if (step == warmup) t0 = t
      if (step > last) { last = step; t1 = t }
    }
    END { printf "%.0f", (last - warmup) * per_step / (t1 - t0) }' "$1/metrics.csv"
}

common=(--model vae --data fashion-mnist --epochs 1 --pictures-every 0 --samples 8 --log-every 1000000 --seed 0)
rows=()
run() {  # name, global batch, command...
  local name=$1 global=$2
  shift 2
  "$@" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
  rows+=("$name|$global|$(throughput "$work/run" "$global")")
  rm -rf "$work/run"
}
run "1 process, $cores threads, batch 128" 128 \
  "$strata" train "${common[@]}" --batch-size 128 --threads "$cores" --limit-train $((steps * 128)) --out "$work/run"
run "1 process, 1 thread, batch 128" 128 \
  "$strata" train "${common[@]}" --batch-size 128 --threads 1 --limit-train $((steps * 128)) --out "$work/run"
run "2 processes x 1 thread, batch 64 each (global 128)" 128 \
  mpirun -n 2 "$strata" train "${common[@]}" --distributed --batch-size 64 --threads 1 --limit-train $((steps * 128)) --out "$work/run"
run "2 processes x 1 thread, batch 128 each (global 256)" 256 \
  mpirun -n 2 "$strata" train "${common[@]}" --distributed --batch-size 128 --threads 1 --limit-train $((steps * 256)) --out "$work/run"

echo "W1 training throughput, $steps steps per run (images/s from step $warmup on), $cores cores ($(nproc) visible), $(date -u +%F)"
echo
echo "| run | global batch | images/s | ratio to the first row |"
echo "| --- | --- | --- | --- |"
base=""
for r in "${rows[@]}"; do
  IFS='|' read -r name global ips <<<"$r"
  [ -z "$base" ] && base=$ips
  echo "| $name | $global | $ips | $(awk -v a="$ips" -v b="$base" 'BEGIN { printf "%.2fx", a / b }') |"
done
