// Reductions (sum, max, min, prod over any set of dims), max/min with indices, softmax and its
// backward. As on the CPU (backends/cpu/cpu_reduce.cpp), float sums accumulate in double and NaN
// propagates through max and min. Every reduction combines in a fixed order (per-thread strided
// partial sums, then a warp-shuffle tree), so results do not change from run to run.
#include <cmath>
#include <limits>

#include "backends/cuda/cuda_kernels.cuh"

namespace strata::cuda {

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class A>
struct Combine {
  ReduceOp op;
  __device__ A operator()(A acc, A v) const {
    switch (op) {
      case ReduceOp::Sum: return acc + v;
      case ReduceOp::Prod: return acc * v;
      case ReduceOp::Max: return (v > acc || v != v) ? v : acc;  // NaN propagates
      case ReduceOp::Min: return (v < acc || v != v) ? v : acc;
    }
    return acc;
  }
};

template <class T>
Acc<T> identity(ReduceOp op) {
  using A = Acc<T>;
  constexpr bool kInf = std::numeric_limits<T>::has_infinity;
  switch (op) {
    case ReduceOp::Sum: return A(0);
    case ReduceOp::Prod: return A(1);
    case ReduceOp::Max:
      return static_cast<A>(kInf ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest());
    case ReduceOp::Min:
      return static_cast<A>(kInf ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max());
  }
  return A(0);
}

// Reduces v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
template <class A, class F>
__device__ A block_reduce(A v, F combine, A identity_value) {
  __shared__ A partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int o = 16; o > 0; o >>= 1) v = combine(v, __shfl_down_sync(0xffffffffu, v, o));
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  if (warp == 0) {
    v = lane < warps ? partial[lane] : identity_value;
    for (int o = 16; o > 0; o >>= 1) v = combine(v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  const A result = partial[0];
  __syncthreads();  // partial may be reused by the caller's next reduction
  return result;
}

// The input offsets of the kept (output) and reduced index spaces, each from a linear index.
struct ReduceGeometry {
  OffsetCalculator<1> kept, reduced;
  int64_t out_n, red_n;
};

__device__ inline int64_t offset_of(const OffsetCalculator<1>& c, int64_t i) {
  int64_t off[1];
  c.offsets(i, off);
  return off[0];
}

// One thread per output: for reductions too short to share (a dim of a few elements).
template <class T>
__global__ void reduce_per_thread(ReduceGeometry g, const T* in, T* out, ReduceOp op, Acc<T> init) {
  const Combine<Acc<T>> combine{op};
  STRATA_GRID_STRIDE_LOOP(o, g.out_n) {
    const T* base = in + offset_of(g.kept, o);
    Acc<T> acc = init;
    for (int64_t j = 0; j < g.red_n; ++j) acc = combine(acc, static_cast<Acc<T>>(base[offset_of(g.reduced, j)]));
    out[o] = static_cast<T>(acc);
  }
}

// One block per (output, split): the block's threads stride over their share of the reduced
// elements. With splits == 1 the result goes straight to `out`; otherwise each block writes a
// partial to `partials[o * splits + s]` for reduce_partials.
template <class T>
__global__ void reduce_per_block(ReduceGeometry g, const T* in, T* out, Acc<T>* partials, int64_t splits, ReduceOp op,
                                 Acc<T> init) {
  const Combine<Acc<T>> combine{op};
  for (int64_t task = blockIdx.x; task < g.out_n * splits; task += gridDim.x) {
    const int64_t o = task / splits, s = task % splits;
    const int64_t chunk = (g.red_n + splits - 1) / splits;
    const int64_t begin = s * chunk, end = begin + chunk < g.red_n ? begin + chunk : g.red_n;
    const T* base = in + offset_of(g.kept, o);
    Acc<T> acc = init;
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x)
      acc = combine(acc, static_cast<Acc<T>>(base[offset_of(g.reduced, j)]));
    acc = block_reduce(acc, combine, init);
    if (threadIdx.x == 0) {
      if (splits == 1) {
        out[o] = static_cast<T>(acc);
      } else {
        partials[task] = acc;
      }
    }
  }
}

template <class T>
__global__ void reduce_partials(int64_t out_n, int64_t splits, const Acc<T>* partials, T* out, ReduceOp op,
                                Acc<T> init) {
  const Combine<Acc<T>> combine{op};
  STRATA_GRID_STRIDE_LOOP(o, out_n) {
    Acc<T> acc = init;
    for (int64_t s = 0; s < splits; ++s) acc = combine(acc, partials[o * splits + s]);
    out[o] = static_cast<T>(acc);
  }
}

template <class T>
void reduce_typed(CudaBackend& be, ReduceOp op, const View& in, uint32_t mask, const View& out) {
  // Split the input's dims into kept (enumerated by the output, row-major) and reduced ones.
  View kept, reduced;
  kept.dtype = reduced.dtype = in.dtype;
  for (int d = 0; d < in.ndim; ++d) {
    View& v = (mask & (1u << d)) ? reduced : kept;
    v.shape[v.ndim] = in.shape[d];
    v.strides[v.ndim++] = in.strides[d];
  }
  ReduceGeometry g;
  const View* kv[1] = {&kept};
  const View* rv[1] = {&reduced};
  g.kept = make_offset_calculator(kv);
  g.reduced = make_offset_calculator(rv);
  g.out_n = out.numel();
  g.red_n = reduced.numel();
  if (g.out_n == 0) return;
  const Acc<T> init = identity<T>(op);
  const T* x = in.ptr<T>();
  T* o = out.ptr<T>();
  if (g.red_n < 64) {
    reduce_per_thread<T><<<blocks_for(g.out_n), kThreads, 0, be.stream()>>>(g, x, o, op, init);
  } else {
    // Few outputs over many elements: split each output over several blocks so the whole GPU
    // works, then combine the partials in a fixed order.
    int64_t splits = 1;
    if (g.out_n < 1024 && g.red_n >= 16 * kThreads)
      splits = std::min<int64_t>((1024 + g.out_n - 1) / g.out_n, g.red_n / (16 * kThreads));
    Acc<T>* partials = nullptr;
    if (splits > 1) partials = static_cast<Acc<T>*>(be.workspace(sizeof(Acc<T>) * g.out_n * splits));
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(g.out_n * splits, int64_t{1} << 16));
    reduce_per_block<T><<<blocks, kThreads, 0, be.stream()>>>(g, x, o, partials, splits, op, init);
    if (splits > 1) {
      be.check_launch("reduce");
      reduce_partials<T><<<blocks_for(g.out_n), kThreads, 0, be.stream()>>>(g.out_n, splits, partials, o, op, init);
    }
  }
  be.check_launch("reduce");
}

