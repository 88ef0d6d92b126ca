// W4: the engine's float32 matmul through the public API (result allocation included) against a
// direct cblas_sgemm on the same buffers.
#include <cblas.h>

#include <algorithm>
#include <chrono>

#include "bench/direct_blas.h"
#include "bench/timing.h"
#include "bench/workloads.h"
#include "ops/ops.h"

namespace strata::bench {

namespace {

constexpr int kW4Rounds = 8;
constexpr double kW4RoundSeconds = 0.1;

}  // namespace

double measure_sgemm_gflops() {
  const int n = 1024;
  Generator gen(1);
  Tensor a = randn({n, n}, {}, &gen), b = randn({n, n}, {}, &gen), c = zeros({n, n});
  DirectBlasThreads blas_threads;
  // The best of short rounds, as W4 measures its direct call: one 0.5 s average was once 132
  // GFLOP/s while W4a's direct call in the same run reached 170, and a limit that low made W1's
  // fraction of it read 83% where it was 64% (bench/RESULTS.md of 2026-12-02).
  double s = 1e30;
  for (int round = 0; round < kW4Rounds; ++round) {
    s = std::min(s, seconds_per_call([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data_ptr<float>(), n,
                  b.data_ptr<float>(), n, 0.0f, c.data_ptr<float>(), n);
    }, kW4RoundSeconds));
  }
  return 2.0 * n * n * n / s / 1e9;
}

std::vector<Figure> run_w4_gemm() {
  std::vector<Figure> figures;
  const int shapes[2][3] = {{1024, 1024, 1024}, {128, 784, 512}};
  const char* names[2] = {"W4a", "W4b"};
  Generator gen(2);
  for (int i = 0; i < 2; ++i) {
    const int m = shapes[i][0], k = shapes[i][1], n = shapes[i][2];
    Tensor a = randn({m, k}, {}, &gen), b = randn({k, n}, {}, &gen), c = zeros({m, n});
    const double flops = 2.0 * m * n * k;
    // The engine and the direct call alternate in short rounds and each keeps its best: on these
    // shared machines one 0.5 s pair, engine then direct, moved the ratio by 10% between runs
    // (W4b 0.91x to 1.02x) as neighbours came and went.
    double engine = 1e30, blas = 1e30;
    for (int round = 0; round < kW4Rounds; ++round) {
      engine = std::min(engine, seconds_per_call([&] { Tensor r = matmul(a, b); }, kW4RoundSeconds));
      DirectBlasThreads blas_threads;
      blas = std::min(blas, seconds_per_call(
                                [&] {
                                  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f,
                                              a.data_ptr<float>(), k, b.data_ptr<float>(), n, 0.0f,
                                              c.data_ptr<float>(), n);
                                },
                                kW4RoundSeconds));
    }
    figures.push_back({names[i], "GFLOP/s", flops / engine / 1e9,
                       std::to_string(m) + "x" + std::to_string(k) + " @ " + std::to_string(k) + "x" + std::to_string(n),
                       flops / blas / 1e9});
  }
  return figures;
}

}  // namespace strata::bench
