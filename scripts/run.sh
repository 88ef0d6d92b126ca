#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: the W1 VAE of shared/bench/WORKLOADS.md
# trained on Fashion-MNIST for one epoch, printing the test loss.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
./build/train_vae_mlp "$@"
