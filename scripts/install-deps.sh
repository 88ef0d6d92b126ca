#!/usr/bin/env bash
# Installs the Debian packages strata needs to build, test and run its default job, if missing.
#   bash scripts/install-deps.sh [fuzz|bench]
# Works as root or through sudo; does nothing (and needs no network) when all are present.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  binutils                                # nm/objdump for tests/check_cpu_isa_objects.sh (g++ pulls it in too)
  libopenblas-dev libtbb-dev zlib1g-dev   # the engine: BLAS, threads, gzip for IDX files
  nlohmann-json3-dev libstb-dev           # safetensors/JSON configs, PNG writing
  libcli11-dev                            # the strata command's flags
  libmimalloc-dev                         # the allocator strata's programs run on (CMakeLists.txt)
  liblapacke-dev                          # symmetric eigenvalues (analysis/linear_algebra)
  libopenmpi-dev openmpi-bin              # data-parallel training over processes (engine/distributed)
  catch2                                  # the test suite (Catch2 v2)
  dataset-fashion-mnist                   # /usr/share/datasets/fashion-mnist
)

# `install-deps.sh fuzz` adds clang and its libFuzzer/sanitizer runtimes (scripts/fuzz.sh). gcc's
# ASan/UBSan runtimes (scripts/test-sanitizers.sh) come with g++ itself.
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-dev)
fi
# `install-deps.sh bench` adds Debian's libtorch (1.13) for strata-bench's libtorch peer. The
# PyTorch peer (--vs pytorch) needs `torch` from PyPI in a virtual environment outside the tree;
# bench/RESULTS.md shows how. Neither is needed to build or test strata.
if [ "${1:-}" = bench ]; then
  packages+=(libtorch-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
