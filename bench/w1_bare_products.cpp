// W1's products as a plain BLAS user issues them: the matrix products of one W1 training step
// (forward and backward of its seven Linear layers at batch 128), as direct cblas_sgemm calls on
// OpenBLAS's own threads, one after another, nothing else between them. These shapes (k or n of
// 32 and 128) run below a 1024^3 product's speed, so this is the fraction of the sgemm limit a
// W1 built on plain BLAS calls could at most reach. It does not bound strata: the engine splits
// a product over its own threads and runs a backward's two gradient products side by side.
#include <cblas.h>

#include <vector>

#include "bench/direct_blas.h"
#include "bench/timing.h"
#include "bench/w1_layers.h"
#include "bench/workloads.h"

namespace strata::bench {

Figure run_w1_bare_products() {
  struct Buffers {
    std::vector<float> x, w, y, gy, gx, gw;
  };
  std::vector<Buffers> layers;
  const double flops = w1_product_flops_per_image() * kW1Batch;
  for (const W1LinearShape& l : kW1Layers) {
    const size_t n = kW1Batch, in = static_cast<size_t>(l.in), out = static_cast<size_t>(l.out);
    layers.push_back({std::vector<float>(n * in, 0.5f), std::vector<float>(out * in, 0.01f),
                      std::vector<float>(n * out), std::vector<float>(n * out, 0.1f), std::vector<float>(n * in),
                      std::vector<float>(out * in)});
  }
  // The products as a Linear layer issues them: y = x W^T, gx = gy W, gW = gy^T x.
  auto step = [&] {
    for (size_t i = 0; i < layers.size(); ++i) {
      const W1LinearShape& l = kW1Layers[i];
      Buffers& b = layers[i];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kW1Batch, l.out, l.in, 1.0f, b.x.data(), l.in, b.w.data(),
                  l.in, 0.0f, b.y.data(), l.out);
    }
    for (size_t i = layers.size(); i-- > 0;) {
      const W1LinearShape& l = kW1Layers[i];
      Buffers& b = layers[i];
      if (l.input_needs_grad)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kW1Batch, l.in, l.out, 1.0f, b.gy.data(), l.out,
                    b.w.data(), l.in, 0.0f, b.gx.data(), l.in);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l.out, l.in, kW1Batch, 1.0f, b.gy.data(), l.out, b.x.data(),
                  l.in, 0.0f, b.gw.data(), l.in);
    }
  };
  DirectBlasThreads blas_threads;
  const double seconds = seconds_per_call(step, 1.0);
  return {"W1-products", "GFLOP/s", flops / seconds / 1e9,
          "the 20 cblas_sgemm calls of one W1 step alone, " + std::to_string(flops / kW1Batch / 1e6).substr(0, 4) +
              " MFLOP per image"};
}

}  // namespace strata::bench
