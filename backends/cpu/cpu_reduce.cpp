// Reductions (sum, max, min, prod over any set of dims), max/min with indices, softmax.
// Float sums accumulate in double: the extra precision is free in these memory-bound loops and
// keeps large reductions (a 60,000-image mean) accurate.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <tbb/parallel_reduce.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_isa.h"
#include "backends/cpu/dtype_dispatch.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

#include "backends/cpu/cpu_isa_target.h"  // last: what follows is compiled for one instruction set

namespace strata {

namespace {

// Visits the innermost rows of a strided N-d space serially, in row-major order, as
// fn(offset of the row's first element, row length, element stride).
template <class Fn>
void for_each_row(int ndim, const int64_t* shape, const int64_t* strides, int64_t base, Fn&& fn) {
  if (ndim == 0) {
    fn(base, int64_t{1}, int64_t{1});
    return;
  }
  // An empty dim means no elements at all (the odometer below would still visit one row).
  for (int d = 0; d < ndim; ++d)
    if (shape[d] == 0) return;
  int64_t idx[kMaxDims] = {};
  const int64_t inner_n = shape[ndim - 1], inner_s = strides[ndim - 1];
  while (true) {
    int64_t off = base;
    for (int d = 0; d < ndim - 1; ++d) off += idx[d] * strides[d];
    fn(off, inner_n, inner_s);
    int d = ndim - 2;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

// Visits the element offsets of a strided N-d space serially, in row-major order.
template <class Fn>
void for_each_offset(int ndim, const int64_t* shape, const int64_t* strides, int64_t base, Fn&& fn) {
  for_each_row(ndim, shape, strides, base, [&](int64_t off, int64_t n, int64_t stride) {
    for (int64_t i = 0; i < n; ++i) fn(off + i * stride);
  });
}

// Merges neighbouring dims that one stride walks (a contiguous block becomes one dim) and drops
// dims of size 1, in place; returns the new count. A full sum of a contiguous tensor becomes one
// contiguous run, which sum_contiguous can take whole.
int coalesce_dims(int ndim, int64_t* shape, int64_t* strides) {
  int n = 0;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (n > 0 && shape[n - 1] != 0 && shape[d] != 0 && strides[n - 1] == shape[d] * strides[d]) {
      shape[n - 1] *= shape[d];
      strides[n - 1] = strides[d];
    } else {
      shape[n] = shape[d];
      strides[n++] = strides[d];
    }
  }
  return n;
}

// The sum of n contiguous values over 16 interleaved accumulators (lane j takes the elements at
// j mod 16), added pairwise at the end. One accumulator is a chain of dependent adds, one per
// add latency (4 cycles): summing W1's 128x784 reconstruction losses took 85 us. Sixteen chains
// vectorise. The order depends on n alone, so every thread count and instruction set gives the
// same bits.
template <class T, class A>
A sum_contiguous(const T* p, int64_t n) {
  constexpr int kLanes = 16;
  A lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] += static_cast<A>(p[i + j]);
  for (int j = 0; i < n; ++i, ++j) lane[j] += static_cast<A>(p[i]);
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) lane[j] += lane[j + width];
  return lane[0];
}

// One step of each reduction; max and min propagate NaN.
template <ReduceOp Op>
struct Combine {
  template <class A>
  A operator()(A acc, A v) const {
    if constexpr (Op == ReduceOp::Sum) return acc + v;
    if constexpr (Op == ReduceOp::Prod) return acc * v;
    if constexpr (Op == ReduceOp::Max) return (v > acc || v != v) ? v : acc;
    if constexpr (Op == ReduceOp::Min) return (v < acc || v != v) ? v : acc;
  }
};

// Whether output element i sits at input offset i: the kept dims, in order, are one contiguous
// row-major block.
bool kept_offsets_are_identity(int kept_n, const int64_t* kept_shape, const int64_t* kept_strides) {
  int64_t expected = 1;
  for (int d = kept_n - 1; d >= 0; --d) {
    if (kept_shape[d] != 1 && kept_strides[d] != expected) return false;
    expected *= kept_shape[d];
  }
  return kept_n > 0;
}

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
void reduce_typed(ReduceOp op, const View& in, uint32_t mask, const View& out) {
  // Split the input's dims into kept (enumerated by the output) and reduced ones.
  int kept_n = 0, red_n = 0;
  int64_t kept_shape[kMaxDims], kept_strides[kMaxDims], red_shape[kMaxDims], red_strides[kMaxDims];
  int64_t red_count = 1;
  for (int d = 0; d < in.ndim; ++d) {
    if (mask & (1u << d)) {
      red_shape[red_n] = in.shape[d];
      red_strides[red_n++] = in.strides[d];
      red_count *= in.shape[d];
    } else {
      kept_shape[kept_n] = in.shape[d];
      kept_strides[kept_n++] = in.strides[d];
    }
  }
  red_n = coalesce_dims(red_n, red_shape, red_strides);
  const int64_t out_n = out.numel();
  const T* x = in.ptr<T>();
  T* o = out.ptr<T>();
  using A = Acc<T>;
  // Max and min start from -inf and +inf where the type has them, so that the max of -inf values is
  // -inf (starting from lowest() it was -3.4e38).
  constexpr bool kInf = std::numeric_limits<T>::has_infinity;
  const A init = op == ReduceOp::Sum ? A(0)
                 : op == ReduceOp::Prod ? A(1)
                 : op == ReduceOp::Max ? static_cast<A>(kInf ? -std::numeric_limits<T>::infinity()
                                                             : std::numeric_limits<T>::lowest())
                                       : static_cast<A>(kInf ? std::numeric_limits<T>::infinity()
                                                             : std::numeric_limits<T>::max());
  auto combine = [op](A acc, A v) -> A {
    switch (op) {
      case ReduceOp::Sum: return Combine<ReduceOp::Sum>{}(acc, v);
      case ReduceOp::Prod: return Combine<ReduceOp::Prod>{}(acc, v);
      case ReduceOp::Max: return Combine<ReduceOp::Max>{}(acc, v);
      case ReduceOp::Min: return Combine<ReduceOp::Min>{}(acc, v);
    }
    return acc;
  };

  // Folds one row of the reduced space into acc: a contiguous row of a sum in lanes
  // (sum_contiguous), anything else in order.
  auto fold_row = [&](A acc, int64_t off, int64_t n, int64_t stride) {
    if (op == ReduceOp::Sum && stride == 1) return acc + sum_contiguous<T, A>(x + off, n);
    for (int64_t j = 0; j < n; ++j) acc = combine(acc, static_cast<A>(x[off + j * stride]));
    return acc;
  };

  // The offset of output element `i` in the input, from its multi-index over the kept dims.
  auto kept_offset = [&](int64_t i) {
    int64_t off = 0;
    for (int d = kept_n - 1; d >= 0; --d) {
      off += (i % kept_shape[d]) * kept_strides[d];
      i /= kept_shape[d];
    }
    return off;
  };

  if (out_n == 1 && red_count > 4 * cpu::kElementwiseGrain && red_n > 0) {
    // One big reduction: split the outermost reduced dim deterministically across threads (the
    // same blocks for any thread count); a single dim is split into runs of it.
    const int64_t outer = red_shape[0];
    const A total = tbb::parallel_deterministic_reduce(
        tbb::blocked_range<int64_t>(0, outer, std::max<int64_t>(1, outer / 64)), init,
        [&](const tbb::blocked_range<int64_t>& r, A acc) {
          if (red_n == 1) return fold_row(acc, r.begin() * red_strides[0], r.end() - r.begin(), red_strides[0]);
          for (int64_t j = r.begin(); j < r.end(); ++j)
            for_each_row(red_n - 1, red_shape + 1, red_strides + 1, j * red_strides[0],
                         [&](int64_t off, int64_t n, int64_t stride) { acc = fold_row(acc, off, n, stride); });
          return acc;
        },
        [&](A a, A b) { return combine(a, b); });
    o[0] = static_cast<T>(total);
    return;
  }

  if (kept_offsets_are_identity(kept_n, kept_shape, kept_strides) && red_n > 0 && out_n > 1) {
    // The outputs are one contiguous block and the reduced dims lie outside it: a bias gradient,
    // the column sums of a (batch, features) matrix. Walking the input row by row with one
    // accumulator per output reads memory in order and vectorises, where one output at a time
    // walked a column (W3's bias gradients: 7% of its step, 13% once the elementwise kernels
    // used AVX-512). Each output still sees its inputs in the same order: the same bits.
    auto columns = [&](auto&& combine_fn) {
      constexpr int64_t kBlock = 256;  // accumulators on the stack: 2 KiB of double
      const int64_t grain = std::max<int64_t>(16, cpu::kElementwiseGrain / std::max<int64_t>(red_count, 1));
      cpu::parallel_for(out_n, grain, [&](int64_t b, int64_t e) STRATA_KERNEL_LOOP {
        A acc[kBlock];
        for (int64_t block = b; block < e; block += kBlock) {
          const int64_t width = std::min(kBlock, e - block);
          std::fill(acc, acc + width, init);
          for_each_offset(red_n, red_shape, red_strides, block, [&](int64_t off) {
            const T* row = x + off;
            for (int64_t i = 0; i < width; ++i) acc[i] = combine_fn(acc[i], static_cast<A>(row[i]));
          });
          for (int64_t i = 0; i < width; ++i) o[block + i] = static_cast<T>(acc[i]);
        }
      });
    };
    switch (op) {  // one loop per op, so the inner loop has no switch in it
      case ReduceOp::Sum: return columns(Combine<ReduceOp::Sum>{});
      case ReduceOp::Prod: return columns(Combine<ReduceOp::Prod>{});
      case ReduceOp::Max: return columns(Combine<ReduceOp::Max>{});
      case ReduceOp::Min: return columns(Combine<ReduceOp::Min>{});
    }
  }

  const int64_t grain = std::max<int64_t>(1, cpu::kElementwiseGrain / std::max<int64_t>(red_count, 1));
  cpu::parallel_for(out_n, grain, [&](int64_t begin, int64_t end) STRATA_KERNEL_LOOP {
    for (int64_t i = begin; i < end; ++i) {
      A acc = init;
      for_each_row(red_n, red_shape, red_strides, kept_offset(i),
                   [&](int64_t off, int64_t n, int64_t stride) { acc = fold_row(acc, off, n, stride); });
      o[i] = static_cast<T>(acc);
    }
  });
}

template <class T>
void arg_reduce_typed(bool is_max, const View& in, int dim, const View& values, const View& indices) {
  const int64_t n = in.shape[dim], stride = in.strides[dim];
  int other_n = 0;
  int64_t other_shape[kMaxDims], other_strides[kMaxDims];
  for (int d = 0; d < in.ndim; ++d) {
    if (d == dim) continue;
    other_shape[other_n] = in.shape[d];
    other_strides[other_n++] = in.strides[d];
  }
  const int64_t out_n = values.numel();
  const T* x = in.ptr<T>();
  T* v = values.ptr<T>();
  int64_t* ix = indices.ptr<int64_t>();
  cpu::parallel_for(out_n, std::max<int64_t>(1, cpu::kElementwiseGrain / std::max<int64_t>(n, 1)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t i = begin; i < end; ++i) {
                        int64_t off = 0, rem = i;
                        for (int d = other_n - 1; d >= 0; --d) {
                          off += (rem % other_shape[d]) * other_strides[d];
                          rem /= other_shape[d];
                        }
                        T best = x[off];
                        int64_t best_j = 0;
                        for (int64_t j = 1; j < n && best == best; ++j) {
                          const T c = x[off + j * stride];
                          if (c != c || (is_max ? c > best : c < best)) best = c, best_j = j;
                        }
                        v[i] = best;
                        ix[i] = best_j;
                      }
                    });
}

