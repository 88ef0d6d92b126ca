// Parallel loops for CPU kernels (oneTBB) and the rule that keeps OpenBLAS from oversubscribing:
// inside a TBB-parallel region every gemm must run on the calling thread only.
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

// While alive, OpenBLAS calls from this process run single-threaded. Use around TBB-parallel
// regions that call gemm; nests safely.
class BlasSerialScope {
 public:
  BlasSerialScope();
  ~BlasSerialScope();
  BlasSerialScope(const BlasSerialScope&) = delete;
  BlasSerialScope& operator=(const BlasSerialScope&) = delete;

 private:
  int previous_;
};

}  // namespace strata::cpu
