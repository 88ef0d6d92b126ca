// Helpers shared by the op implementations (not part of the public API).
#pragma once

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/tensor.h"

namespace strata::detail {

inline Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

// A view of `t` broadcast to `shape` (stride 0 along repeated dims) for a kernel.
inline View broadcast_view(const Tensor& t, const Shape& shape) {
  View v = t.view();
  const int nd = static_cast<int>(shape.size()), shift = nd - v.ndim;
  View out = v;
  out.ndim = nd;
  for (int d = nd - 1; d >= 0; --d) {
    const int src = d - shift;
    out.shape[d] = shape[d];
    out.strides[d] = (src >= 0 && v.shape[src] == shape[d]) ? v.strides[src] : 0;
  }
  return out;
}

inline void check_defined(const char* op, const Tensor& t, const char* name) {
  STRATA_CHECK(t.defined(), op, ": ", name, " is undefined");
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  STRATA_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " with shape ",
               shape_str(a.shape()), " and ", dtype_name(b.dtype()), " with shape ", shape_str(b.shape()),
               "); convert one with to_dtype()");
}

inline void check_floating(const char* op, const Tensor& t) {
  STRATA_CHECK(is_floating(t.dtype()), op, ": expects a floating-point tensor, got ", dtype_name(t.dtype()),
               " with shape ", shape_str(t.shape()));
}

}  // namespace strata::detail
