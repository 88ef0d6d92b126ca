// Random fills from the counter-based Philox stream (backends/philox.h), the very function the CPU
// backend uses: element i of a draw is a pure function of (seed, offset, i), so a seeded draw gives
// the same numbers on the GPU as on the CPU (up to the last ulp of the device's log/sin/cos).
// Each thread computes one Philox block and writes its four elements.
#include <cmath>

#include "backends/cuda/cuda_kernels.cuh"
#include "backends/philox.h"

namespace strata::cuda {

enum class Distribution { Uniform, Normal, Int };

template <class T>
__global__ void random_kernel(int64_t n, T* out, uint64_t seed, uint64_t offset, Distribution dist, double a,
                              double b, double top, int64_t low, int64_t high) {
  const int64_t blocks = (n + 3) / 4;
  STRATA_GRID_STRIDE_LOOP(blk, blocks) {
    const philox::Quad q = dist == Distribution::Normal ? philox::normal4(seed, offset, static_cast<uint64_t>(blk))
                                                        : philox::uniform4(seed, offset, static_cast<uint64_t>(blk));
    for (int lane = 0; lane < 4; ++lane) {
      const int64_t i = blk * 4 + lane;
      if (i >= n) break;
      const double u = q.v[lane];
      switch (dist) {
        case Distribution::Uniform: out[i] = static_cast<T>(fmin(a + (b - a) * u, top)); break;
        case Distribution::Normal: out[i] = static_cast<T>(a + b * u); break;
        case Distribution::Int: {
          const int64_t v = low + static_cast<int64_t>(u * static_cast<double>(high - low));
          out[i] = static_cast<T>(v < high - 1 ? v : high - 1);
          break;
        }
      }
    }
  }
}

void fill_random(const CudaBackend& be, const View& out, const char* op, uint64_t seed, uint64_t offset,
                 Distribution dist, double a, double b, double top, int64_t low, int64_t high) {
  STRATA_CHECK(out.is_contiguous(), op, ": output must be contiguous");
  const int64_t n = out.numel();
  if (n == 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    random_kernel<T><<<blocks_for((n + 3) / 4), kThreads, 0, be.stream()>>>(n, out.ptr<T>(), seed, offset, dist, a, b,
                                                                           top, low, high);
  };
  switch (out.dtype) {
    case DType::Float32: run(float{}); break;
    case DType::Float64: run(double{}); break;
    case DType::Int64: run(int64_t{}); break;
    case DType::Bool: throw Error(detail::concat(op, ": dtype bool is not supported"));
  }
  be.check_launch(op);
}

}  // namespace strata::cuda

namespace strata {

void CudaBackend::random_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) {
  activate();
  // A double just below `high` can round up to `high` in float32; keep the interval half-open.
  const double top = out.dtype == DType::Float32 && high > low
                         ? static_cast<double>(std::nextafter(static_cast<float>(high), static_cast<float>(low)))
                         : high;
  cuda::fill_random(*this, out, "uniform", seed, offset, cuda::Distribution::Uniform, low, high, top, 0, 0);
}

void CudaBackend::random_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double stddev) {
  activate();
  cuda::fill_random(*this, out, "normal", seed, offset, cuda::Distribution::Normal, mean, stddev, 0, 0, 0);
}

void CudaBackend::random_int(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  activate();
  cuda::fill_random(*this, out, "randint", seed, offset, cuda::Distribution::Int, 0, 0, 0, low, high);
}

}  // namespace strata
