// Matrix products on OpenBLAS. Transposed operands are passed as BLAS transpose flags, never
// copied. OpenBLAS itself runs single-threaded (CpuBackend sets it so): the threads are oneTBB's,
// which spread a batch of products over the batch, split a single product into blocks of its
// result, and run a group of independent products (a backward's two gradients) side by side.
// With both OpenBLAS's thread pool and TBB's alive, each pool's idle threads spun (sched_yield)
// while the other worked: 32% of W1's samples on 2 cores in perf, and W1 ran 1.2x faster with
// the split (bench/RESULTS.md).
#include <algorithm>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

namespace strata {

namespace {

// Below this many multiply-adds a product runs on the calling thread: a TBB task costs more.
constexpr int64_t kMinSplitMacs = int64_t{1} << 16;

// One product split over TBB workers into blocks of C's rows or columns (whichever C has more of),
// each block a single-threaded OpenBLAS call on its slice of the operands.
template <class T>
void gemm_split(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, T beta, T* c, int64_t ldc, int64_t parts) {
  const bool by_rows = m >= n;
  const int64_t extent = by_rows ? m : n;
  // Block edges on multiples of 16, the width of OpenBLAS's AVX-512 sgemm tiles.
  auto edge = [&](int64_t p) { return p == parts ? extent : std::min(extent, (extent * p / parts + 8) / 16 * 16); };
  tbb::parallel_for(int64_t{0}, parts, [&](int64_t p) {
    const int64_t begin = edge(p), end = edge(p + 1);
    if (end <= begin) return;
    if (by_rows) {
      cpu::gemm_rowmajor<T>(ta, tb, end - begin, n, k, alpha, ta ? a + begin : a + begin * lda, lda, b, ldb, beta,
                            c + begin * ldc, ldc);
    } else {
      cpu::gemm_rowmajor<T>(ta, tb, m, end - begin, k, alpha, a, lda, tb ? b + begin * ldb : b + begin, ldb, beta,
                            c + begin, ldc);
    }
  });
}

// One gemm call on at most `threads` threads.
template <class T>
void gemm_typed(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
                int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta, void* c, int64_t ldc, int64_t sc,
                int64_t batch, int64_t threads) {
  const T* pa = static_cast<const T*>(a);
  const T* pb = static_cast<const T*>(b);
  T* pc = static_cast<T*>(c);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS leaves C untouched when k == 0 only if beta == 1; define it: C = beta * C
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) pc[i * sc + r * ldc + j] = beta == 0 ? T(0) : static_cast<T>(beta) * pc[i * sc + r * ldc + j];
    return;
  }
  auto one = [&](int64_t i) {
    cpu::gemm_rowmajor<T>(ta, tb, m, n, k, static_cast<T>(alpha), pa + i * sa, lda, pb + i * sb, ldb, static_cast<T>(beta),
                pc + i * sc, ldc);
  };
  if (threads > 1 && batch >= threads) {
    cpu::parallel_for(batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) one(i);
    });
  } else if (threads > 1 && std::max(m, n) >= 32 && m * n * k >= kMinSplitMacs) {
    for (int64_t i = 0; i < batch; ++i)
      gemm_split<T>(ta, tb, m, n, k, static_cast<T>(alpha), pa + i * sa, lda, pb + i * sb, ldb, static_cast<T>(beta),
                    pc + i * sc, ldc, std::min<int64_t>(threads, std::max(m, n) / 16));
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
}

void gemm_on(const GemmCall& g, int64_t threads) {
  switch (g.dtype) {
    case DType::Float32:
      return gemm_typed<float>(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.stride_a, g.b, g.ldb,
                               g.stride_b, g.beta, g.c, g.ldc, g.stride_c, g.batch, threads);
    case DType::Float64:
      return gemm_typed<double>(g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.stride_a, g.b, g.ldb,
                                g.stride_b, g.beta, g.c, g.ldc, g.stride_c, g.batch, threads);
    default: break;
  }
  throw Error(detail::concat("matmul: dtype ", dtype_name(g.dtype), " is not supported (float32 and float64 only)"));
}

}  // namespace

void CpuBackend::gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                      const void* a, int64_t lda, int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b,
                      double beta, void* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  gemm_on({dtype, trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch},
          tbb::this_task_arena::max_concurrency());
}

// The products run side by side, each on threads / count threads (one each on 2 cores).
// A product split over all threads has every thread pack the operand it shares with the others
// (OpenBLAS packs per call); side by side, each packs its operands once. A Linear layer's two
// gradient products have the same multiply-adds, so the halves balance. W1's backward went from
// 3.17 to 3.02 ms a step (best of four alternating runs of 400 steps; noisy machine).
void CpuBackend::gemm_group(const GemmCall* calls, size_t count) {
  const int64_t threads = tbb::this_task_arena::max_concurrency();
  bool each_worth_a_thread = count > 1;
  for (size_t i = 0; i < count; ++i)
    each_worth_a_thread &= calls[i].m * calls[i].n * calls[i].k * calls[i].batch >= kMinSplitMacs;
  if (threads < 2 || !each_worth_a_thread) {
    for (size_t i = 0; i < count; ++i) gemm_on(calls[i], threads);
    return;
  }
  const int64_t share = std::max<int64_t>(1, threads / static_cast<int64_t>(count));
  tbb::parallel_for(size_t{0}, count, [&](size_t i) { gemm_on(calls[i], share); });
}

}  // namespace strata
