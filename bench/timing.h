// Timing a call that the benchmarks repeat: one warm-up call, then calls until `min_seconds` of
// wall time have passed. Returns the seconds per call.
#pragma once

#include <chrono>

namespace strata::bench {

template <class Fn>
double seconds_per_call(Fn&& fn, double min_seconds) {
  fn();  // warm-up: first-touch page faults, OpenBLAS's buffers, the buffer cache
  int calls = 0;
  double elapsed = 0;
  const auto start = std::chrono::steady_clock::now();
  do {
    fn();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < min_seconds);
  return elapsed / calls;
}

}  // namespace strata::bench