// The first extremum along one dim (NaN counts as the extremum and stops the scan, as on the CPU).
template <class T>
__global__ void arg_reduce_kernel(OffsetCalculator<1> others, int64_t out_n, int64_t n, int64_t stride, bool is_max,
                                  const T* x, T* values, int64_t* indices) {
  STRATA_GRID_STRIDE_LOOP(i, out_n) {
    const T* base = x + offset_of(others, i);
    T best = base[0];
    int64_t best_j = 0;
    for (int64_t j = 1; j < n && best == best; ++j) {
      const T c = base[j * stride];
      if (c != c || (is_max ? c > best : c < best)) best = c, best_j = j;
    }
    values[i] = best;
    indices[i] = best_j;
  }
}

// One block per row of a contiguous [rows, cols] buffer: max, then the sum of exponentials in
// double, then the outputs.
template <class T>
__global__ void softmax_kernel(int64_t rows, int64_t cols, const T* x, T* y, bool log_output) {
  const Combine<double> max_of{ReduceOp::Max}, sum_of{ReduceOp::Sum};
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    double m = -static_cast<double>(INFINITY);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmax(m, static_cast<double>(xr[j]));
    // fmax skips NaN, as std::max(m, x) on the CPU does; a NaN in the row reaches the sum anyway.
    const T row_max_raw = static_cast<T>(block_reduce(m, max_of, -static_cast<double>(INFINITY)));
    const T row_max = isfinite(row_max_raw) ? row_max_raw : T(0);  // all -inf rows: honest NaN/0
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += exp(static_cast<double>(xr[j] - row_max));
    const double sum = block_reduce(s, sum_of, 0.0);
    if (log_output) {
      const T lse = static_cast<T>(::log(sum)) + row_max;
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = xr[j] - lse;
    } else {
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = exp(xr[j] - row_max) * inv;
    }
  }
}

