// What every kernel file shares: launch sizes, grid-stride loops, strided offsets and the dtype
// switch. Device code only sees plain structs passed by value (no pointers to host memory).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "backends/backend.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_check.h"
#include "core/error.h"

namespace strata::cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements: enough to fill the GPU, never more than needed.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, int64_t{1} << 16)));
}

#define STRATA_GRID_STRIDE_LOOP(i, n)                                                              \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);          \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// The element offsets of up to N views that share one logical shape, from a linear index in
// row-major order. Dims are coalesced on the host first (size-1 dims dropped, dims that are
// contiguous in every view merged), so a contiguous tensor costs no division at all.
template <int N>
struct OffsetCalculator {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  __device__ void offsets(int64_t linear, int64_t* out) const {
    for (int v = 0; v < N; ++v) out[v] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t size = shape[d];
      const int64_t idx = d == 0 ? linear : linear % size;
      linear = d == 0 ? 0 : linear / size;
      for (int v = 0; v < N; ++v) out[v] += idx * strides[v][d];
    }
  }
};

// Builds the calculator for views[0..N) over views[0]'s shape (all views must have that shape).
template <int N>
OffsetCalculator<N> make_offset_calculator(const View* const (&views)[N]) {
  OffsetCalculator<N> c;
  const View& first = *views[0];
  // Drop size-1 dims, then merge dim d into d+1 when, for every view, stride[d] == shape[d+1] * stride[d+1].
  int n = 0;
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];
  for (int d = 0; d < first.ndim; ++d) {
    if (first.shape[d] == 1) continue;
    shape[n] = first.shape[d];
    for (int v = 0; v < N; ++v) strides[v][n] = views[v]->strides[d];
    ++n;
  }
  int m = 0;
  for (int d = 0; d < n; ++d) {
    if (m > 0) {
      bool mergeable = true;
      for (int v = 0; v < N; ++v)
        if (strides[v][m - 1] != shape[d] * strides[v][d]) mergeable = false;
      if (mergeable) {
        shape[m - 1] *= shape[d];
        for (int v = 0; v < N; ++v) strides[v][m - 1] = strides[v][d];
        continue;
      }
    }
    shape[m] = shape[d];
    for (int v = 0; v < N; ++v) strides[v][m] = strides[v][d];
    ++m;
  }
  c.ndim = m;
  for (int d = 0; d < m; ++d) {
    c.shape[d] = shape[d];
    for (int v = 0; v < N; ++v) c.strides[v][d] = strides[v][d];
  }
  return c;
}

// True when every view is contiguous with the same layout (the common fast path: no offsets).
template <int N>
bool all_contiguous(const View* const (&views)[N]) {
  for (int v = 0; v < N; ++v)
    if (!views[v]->is_contiguous()) return false;
  return true;
}

// Calls f(T{}) for the view's dtype; `what` names the op in the error for other dtypes.
template <class F>
void visit_any(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::Bool: return f(bool{});
  }
}

template <class F>
void visit_numeric(DType dtype, const char* what, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::Bool: break;
  }
  throw Error(detail::concat(what, ": dtype ", dtype_name(dtype), " is not supported on CUDA"));
}

template <class F>
void visit_floating(DType dtype, const char* what, F&& f) {
  switch (dtype) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: break;
  }
  throw Error(detail::concat(what, ": dtype ", dtype_name(dtype), " is not supported (float32 and float64 only)"));
}

// Records the first error of a launch (later ones are dropped: the message names one value); `code`
// is a CudaBackend::KernelError::Code.
__device__ inline void report_kernel_error(CudaBackend::KernelError* slot, int32_t code, int64_t value,
                                           int64_t limit) {
  if (atomicCAS(reinterpret_cast<int*>(&slot->code), 0, code) == 0) {
    slot->value = value;
    slot->limit = limit;
  }
}

}  // namespace strata::cuda
