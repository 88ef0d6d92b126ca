#include "backends/cpu/buffer_cache.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace strata::cpu {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCaching = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCaching = false;
#else
constexpr bool kCaching = true;
#endif
#else
constexpr bool kCaching = true;
#endif

constexpr size_t kAlignment = 64;  // one cache line; also enough for AVX-512 loads
constexpr size_t kPage = 4096;

// Cached sizes are rounded up to whole pages, so near-equal requests share a bucket.
size_t rounded_size(size_t nbytes) {
  const size_t unit = nbytes >= BufferCache::kMinBytes ? kPage : kAlignment;
  return (nbytes + unit - 1) / unit * unit;
}

struct Pool {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_by_size;
  size_t cached = 0;
};

// Below kMinBytes a buffer comes from plain malloc, over-allocated by kAlignment and aligned by
// hand, with the distance back to malloc's pointer in the byte before the buffer. aligned_alloc
// takes glibc's memalign path, which bypasses its per-thread cache: 660 instructions per call
// under callgrind, 8% of W5's step (seven small tensors per step), against a few dozen for malloc.
void* allocate_small(size_t size) {
  auto* raw = static_cast<unsigned char*>(std::malloc(size + kAlignment));
  if (!raw) throw std::bad_alloc();
  // malloc's pointer is at least 16-byte aligned, so the distance is 16, 32, 48 or 64: never 0,
  // and the byte before the buffer is always inside the allocation.
  const size_t shift = kAlignment - reinterpret_cast<uintptr_t>(raw) % kAlignment;
  unsigned char* buffer = raw + shift;
  buffer[-1] = static_cast<unsigned char>(shift);
  return buffer;
}

void free_small(void* ptr) {
  auto* buffer = static_cast<unsigned char*>(ptr);
  std::free(buffer - buffer[-1]);
}

// Never destroyed: tensors in static storage may be freed after any other static object.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void* BufferCache::allocate(size_t nbytes) {
  const size_t size = rounded_size(nbytes);
  if (size < kMinBytes) return allocate_small(size);
  if (kCaching) {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    const auto it = p.free_by_size.find(size);
    if (it != p.free_by_size.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      p.cached -= size;
      return ptr;
    }
  }
  void* ptr = std::aligned_alloc(kAlignment, size);
  if (!ptr) throw std::bad_alloc();
  return ptr;
}

void BufferCache::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t size = rounded_size(nbytes);
  if (size < kMinBytes) return free_small(ptr);
  if (kCaching) {
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    if (p.cached + size <= kMaxCachedBytes) {
      p.free_by_size[size].push_back(ptr);
      p.cached += size;
      return;
    }
  }
  std::free(ptr);
}

size_t BufferCache::cached_bytes() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.cached;
}

void BufferCache::release_all() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (auto& [size, buffers] : p.free_by_size)
    for (void* ptr : buffers) std::free(ptr);
  p.free_by_size.clear();
  p.cached = 0;
}

}  // namespace strata::cpu
