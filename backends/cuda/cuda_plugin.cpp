// The two C entry points of libstrata_cuda.so, which backends/cuda/cuda_loader.cpp looks up with
// dlsym. C linkage and plain types only: the engine and the plugin agree on nothing but these
// signatures and the Backend interface (built from the same headers in the same tree).
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_check.h"

#define STRATA_CUDA_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

void write_reason(char* out, size_t size, const std::string& text) {
  if (out && size) std::snprintf(out, size, "%s", text.c_str());
}

}  // namespace

// The number of usable GPUs; 0 with the runtime's reason (no driver, no device) in `reason`.
STRATA_CUDA_EXPORT int strata_cuda_device_count(char* reason, size_t reason_size) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    write_reason(reason, reason_size, std::string("cudaGetDeviceCount: ") + cudaGetErrorString(status));
    return 0;
  }
  if (count == 0) write_reason(reason, reason_size, "cudaGetDeviceCount found no GPU");
  return count;
}

// The backend of GPU `device`, created on first use and kept for the life of the process (tensors
// in static storage may free their memory during exit, after any destructor order would allow).
// Null with the reason in `error` when it cannot be created.
STRATA_CUDA_EXPORT strata::Backend* strata_cuda_backend(int device, char* error, size_t error_size) {
  static std::mutex mutex;
  static std::vector<strata::CudaBackend*> backends;
  std::lock_guard<std::mutex> lock(mutex);
  try {
    int count = 0;
    strata::cuda::check(cudaGetDeviceCount(&count), "cuda backend");
    if (device < 0 || device >= count) {
      write_reason(error, error_size,
                   "cuda:" + std::to_string(device) + " does not exist (" + std::to_string(count) + " GPUs found)");
      return nullptr;
    }
    if (backends.size() < static_cast<size_t>(count)) backends.resize(static_cast<size_t>(count), nullptr);
    if (!backends[device]) backends[device] = new strata::CudaBackend(device);
    return backends[device];
  } catch (const std::exception& e) {
    write_reason(error, error_size, e.what());
    return nullptr;
  }
}