template <class T>
void softmax_typed(const View& in, const View& out, bool log) {
  const int64_t cols = in.shape[in.ndim - 1], rows = cols ? in.numel() / cols : 0;
  const T* x = in.ptr<T>();
  T* y = out.ptr<T>();
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1));
  cpu::parallel_for(rows, grain, [&](int64_t b, int64_t e) STRATA_KERNEL_LOOP {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < cols; ++j) m = std::max(m, xr[j]);
      if (!std::isfinite(m)) m = 0;  // all -inf (or +inf) rows: let the arithmetic give NaN/0 honestly
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(xr[j] - m));
      if (log) {
        const T lse = static_cast<T>(std::log(sum)) + m;
        for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] - lse;
      } else {
        const T inv = static_cast<T>(1.0 / sum);
        for (int64_t j = 0; j < cols; ++j) yr[j] = std::exp(xr[j] - m) * inv;
      }
    }
  });
}

template <class T>
void softmax_backward_typed(const View& grad_out, const View& yv, const View& grad_in, bool log) {
  const int64_t cols = yv.shape[yv.ndim - 1], rows = cols ? yv.numel() / cols : 0;
  const T* g = grad_out.ptr<T>();
  const T* y = yv.ptr<T>();
  T* gi = grad_in.ptr<T>();
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1));
  cpu::parallel_for(rows, grain, [&](int64_t b, int64_t e) STRATA_KERNEL_LOOP {
    for (int64_t r = b; r < e; ++r) {
      const T* gr = g + r * cols;
      const T* yr = y + r * cols;
      T* out = gi + r * cols;
      double s = 0;
      if (log) {  // d/dx log_softmax: g - softmax * sum(g)
        for (int64_t j = 0; j < cols; ++j) s += gr[j];
        for (int64_t j = 0; j < cols; ++j) out[j] = gr[j] - std::exp(yr[j]) * static_cast<T>(s);
      } else {    // d/dx softmax: y * (g - sum(g * y))
        for (int64_t j = 0; j < cols; ++j) s += static_cast<double>(gr[j]) * yr[j];
        for (int64_t j = 0; j < cols; ++j) out[j] = yr[j] * (gr[j] - static_cast<T>(s));
      }
    }
  });
}

