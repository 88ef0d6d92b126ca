// The CPU backend's buffers (backends/cpu/buffer_cache.h): every buffer is 64-byte aligned and
// wholly writable, small ones (aligned by hand over malloc) and large ones (kept for reuse) alike,
// and a large buffer handed back is handed out again for the same size.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/cpu/buffer_cache.h"

using strata::cpu::BufferCache;

TEST_CASE("CPU buffers are 64-byte aligned and writable end to end, small and large", "[buffer-cache]") {
  std::vector<std::pair<void*, size_t>> held;
  for (size_t nbytes : {size_t{1}, size_t{4}, size_t{63}, size_t{64}, size_t{65}, size_t{256}, size_t{1000},
                        size_t{4096}, BufferCache::kMinBytes - 1, BufferCache::kMinBytes, BufferCache::kMinBytes + 1,
                        size_t{3} << 20}) {
    // Several of each size, so that malloc's pointers land at different offsets within a line.
    for (int copy = 0; copy < 5; ++copy) {
      void* p = BufferCache::allocate(nbytes);
      INFO(nbytes << " bytes, copy " << copy);
      REQUIRE(reinterpret_cast<uintptr_t>(p) % 64 == 0);
      std::memset(p, 0xAB, nbytes);  // the whole buffer is ours (AddressSanitizer checks the end)
      held.emplace_back(p, nbytes);
    }
  }
  // Every buffer still holds its own bytes: none overlaps another, and no bookkeeping byte was
  // written inside one.
  for (const auto& [p, nbytes] : held) {
    const auto* bytes = static_cast<const unsigned char*>(p);
    REQUIRE(bytes[0] == 0xAB);
    REQUIRE(bytes[nbytes - 1] == 0xAB);
  }
  for (const auto& [p, nbytes] : held) BufferCache::deallocate(p, nbytes);
  BufferCache::deallocate(nullptr, 16);  // like free(nullptr): nothing to do
}

#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("a large buffer handed back is handed out again for the same size", "[buffer-cache]") {
  BufferCache::release_all();
  const size_t nbytes = BufferCache::kMinBytes * 3 + 100;
  void* first = BufferCache::allocate(nbytes);
  BufferCache::deallocate(first, nbytes);
  REQUIRE(BufferCache::cached_bytes() >= nbytes);
  void* again = BufferCache::allocate(nbytes);
  REQUIRE(again == first);
  BufferCache::deallocate(again, nbytes);
  BufferCache::release_all();
  REQUIRE(BufferCache::cached_bytes() == 0);
}
#endif
