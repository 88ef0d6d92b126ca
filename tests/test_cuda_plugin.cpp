// The CUDA plugin on a machine without a GPU: it must load (every symbol of cudart and cuBLAS
// resolves: dlopen with RTLD_NOW), export its two entry points, and answer "no GPU" with the
// runtime's reason instead of crashing. Only in builds with the backend (STRATA_CUDA=AUTO with
// nvcc, or ON); the ops themselves are tested by the CUDA suite (tests/cuda/) where a GPU is.
#ifdef STRATA_TEST_CUDA_PLUGIN
#include <dlfcn.h>

#include <cstring>
#include <string>

#include "backends/backend.h"
#include "test_helpers.h"

TEST_CASE("the CUDA plugin loads, resolves its libraries and reports why it has no GPU", "[cuda][plugin]") {
  void* handle = dlopen(STRATA_TEST_CUDA_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  const char* error = handle ? nullptr : dlerror();
  INFO("dlopen " << STRATA_TEST_CUDA_PLUGIN << ": " << (error ? error : "ok"));
  REQUIRE(handle != nullptr);
  auto device_count = reinterpret_cast<int (*)(char*, size_t)>(dlsym(handle, "strata_cuda_device_count"));
  auto make_backend = reinterpret_cast<strata::Backend* (*)(int, char*, size_t)>(dlsym(handle, "strata_cuda_backend"));
  REQUIRE(device_count != nullptr);
  REQUIRE(make_backend != nullptr);
  char reason[512] = {};
  const int n = device_count(reason, sizeof reason);
  if (n > 0) {
    WARN("this machine has " << n << " GPU(s): the CUDA suite (tests/cuda/) tests them");
    return;
  }
  INFO("reason: " << reason);
  REQUIRE(std::string(reason).find("cudaGetDeviceCount") != std::string::npos);
  char why[512] = {};
  REQUIRE(make_backend(0, why, sizeof why) == nullptr);
  INFO("backend error: " << why);
  REQUIRE(std::strlen(why) > 0);
}
#endif
