// The runner of the CUDA suite: without a usable GPU it prints why and exits with 77, which ctest
// (SKIP_RETURN_CODE) reports as "Skipped", never as "Passed".
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "engine/dispatch.h"

int main(int argc, char** argv) {
  if (!strata::cuda_is_available()) {
    std::printf("SKIPPED: the CUDA suite needs a GPU: %s\n", strata::cuda_unavailable_reason().c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
