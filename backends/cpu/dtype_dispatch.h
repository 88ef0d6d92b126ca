// From a runtime DType to the C++ element type a kernel template needs: each visit_* calls
// fn(T{}) with T the element type, or throws naming `op` when the kernel does not support the dtype.
#pragma once

#include <cstdint>

#include "core/error.h"
#include "core/types.h"

namespace strata::cpu {

// Every dtype.
template <class Fn>
void visit_any(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int64: return fn(int64_t{});
    case DType::Bool: return fn(bool{});
  }
}

// float32, float64 and int64.
template <class Fn>
void visit_numeric(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    case DType::Int64: return fn(int64_t{});
    case DType::Bool: break;
  }
  throw Error(detail::concat(op, ": dtype ", dtype_name(dtype), " is not supported"));
}

// float32 and float64.
template <class Fn>
void visit_floating(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: break;
  }
  throw Error(detail::concat(op, ": dtype ", dtype_name(dtype), " is not supported (float32 and float64 only)"));
}

}  // namespace strata::cpu
