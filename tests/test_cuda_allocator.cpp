// The CUDA caching allocator's size classes (backends/cuda/cuda_allocator.h), which need no GPU:
// every request fits its class, classes waste at most a quarter above 1 MiB, and sizes that round
// to one class share its free list.
#include "backends/cuda/cuda_allocator.h"
#include "test_helpers.h"

using strata::cuda::CachingAllocator;

TEST_CASE("cuda allocator: size classes by hand and their waste bound", "[cuda][allocator]") {
  REQUIRE(CachingAllocator::size_class(1) == 512);
  REQUIRE(CachingAllocator::size_class(512) == 512);
  REQUIRE(CachingAllocator::size_class(513) == 1024);
  REQUIRE(CachingAllocator::size_class(1 << 20) == (1 << 20));
  REQUIRE(CachingAllocator::size_class((1 << 20) + 1) == (1 << 20) + (1 << 18));  // steps of 256 KiB up to 2 MiB
  REQUIRE(CachingAllocator::size_class(3 << 20) == (3 << 20));
  REQUIRE(CachingAllocator::size_class((3 << 20) + 1) == (7 << 19));            // 2-4 MiB: steps of 512 KiB
  size_t previous = 0;
  for (size_t n = 1; n < (size_t{1} << 34); n = n * 5 / 4 + 7) {
    const size_t c = CachingAllocator::size_class(n);
    INFO("request " << n << " -> class " << c);
    REQUIRE(c >= n);
    REQUIRE(c >= previous);  // monotone
    if (n > (1u << 20)) REQUIRE(static_cast<double>(c) <= 1.25 * static_cast<double>(n));
    REQUIRE(CachingAllocator::size_class(c) == c);  // a class is its own class
    previous = c;
  }
}