void reduce_kernel(ReduceOp op, const View& in, uint32_t dim_mask, const View& out) {
  cpu::visit_numeric(in.dtype, "reduce", [&](auto tag) { reduce_typed<decltype(tag)>(op, in, dim_mask, out); });
}

void arg_reduce_kernel(bool is_max, const View& in, int dim, const View& values, const View& indices) {
  cpu::visit_numeric(in.dtype, is_max ? "max" : "min",
                [&](auto tag) { arg_reduce_typed<decltype(tag)>(is_max, in, dim, values, indices); });
}

void softmax_kernel(const View& in, const View& out, bool log) {
  cpu::visit_floating(in.dtype, log ? "log_softmax" : "softmax",
                 [&](auto tag) { softmax_typed<decltype(tag)>(in, out, log); });
}

void softmax_backward_kernel(const View& grad_out, const View& y, const View& grad_in, bool log) {
  cpu::visit_floating(y.dtype, log ? "log_softmax backward" : "softmax backward",
                 [&](auto tag) { softmax_backward_typed<decltype(tag)>(grad_out, y, grad_in, log); });
}

}  // namespace

namespace cpu::STRATA_CPU_ISA_NS {

void add_reduce_kernels(CpuKernelTable& table) {
  table.reduce = &reduce_kernel;
  table.arg_reduce = &arg_reduce_kernel;
  table.softmax = &softmax_kernel;
  table.softmax_backward = &softmax_backward_kernel;
}

}  // namespace cpu::STRATA_CPU_ISA_NS

}  // namespace strata