template <class T>
__global__ void softmax_backward_kernel(int64_t rows, int64_t cols, const T* g, const T* y, T* gi, bool log_output) {
  const Combine<double> sum_of{ReduceOp::Sum};
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* gr = g + r * cols;
    const T* yr = y + r * cols;
    T* out = gi + r * cols;
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      s += log_output ? static_cast<double>(gr[j]) : static_cast<double>(gr[j]) * yr[j];
    const T total = static_cast<T>(block_reduce(s, sum_of, 0.0));
    if (log_output) {  // d/dx log_softmax: g - softmax * sum(g)
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) out[j] = gr[j] - exp(yr[j]) * total;
    } else {           // d/dx softmax: y * (g - sum(g * y))
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) out[j] = yr[j] * (gr[j] - total);
    }
  }
}

// The launch of a [rows, cols] softmax: a block per row (blocks stride over rows past 2^16),
// narrow rows with a smaller block.
struct RowLaunch {
  unsigned blocks;
  int threads;
};
inline RowLaunch row_launch(int64_t rows, int64_t cols) {
  return {static_cast<unsigned>(std::min<int64_t>(rows, int64_t{1} << 16)),
          cols >= 256 ? 256 : cols >= 128 ? 128 : cols >= 64 ? 64 : 32};
}

}  // namespace strata::cuda

namespace strata {

void CudaBackend::reduce(ReduceOp op, const View& in, uint32_t dim_mask, const View& out) {
  activate();
  cuda::visit_numeric(in.dtype, "reduce",
                      [&](auto tag) { cuda::reduce_typed<decltype(tag)>(*this, op, in, dim_mask, out); });
}

void CudaBackend::arg_reduce(bool is_max, const View& in, int dim, const View& values, const View& indices) {
  activate();
  const char* op = is_max ? "max" : "min";
  View others;
  others.dtype = in.dtype;
  for (int d = 0; d < in.ndim; ++d) {
    if (d == dim) continue;
    others.shape[others.ndim] = in.shape[d];
    others.strides[others.ndim++] = in.strides[d];
  }
  const View* ov[1] = {&others};
  const int64_t out_n = values.numel();
  if (out_n == 0 || in.shape[dim] == 0) return;
  cuda::visit_numeric(in.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    cuda::arg_reduce_kernel<T><<<cuda::blocks_for(out_n), cuda::kThreads, 0, stream_>>>(
        cuda::make_offset_calculator(ov), out_n, in.shape[dim], in.strides[dim], is_max, in.ptr<T>(),
        values.ptr<T>(), indices.ptr<int64_t>());
  });
  check_launch(op);
}

void CudaBackend::softmax(const View& in, const View& out, bool log) {
  activate();
  const char* op = log ? "log_softmax" : "softmax";
  const int64_t cols = in.shape[in.ndim - 1], rows = cols ? in.numel() / cols : 0;
  if (rows == 0) return;
  cuda::visit_floating(in.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const cuda::RowLaunch l = cuda::row_launch(rows, cols);
    cuda::softmax_kernel<T><<<l.blocks, l.threads, 0, stream_>>>(rows, cols, in.ptr<T>(), out.ptr<T>(), log);
  });
  check_launch(op);
}

void CudaBackend::softmax_backward(const View& grad_out, const View& y, const View& grad_in, bool log) {
  activate();
  const char* op = log ? "log_softmax backward" : "softmax backward";
  const int64_t cols = y.shape[y.ndim - 1], rows = cols ? y.numel() / cols : 0;
  if (rows == 0) return;
  cuda::visit_floating(y.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const cuda::RowLaunch l = cuda::row_launch(rows, cols);
    cuda::softmax_backward_kernel<T><<<l.blocks, l.threads, 0, stream_>>>(rows, cols, grad_out.ptr<T>(), y.ptr<T>(),
                                                                          grad_in.ptr<T>(), log);
  });
  check_launch(op);
}

}  // namespace strata
