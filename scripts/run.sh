#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: the W1 VAE of shared/bench/WORKLOADS.md
# trained on Fashion-MNIST for one epoch (`strata train` with no flags), printing the test loss.
# Each call makes a new run folder under runs/; extra arguments go to `strata train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec ./build/strata train --out "runs/vae-$(date +%Y%m%d-%H%M%S)" "$@"
