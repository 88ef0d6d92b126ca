// The five workloads of shared/bench/WORKLOADS.md written as a libtorch user would write them,
// line for line the same definitions as bench/w*.cpp, for the ratio columns of strata-bench.
#pragma once

#include <vector>

#include "bench/workloads.h"

namespace strata::bench::libtorch_peer {

Figure w1_mlp_vae(bool quick);
Figure w2_conv_vae(bool quick);
Figure w3_fm_2d(bool quick);
std::vector<Figure> w4_gemm();
Figure w5_small_ops(bool quick);

}  // namespace strata::bench::libtorch_peer
