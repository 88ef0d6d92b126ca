#!/usr/bin/env bash
# `strata train --distributed` under mpirun: two ranks train flow matching on toy data; the job must
# succeed, rank 0 alone must report (one line per epoch, not two) and write the run folder.
#   strata_train_two_ranks.sh OUT_DIR MPIRUN STRATA
set -uo pipefail
out=$1 mpirun=$2 strata=$3
rm -rf "$out"
"$mpirun" -n 2 "$strata" train --distributed --model fm --data toy:moons --limit-train 1024 --batch-size 64 \
  --threads 1 --pictures-every 0 --out "$out" > "$out.log" 2>&1
status=$?
cat "$out.log"
fail() { echo "strata_train_two_ranks: FAIL: $*"; exit 1; }
[ "$status" -eq 0 ] || fail "exit status $status"
grep -q 'distributed: 2 processes x batch 64 = global batch 128' "$out.log" || fail "no distributed line"
[ "$(grep -c '^epoch 1/1' "$out.log")" -eq 1 ] || fail "expected exactly one epoch line (rank 0's)"
[ -f "$out/checkpoints/best.safetensors" ] || fail "rank 0 wrote no checkpoint"
echo "strata_train_two_ranks: ok"
