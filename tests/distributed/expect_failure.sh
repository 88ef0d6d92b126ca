#!/usr/bin/env bash
# Runs a deliberately failing two-rank job and checks that it ends, not hangs: within MAX_SECONDS,
# with a non-zero exit status, and with output matching REGEX.
#   expect_failure.sh MAX_SECONDS REGEX mpirun ARGS...
set -uo pipefail
max_seconds=$1 regex=$2
shift 2
start=$SECONDS
output=$(timeout --kill-after=5 "$((max_seconds + 30))" "$@" 2>&1)
status=$?
elapsed=$((SECONDS - start))
printf '%s\n' "$output"
echo "expect_failure: exit status $status after $elapsed s"
if [ "$status" -eq 0 ]; then echo "expect_failure: FAIL: the job succeeded"; exit 1; fi
# (137 is also what mpirun returns for a rank killed by SIGKILL, so the time tells a hang apart.)
if [ "$status" -eq 124 ]; then echo "expect_failure: FAIL: the job hung (killed by timeout)"; exit 1; fi
if [ "$elapsed" -gt "$max_seconds" ]; then echo "expect_failure: FAIL: took $elapsed s, more than $max_seconds s"; exit 1; fi
if ! grep -Eq "$regex" <<<"$output"; then echo "expect_failure: FAIL: no line matches /$regex/"; exit 1; fi
echo "expect_failure: ok"
