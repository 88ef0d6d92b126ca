// The runner of the CUDA suite: without a usable GPU it prints why and exits with 77, which ctest
// (SKIP_RETURN_CODE) reports as "Skipped", never as "Passed".

#include <cstdio>

#include "catch_session.h"
#include "engine/dispatch.h"

int main(int argc, char** argv) {
  if (!strata::cuda_is_available()) {
    std::printf("SKIPPED: the CUDA suite needs a GPU: %s\n", strata::cuda_unavailable_reason().c_str());
    return 77;
  }
  return strata::test::run_catch_session(argc, argv);
}
