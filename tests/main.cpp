// The Catch2 runner for the whole suite (one binary; ctest runs each TEST_CASE separately). Like
// strata's programs, it first re-runs itself with OpenBLAS's AVX-512 kernels where OpenBLAS
// loaded narrower ones on an AVX-512 CPU (backends/cpu/blas_core.h), so the suite checks the
// kernels the programs use.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "backends/cpu/blas_core.h"

int main(int argc, char** argv) {
  strata::cpu::reexec_with_widest_blas_core(argv);
  return Catch::Session().run(argc, argv);
}
