// A caching allocator for one GPU: freed blocks go to a free list by size class and are handed out
// again, so a training step in steady state makes no cudaMalloc or cudaFree at all (each costs tens
// of microseconds and cudaFree synchronises the whole device).
//
// Sizes are rounded up to a class: multiples of 512 bytes below 1 MiB, then four classes per power
// of two (at most 25% waste). A request takes a cached block of exactly its class. When cudaMalloc
// fails, every cached block is released and the request tried once more before the error.
// Blocks are only reused in the backend's stream order (one stream per device), so no event
// tracking is needed.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace strata::cuda {

class CachingAllocator {
 public:
  explicit CachingAllocator(int device) : device_(device) {}
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t nbytes);
  void deallocate(void* ptr, size_t nbytes);
  // Returns every cached (free) block to the driver.
  void release_cached();

  // The block size a request of nbytes gets (inline: the CPU tests check it without CUDA).
  static size_t size_class(size_t nbytes) {
    constexpr size_t kSmall = size_t{1} << 20;
    if (nbytes <= kSmall) return (nbytes + 511) / 512 * 512;
    size_t top = kSmall;  // the largest power of two <= nbytes
    while (top <= nbytes / 2) top *= 2;
    const size_t step = top / 4;  // four classes per power of two
    return (nbytes + step - 1) / step * step;
  }

  struct Stats {
    size_t in_use_bytes = 0;   // handed out and not yet freed (size classes)
    size_t cached_bytes = 0;   // free blocks kept for reuse
    size_t peak_in_use_bytes = 0;
    size_t device_allocations = 0;  // cudaMalloc calls so far
  };
  Stats stats() const;

 private:
  void release_cached_locked();

  int device_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> free blocks
  Stats stats_;
};

}  // namespace strata::cuda
