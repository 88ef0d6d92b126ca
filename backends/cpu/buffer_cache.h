// Reuse of freed CPU buffers. A training step allocates the same tensor sizes every step; handing
// each large buffer back to malloc made glibc return it to the kernel (munmap, or a heap trim) and
// fault fresh zeroed pages in on the next step: 9% of W1's step in perf (page faults, munmap, brk).
// Buffers of kMinBytes and more are therefore kept, by exact rounded size, up to kMaxCachedBytes
// in all, and handed out again for the same size. Smaller ones go straight to malloc (aligned by
// hand, not by aligned_alloc: buffer_cache.cpp says why), which reuses them well. Under
// AddressSanitizer nothing is cached, so a use after free is still caught.
#pragma once

#include <cstddef>

namespace strata::cpu {

class BufferCache {
 public:
  static constexpr size_t kMinBytes = size_t{64} << 10;
  static constexpr size_t kMaxCachedBytes = size_t{256} << 20;

  // A 64-byte aligned buffer of at least nbytes (> 0); throws std::bad_alloc.
  static void* allocate(size_t nbytes);
  // Takes back a buffer from allocate(nbytes) with the same nbytes.
  static void deallocate(void* ptr, size_t nbytes);
  // Bytes held for reuse now (for tests and diagnostics).
  static size_t cached_bytes();
  // Returns every held buffer to malloc.
  static void release_all();
};

}  // namespace strata::cpu
