// The time of every step of a workload's loop. A workload's figure stays its whole loop's
// average (total_seconds()), as WORKLOADS.md defines it; the fastest and the median step, printed in its note, show
// how much of that average the machine's neighbours took: on these shared 2-core machines a W1
// epoch's median step ran 8-20% slower than its fastest, and its slowest steps ran at one
// thread's speed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace strata::bench {

class StepTimes {
 public:
  template <class Step>
  void time(Step&& step) {
    const auto start = std::chrono::steady_clock::now();
    step();
    seconds_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  double total_seconds() const { return std::accumulate(seconds_.begin(), seconds_.end(), 0.0); }

  // "step fastest 2430 us, median 2620 us" (empty before the first step).
  std::string summary() const {
    if (seconds_.empty()) return "";
    std::vector<double> sorted = seconds_;
    std::sort(sorted.begin(), sorted.end());
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "step fastest %.0f us, median %.0f us", 1e6 * sorted.front(),
                  1e6 * sorted[sorted.size() / 2]);
    return buffer;
  }

 private:
  std::vector<double> seconds_;
};

}  // namespace strata::bench
