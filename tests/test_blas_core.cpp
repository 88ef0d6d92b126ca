// OpenBLAS's kernel set (backends/cpu/blas_core.h): when a program asks for the AVX-512 kernels,
// and that the test runner itself, which asks first thing, got them on an AVX-512 CPU.
#include <cstdlib>
#include <string>

#include "backends/cpu/blas_core.h"
#include "test_helpers.h"

using namespace strata;

TEST_CASE("blas core: the AVX-512 kernels are asked for only where OpenBLAS loaded narrower ones on an AVX-512 CPU",
          "[blas-core]") {
  using cpu::wider_blas_core;
  // OpenBLAS 0.3.21's pick on a Zen 4 or Zen 5, and its generic AVX2 name.
  CHECK(std::string(wider_blas_core("Haswell", true, nullptr)) == "SkylakeX");
  CHECK(std::string(wider_blas_core("Zen", true, nullptr)) == "SkylakeX");
  // Already AVX-512 kernels (OpenBLAS names them in either case).
  CHECK(wider_blas_core("SkylakeX", true, nullptr) == nullptr);
  CHECK(wider_blas_core("COOPERLAKE", true, nullptr) == nullptr);
  CHECK(wider_blas_core("SapphireRapids", true, nullptr) == nullptr);
  // No AVX-512 on the CPU: nothing wider to run.
  CHECK(wider_blas_core("Haswell", false, nullptr) == nullptr);
  // A value already set, the user's or an earlier exec's, even an empty one, is kept (no exec loop).
  CHECK(wider_blas_core("Haswell", true, "Haswell") == nullptr);
  CHECK(wider_blas_core("Haswell", true, "SkylakeX") == nullptr);
  CHECK(wider_blas_core("Haswell", true, "") == nullptr);
  CHECK(wider_blas_core(nullptr, true, nullptr) == nullptr);
}

TEST_CASE("blas core: the test runner runs OpenBLAS's AVX-512 kernels on an AVX-512 CPU", "[blas-core]") {
  const char* variable = std::getenv("OPENBLAS_CORETYPE");
  const bool avx512 = cpu::cpu_has_avx512_for_blas();
  INFO("OpenBLAS kernels " << cpu::blas_core_name() << ", OPENBLAS_CORETYPE "
                           << (variable ? variable : "(unset)") << ", AVX-512 " << avx512);
  if (variable == nullptr) {
    // Nothing was asked for, so there was nothing wider to ask for.
    CHECK(cpu::wider_blas_core(cpu::blas_core_name(), avx512, nullptr) == nullptr);
  } else if (std::string(variable) == "SkylakeX" && avx512) {
    // Asked for (by main()'s exec or by the user): OpenBLAS must have honoured it.
    CHECK(std::string(cpu::blas_core_name()) == "SkylakeX");
  } else {
    SUCCEED("OPENBLAS_CORETYPE set by the user to " << variable << "; kept as it is");
  }
}
