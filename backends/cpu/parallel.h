// Parallel loops for CPU kernels (oneTBB). OpenBLAS is single-threaded throughout (CpuBackend), so
// a kernel may call gemm inside a parallel region without oversubscribing the machine.
#pragma once

#include <cstdint>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace strata::cpu {

// Runs fn(begin, end) over [0, n) in chunks of at least `grain` items, in parallel when n > grain.
template <class Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  if (n <= grain) {
    fn(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
}

// Elements per task for cheap elementwise work: below this, threading costs more than it saves
// (measured on the W1 shapes; see bench/RESULTS.md).
constexpr int64_t kElementwiseGrain = 32768;

}  // namespace strata::cpu
