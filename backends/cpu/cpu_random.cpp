// Random fills from the counter-based Philox stream (backends/philox.h): element i of a draw is a
// pure function of (seed, offset, i), so the result does not depend on how work is split.
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "backends/philox.h"
#include "core/error.h"

namespace strata {

namespace {

// Elements per task: a uniform block is a few dozen multiplies, a normal one adds Box-Muller's
// logarithm, square root and sine-cosine in double (~18 ns an element, so W1's 128x32 noise took
// 73 us on one thread).
constexpr int64_t kUniformGrain = 16384;
constexpr int64_t kNormalGrain = 1024;

// Fills `out` with f(quad)[i % 4] where quad = block(i / 4): each Philox block is computed once
// per task, not once per element.
template <class Block, class Fn>
void fill_random(const View& out, const char* op, int64_t grain, Block&& block, Fn&& f) {
  STRATA_CHECK(out.is_contiguous(), op, ": output must be contiguous");
  const int64_t n = out.numel();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    T* o = out.ptr<T>();
    cpu::parallel_for(n, grain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e;) {
        const uint64_t blk = static_cast<uint64_t>(i) / 4;
        const philox::Quad q = block(blk);
        for (int lane = static_cast<int>(i % 4); lane < 4 && i < e; ++lane, ++i) o[i] = static_cast<T>(f(q.v[lane]));
      }
    });
  };
  switch (out.dtype) {
    case DType::Float32: return run(float{});
    case DType::Float64: return run(double{});
    case DType::Int64: return run(int64_t{});
    case DType::Bool: break;
  }
  throw Error(detail::concat(op, ": dtype ", dtype_name(out.dtype), " is not supported"));
}

}  // namespace

void CpuBackend::random_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) {
  // A double just below `high` can round up to `high` in float32; keep the interval half-open.
  const double top = out.dtype == DType::Float32 && high > low
                         ? static_cast<double>(std::nextafter(static_cast<float>(high), static_cast<float>(low)))
                         : high;
  fill_random(
      out, "uniform", kUniformGrain, [&](uint64_t blk) { return philox::uniform4(seed, offset, blk); },
      [&](double u) { return std::min(low + (high - low) * u, top); });
}

void CpuBackend::random_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double stddev) {
  fill_random(
      out, "normal", kNormalGrain, [&](uint64_t blk) { return philox::normal4(seed, offset, blk); },
      [&](double z) { return mean + stddev * z; });
}

void CpuBackend::random_int(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  const double range = static_cast<double>(high - low);
  fill_random(
      out, "randint", kUniformGrain, [&](uint64_t blk) { return philox::uniform4(seed, offset, blk); },
      [&](double u) { return std::min(low + static_cast<int64_t>(u * range), high - 1); });
}

}  // namespace strata
