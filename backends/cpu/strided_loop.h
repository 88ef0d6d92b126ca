// The loop under every elementwise kernel: N operands of one shape, each with its own strides.
// Adjacent dims that are contiguous in every operand are merged first, so a contiguous tensor is
// one flat run however many dims it has; the flat index range is then split across TBB workers and
// each worker calls the kernel's inner function on runs along the last (merged) dim.
#pragma once

#include <algorithm>
#include <cstdint>

#include "backends/cpu/parallel.h"
#include "core/types.h"

namespace strata::cpu {

template <int N>
struct StridedLoop {
  int ndim = 0;
  int64_t numel = 1;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  // All views must have the shape of views[0].
  explicit StridedLoop(const View* const (&views)[N]) {
    const View& first = *views[0];
    for (int d = 0; d < first.ndim; ++d) {
      if (first.shape[d] == 1) continue;  // size-1 dims never move the pointers
      shape[ndim] = first.shape[d];
      for (int k = 0; k < N; ++k) strides[k][ndim] = views[k]->strides[d];
      ++ndim;
    }
    for (int d = 0; d < first.ndim; ++d) numel *= first.shape[d];
    // Merge dim d into d+1 when stepping d equals stepping d+1 shape[d+1] times, for every operand.
    int out = 0;
    for (int d = 0; d < ndim; ++d) {
      if (out > 0) {
        bool mergeable = true;
        for (int k = 0; k < N; ++k)
          if (strides[k][out - 1] != strides[k][d] * shape[d]) mergeable = false;
        if (mergeable) {
          shape[out - 1] *= shape[d];
          for (int k = 0; k < N; ++k) strides[k][out - 1] = strides[k][d];
          continue;
        }
      }
      shape[out] = shape[d];
      for (int k = 0; k < N; ++k) strides[k][out] = strides[k][d];
      ++out;
    }
    ndim = out;
    if (ndim == 0) {  // a scalar, or all dims of size 1
      ndim = 1;
      shape[0] = numel;
      for (int k = 0; k < N; ++k) strides[k][0] = 1;
    }
  }

  int64_t inner_stride(int k) const { return strides[k][ndim - 1]; }

  // Calls inner(offsets, count): offsets[k] is the element offset of operand k at the start of a
  // run of `count` elements along the last dim (stride inner_stride(k)).
  template <class Inner>
  void run(int64_t grain, Inner&& inner) const {
    parallel_for(numel, grain, [&](int64_t begin, int64_t end) {
      int64_t idx[kMaxDims];
      int64_t rem = begin;
      for (int d = ndim - 1; d >= 0; --d) {
        idx[d] = rem % shape[d];
        rem /= shape[d];
      }
      int64_t pos = begin;
      while (pos < end) {
        int64_t offsets[N];
        for (int k = 0; k < N; ++k) {
          offsets[k] = 0;
          for (int d = 0; d < ndim; ++d) offsets[k] += idx[d] * strides[k][d];
        }
        const int64_t count = std::min(shape[ndim - 1] - idx[ndim - 1], end - pos);
        inner(offsets, count);
        pos += count;
        idx[ndim - 1] += count;
        for (int d = ndim - 1; d > 0 && idx[d] == shape[d]; --d) {
          idx[d] = 0;
          ++idx[d - 1];
        }
      }
    });
  }
};

}  // namespace strata::cpu
