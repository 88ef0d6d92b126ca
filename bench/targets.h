// The CPU speed targets of the benchmark issue, checked against one run's figures.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bench/workloads.h"

namespace strata::bench {

// One engine's figures of one run, by workload id, with each workload's peak RSS.
struct EngineRun {
  std::string engine;                      // "strata", "libtorch", "pytorch"
  std::map<std::string, Figure> figures;   // "W1" -> figure
  std::map<std::string, double> rss_mib;   // "W1" -> peak RSS of its process
};

// FLOPs of one unit of a workload's metric as WORKLOADS.md states them (per image for W1/W2, per
// step for W3); 0 where the sgemm fraction does not apply.
double flops_per_unit(const std::string& workload);

struct TargetRow {
  std::string target;    // "W1 >= 1.5x peer images/s"
  std::string measured;  // "1.62x" or "n/a (...)"
  bool checked = false;  // false: could not be checked in this run (no peer, workload not run)
  bool holds = false;
};

// Every target row; `peer` may have no figures (no --vs), in which case peer rows are unchecked.
// `w1_products_gflops` (the W1 step's products as bare cblas_sgemm calls) and `w1_layers_gflops`
// (W1's Linear layers through strata alone), 0 where not measured, are shown beside W1's sgemm
// fraction for comparison.
std::vector<TargetRow> check_targets(const EngineRun& strata, const EngineRun& peer, double sgemm_gflops,
                                     double w1_products_gflops = 0, double w1_layers_gflops = 0);

// The GPU targets of the CUDA backend issue (W6 against PyTorch eager on the same GPU): at least its
// throughput on W1, W2 and W3, and less time per step on W5.
std::vector<TargetRow> check_gpu_targets(const EngineRun& strata, const EngineRun& peer);

}  // namespace strata::bench
