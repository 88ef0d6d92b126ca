// How to thread gemm on this machine: a batch of products run (a) in sequence with OpenBLAS's own
// threads, (b) in sequence single-threaded, (c) spread over the batch by oneTBB with single-threaded
// OpenBLAS (what the CPU backend does for batches). backends/cpu/cpu_gemm.cpp cites these figures.
#include <cblas.h>

#include <vector>

#include <tbb/parallel_for.h>

#include "bench/timing.h"
#include "bench/workloads.h"
#include "engine/threading.h"

namespace strata::bench {

namespace {
template <class Fn>
double milliseconds_per_call(Fn&& fn) {
  return 1e3 * seconds_per_call(fn, 0.3);
}
}  // namespace

std::vector<Figure> run_blas_threading() {
  const int threads = get_num_threads();
  // {batch, m, n, k}: single big products, then the batched shapes of W2's convolutions.
  const int configs[][4] = {{1, 1024, 1024, 1024}, {1, 128, 512, 784}, {128, 64, 49, 512},
                            {128, 512, 49, 64},    {128, 32, 196, 16},  {4, 256, 256, 256}};
  std::vector<Figure> figures;
  for (const auto& c : configs) {
    const int batch = c[0], m = c[1], n = c[2], k = c[3];
    std::vector<float> a(static_cast<size_t>(batch) * m * k, 1.0f), b(static_cast<size_t>(batch) * k * n, 1.0f),
        out(static_cast<size_t>(batch) * m * n);
    auto one = [&](int i) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data() + static_cast<size_t>(i) * m * k,
                  k, b.data() + static_cast<size_t>(i) * k * n, n, 0.0f, out.data() + static_cast<size_t>(i) * m * n, n);
    };
    openblas_set_num_threads(threads);
    const double own_threads = milliseconds_per_call([&] { for (int i = 0; i < batch; ++i) one(i); });
    openblas_set_num_threads(1);
    const double serial = milliseconds_per_call([&] { for (int i = 0; i < batch; ++i) one(i); });
    const double over_tbb = milliseconds_per_call([&] { tbb::parallel_for(0, batch, [&](int i) { one(i); }); });
    openblas_set_num_threads(1);  // as the CPU backend keeps it
    const std::string name = "gemm threads " + std::to_string(batch) + "x[" + std::to_string(m) + "x" +
                             std::to_string(k) + " @ " + std::to_string(k) + "x" + std::to_string(n) + "]";
    figures.push_back({name, "ms", over_tbb,
                       "TBB over batch; OpenBLAS own threads " + std::to_string(own_threads) + " ms, 1 thread " +
                           std::to_string(serial) + " ms"});
  }
  return figures;
}

}  // namespace strata::bench
