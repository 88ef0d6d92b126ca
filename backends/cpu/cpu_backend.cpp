#include "backends/cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <tbb/global_control.h>
#include <tbb/info.h>

#include "backends/cpu/buffer_cache.h"

namespace strata {

namespace {
std::unique_ptr<tbb::global_control> tbb_limit;
}  // namespace

// OpenBLAS stays single-threaded for the life of the process: every parallel gemm is split over
// TBB's workers instead (backends/cpu/cpu_gemm.cpp says why).
CpuBackend::CpuBackend() : num_threads_(std::max(1, tbb::info::default_concurrency())) {
  openblas_set_num_threads(1);
}

void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  return cpu::BufferCache::allocate(nbytes);
}

void CpuBackend::deallocate(void* ptr, size_t nbytes) { cpu::BufferCache::deallocate(ptr, nbytes); }

void CpuBackend::copy_to_host(const void* src, void* dst, size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}
void CpuBackend::copy_from_host(const void* src, void* dst, size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}

void CpuBackend::set_num_threads(int n) {
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
  num_threads_ = n;
}

int CpuBackend::num_threads() const { return num_threads_; }

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace strata
