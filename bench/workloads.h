// The benchmark workloads of shared/bench/WORKLOADS.md as strata runs them: each function runs one
// workload exactly as written there, in this process, and returns its figure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"

namespace strata::bench {

struct Figure {
  std::string workload;  // "W1", "W4a", ...
  std::string metric;    // "images/s", "steps/s", "us/step", "GFLOP/s"
  double value = 0.0;
  std::string note;      // anything needed to read the figure (steps, loss, ...)
  double reference = 0;  // W4: the direct cblas_sgemm GFLOP/s measured beside it (0: none)
};

// Full runs follow WORKLOADS.md (one epoch, 300 steps, 20,000 steps); quick runs are shorter, for
// smoke tests and iteration, and say so in their note. `device` and `batch` are W6's: the same
// workloads on the CUDA backend with batch 1024 (W1, W2) and 65536 (W3).
Figure run_w1_mlp_vae(bool quick, Device device = Device::cpu(), int64_t batch = 128);
Figure run_w2_conv_vae(bool quick, Device device = Device::cpu(), int64_t batch = 128);
Figure run_w3_fm_2d(bool quick, Device device = Device::cpu(), int64_t batch = 1024);
std::vector<Figure> run_w4_gemm();  // W4a 1024^3 and W4b 128x784x512, each with its cblas figure
Figure run_w5_small_ops(bool quick, Device device = Device::cpu());
std::vector<Figure> run_blas_threading();
// The products of one W1 step as direct cblas_sgemm calls (bench/w1_bare_products.cpp): GFLOP/s.
Figure run_w1_bare_products();
// W1's seven Linear layers, forward and backward through the engine, alone
// (bench/w1_linear_layers.cpp): GFLOP/s.
Figure run_w1_linear_layers();

// GFLOP/s of a large square cblas_sgemm, measured now (the machine's practical sgemm limit).
double measure_sgemm_gflops();

}  // namespace strata::bench
