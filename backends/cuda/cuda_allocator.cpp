#include "backends/cuda/cuda_allocator.h"

#include <cuda_runtime.h>

#include "core/error.h"

namespace strata::cuda {

CachingAllocator::~CachingAllocator() {
  // Blocks still handed out belong to tensors that outlive the backend (statics at exit): the
  // driver reclaims them with the context; only the cache is returned here.
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached_locked();
}

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_.find(size);
  void* ptr = nullptr;
  if (it != free_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    stats_.cached_bytes -= size;
  } else {
    cudaSetDevice(device_);
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear the sticky-free error before retrying
      release_cached_locked();
      status = cudaMalloc(&ptr, size);
    }
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      throw Error(detail::concat("cuda allocate: cannot allocate ", nbytes, " bytes on cuda:", device_, " (",
                                 cudaGetErrorString(status), "; ", stats_.in_use_bytes, " bytes in use by tensors)"));
    }
    ++stats_.device_allocations;
  }
  stats_.in_use_bytes += size;
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_[size].push_back(ptr);
  stats_.in_use_bytes -= size;
  stats_.cached_bytes += size;
}

void CachingAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() {
  if (stats_.cached_bytes == 0) return;
  cudaSetDevice(device_);
  // cudaFree waits for the device, so any queued kernel still reading a block finishes first.
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) cudaFree(p);
  free_.clear();
  stats_.cached_bytes = 0;
}

CachingAllocator::Stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace strata::cuda
