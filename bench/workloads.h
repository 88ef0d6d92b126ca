// The benchmark workloads of shared/bench/WORKLOADS.md, each a function that runs it exactly as
// written there and returns its figures.
#pragma once

#include <string>
#include <vector>

namespace strata::bench {

struct Figure {
  std::string workload;  // "W1 mlp-vae"
  std::string metric;    // "images/s", "us/step", "GFLOP/s"
  double value = 0.0;
  std::string note;      // anything needed to read the figure (e.g. test loss, sgemm fraction)
};

std::vector<Figure> run_w1_mlp_vae(bool full_epoch);
std::vector<Figure> run_w3_fm_2d();
std::vector<Figure> run_w4_gemm();
std::vector<Figure> run_w5_small_ops(int steps);
std::vector<Figure> run_blas_threading();

// GFLOP/s of a large square cblas_sgemm, measured now (the machine's practical sgemm limit).
double measure_sgemm_gflops();
// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();

}  // namespace strata::bench
