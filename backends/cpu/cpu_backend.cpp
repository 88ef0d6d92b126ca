#include "backends/cpu/cpu_backend.h"

#include <cblas.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>

#include <tbb/global_control.h>
#include <tbb/info.h>

#include "backends/cpu/parallel.h"

namespace strata {

namespace {
std::unique_ptr<tbb::global_control> tbb_limit;
std::mutex blas_threads_mutex;
int blas_serial_depth = 0;
int blas_threads_outside = 1;
constexpr size_t kAlignment = 64;  // one cache line; also enough for AVX-512 loads
}  // namespace

CpuBackend::CpuBackend() : num_threads_(std::max(1, tbb::info::default_concurrency())) {
  openblas_set_num_threads(num_threads_);
  blas_threads_outside = num_threads_;
}

void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t) { std::free(ptr); }

void CpuBackend::copy_to_host(const void* src, void* dst, size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}
void CpuBackend::copy_from_host(const void* src, void* dst, size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}

void CpuBackend::set_num_threads(int n) {
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
  num_threads_ = n;
  std::lock_guard<std::mutex> lock(blas_threads_mutex);
  blas_threads_outside = n;
  if (blas_serial_depth == 0) openblas_set_num_threads(n);
}

int CpuBackend::num_threads() const { return num_threads_; }

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

namespace cpu {

BlasSerialScope::BlasSerialScope() {
  std::lock_guard<std::mutex> lock(blas_threads_mutex);
  previous_ = blas_serial_depth++;
  if (previous_ == 0) openblas_set_num_threads(1);
}

BlasSerialScope::~BlasSerialScope() {
  std::lock_guard<std::mutex> lock(blas_threads_mutex);
  if (--blas_serial_depth == 0) openblas_set_num_threads(blas_threads_outside);
}

}  // namespace cpu
}  // namespace strata
