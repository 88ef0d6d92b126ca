// Elementwise kernels: fill, copy/cast, unary and binary maps, where. Each map is a __device__
// lambda handed to one grid-stride kernel; views that are all contiguous index directly, others go
// through an OffsetCalculator over coalesced dims. The formulas are the CPU backend's
// (backends/cpu/cpu_elementwise.cpp), in the same stable forms, so both backends agree to rounding.
#include <cmath>
#include <limits>

#include "backends/cuda/cuda_kernels.cuh"

namespace strata::cuda {

template <class O, class I, class F>
__global__ void map1_kernel(int64_t n, bool contiguous, OffsetCalculator<2> calc, O* out, const I* in, F f) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    if (contiguous) {
      out[i] = f(in[i]);
    } else {
      int64_t off[2];
      calc.offsets(i, off);
      out[off[0]] = f(in[off[1]]);
    }
  }
}

template <class O, class A, class B, class F>
__global__ void map2_kernel(int64_t n, bool contiguous, OffsetCalculator<3> calc, O* out, const A* a, const B* b,
                            F f) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    if (contiguous) {
      out[i] = f(a[i], b[i]);
    } else {
      int64_t off[3];
      calc.offsets(i, off);
      out[off[0]] = f(a[off[1]], b[off[2]]);
    }
  }
}

template <class T>
__global__ void where_kernel(int64_t n, OffsetCalculator<4> calc, T* out, const bool* cond, const T* a, const T* b) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    int64_t off[4];
    calc.offsets(i, off);
    out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]];
  }
}

template <class T>
__global__ void fill_kernel(int64_t n, OffsetCalculator<1> calc, T* out, T value) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    int64_t off[1];
    calc.offsets(i, off);
    out[off[0]] = value;
  }
}

// Integer division rounding toward negative infinity (Python's //); a zero divisor is reported.
__global__ void floor_divide_kernel(int64_t n, OffsetCalculator<3> calc, int64_t* out, const int64_t* a,
                                    const int64_t* b, CudaBackend::KernelError* error) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    int64_t off[3];
    calc.offsets(i, off);
    const int64_t x = a[off[1]], y = b[off[2]];
    if (y == 0) {
      report_kernel_error(error, CudaBackend::KernelError::kIntegerDivisionByZero, x, 0);
      out[off[0]] = 0;
      continue;
    }
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
    out[off[0]] = q;
  }
}

template <class O, class I, class F>
void map1(const CudaBackend& be, const char* op, const View& in, const View& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const View* views[2] = {&out, &in};
  map1_kernel<<<blocks_for(n), kThreads, 0, be.stream()>>>(n, all_contiguous(views), make_offset_calculator(views),
                                                             out.ptr<O>(), in.ptr<I>(), f);
  be.check_launch(op);
}

template <class O, class I, class F>
void map2(const CudaBackend& be, const char* op, const View& a, const View& b, const View& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const View* views[3] = {&out, &a, &b};
  map2_kernel<<<blocks_for(n), kThreads, 0, be.stream()>>>(n, all_contiguous(views), make_offset_calculator(views),
                                                             out.ptr<O>(), a.ptr<I>(), b.ptr<I>(), f);
  be.check_launch(op);
}

// The stable forms shared by several maps (as backends/cpu/vector_math.h, in libm's precision).
// e^-|x| never overflows, and for x < 0 the result e / (1 + e) keeps the denormals the CPU gives
// (1 / (1 + e^-x) would round to 0 below x = -88.7).
template <class T>
__device__ T sigmoid(T x) {
  const T e = exp(-fabs(x));
  const T inv = T(1) / (T(1) + e);
  return x >= 0 ? inv : e * inv;
}
template <class T>
__device__ T softplus_tail(T a) {  // log(1 + e^-a) for a >= 0
  return log1p(exp(-a));
}
template <class T>
__device__ T stable_softplus(T x) {
  return (x > 0 ? x : T(0)) + softplus_tail(fabs(x));
}

// A functor, not a lambda: nvcc allows no __device__ lambda inside the generic lambdas of visit_any.
template <class O, class I>
struct Cast {
  __device__ O operator()(I x) const { return static_cast<O>(x); }
};

[[noreturn]] void unsupported(const char* kind, int op, DType dtype) {
  throw Error(detail::concat("cuda ", kind, " op #", op, ": dtype ", dtype_name(dtype), " is not supported"));
}

template <class T>
void unary_typed(const CudaBackend& be, UnaryOp op, const View& in, const View& out, double p0d, double p1d) {
  // As on the CPU: an infinite or huge parameter cast to an integer type would be undefined.
  auto param = [](double v) {
    if constexpr (std::is_integral_v<T>) {
      if (!(v >= -9.2e18 && v <= 9.2e18)) return T(0);
    }
    return static_cast<T>(v);
  };
  const T p0 = param(p0d);
  constexpr bool kFloat = std::is_floating_point_v<T>;
  // Comparisons with a scalar compare in the scalar's precision for integers (int64 < 0.5 for 0).
  using C = std::conditional_t<kFloat, T, double>;
  const C c0 = static_cast<C>(p0d);
  const char* name = "unary";
  switch (op) {
    case UnaryOp::GtScalar: return map1<bool, T>(be, name, in, out, [=] __device__(T x) { return C(x) > c0; });
    case UnaryOp::LtScalar: return map1<bool, T>(be, name, in, out, [=] __device__(T x) { return C(x) < c0; });
    case UnaryOp::GeScalar: return map1<bool, T>(be, name, in, out, [=] __device__(T x) { return C(x) >= c0; });
    case UnaryOp::LeScalar: return map1<bool, T>(be, name, in, out, [=] __device__(T x) { return C(x) <= c0; });
    case UnaryOp::EqScalar: return map1<bool, T>(be, name, in, out, [=] __device__(T x) { return C(x) == c0; });
    case UnaryOp::NeScalar: return map1<bool, T>(be, name, in, out, [=] __device__(T x) { return C(x) != c0; });
    case UnaryOp::Neg: return map1<T, T>(be, name, in, out, [] __device__(T x) { return T(-x); });
    case UnaryOp::Abs: return map1<T, T>(be, name, in, out, [] __device__(T x) { return x < 0 ? T(-x) : x; });
    case UnaryOp::Sign:
      return map1<T, T>(be, name, in, out, [] __device__(T x) { return static_cast<T>((x > 0) - (x < 0)); });
    case UnaryOp::Square: return map1<T, T>(be, name, in, out, [] __device__(T x) { return T(x * x); });
    case UnaryOp::AddScalar: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return T(x + p0); });
    case UnaryOp::MulScalar: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return T(x * p0); });
    case UnaryOp::RsubScalar: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return T(p0 - x); });
    case UnaryOp::Clamp:
      // Bounds stay in double so an infinite bound means "no bound" for integer tensors too.
      return map1<T, T>(be, name, in, out, [=] __device__(T x) {
        const double v = static_cast<double>(x);
        return v < p0d ? static_cast<T>(p0d) : (v > p1d ? static_cast<T>(p1d) : x);
      });
    case UnaryOp::Relu: return map1<T, T>(be, name, in, out, [] __device__(T x) { return x > 0 ? x : T(0); });
    default: break;
  }
  if constexpr (kFloat) {
    switch (op) {
      case UnaryOp::Exp: return map1<T, T>(be, name, in, out, [] __device__(T x) { return exp(x); });
      case UnaryOp::Log: return map1<T, T>(be, name, in, out, [] __device__(T x) { return log(x); });
      case UnaryOp::Log1p: return map1<T, T>(be, name, in, out, [] __device__(T x) { return log1p(x); });
      case UnaryOp::Expm1: return map1<T, T>(be, name, in, out, [] __device__(T x) { return expm1(x); });
      case UnaryOp::Sqrt: return map1<T, T>(be, name, in, out, [] __device__(T x) { return sqrt(x); });
      case UnaryOp::Rsqrt: return map1<T, T>(be, name, in, out, [] __device__(T x) { return T(1) / sqrt(x); });
      case UnaryOp::Reciprocal: return map1<T, T>(be, name, in, out, [] __device__(T x) { return T(1) / x; });
      case UnaryOp::Sigmoid: return map1<T, T>(be, name, in, out, [] __device__(T x) { return sigmoid(x); });
      case UnaryOp::Tanh: return map1<T, T>(be, name, in, out, [] __device__(T x) { return tanh(x); });
      case UnaryOp::Softplus: return map1<T, T>(be, name, in, out, [] __device__(T x) { return stable_softplus(x); });
      case UnaryOp::LogSigmoid:
        return map1<T, T>(be, name, in, out, [] __device__(T x) { return -stable_softplus(-x); });
      case UnaryOp::Gelu:
        return map1<T, T>(be, name, in, out,
                          [] __device__(T x) { return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440))); });
      case UnaryOp::Silu: return map1<T, T>(be, name, in, out, [] __device__(T x) { return x * sigmoid(x); });
      case UnaryOp::LeakyRelu:
        return map1<T, T>(be, name, in, out, [=] __device__(T x) { return x > 0 ? x : p0 * x; });
      case UnaryOp::Elu: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return x > 0 ? x : p0 * expm1(x); });
      case UnaryOp::DivScalar: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return x / p0; });
      case UnaryOp::RdivScalar: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return p0 / x; });
      case UnaryOp::PowScalar:
        if (p0d == 2.0) return map1<T, T>(be, name, in, out, [] __device__(T x) { return x * x; });
        return map1<T, T>(be, name, in, out, [=] __device__(T x) { return pow(x, p0); });
      case UnaryOp::RpowScalar: return map1<T, T>(be, name, in, out, [=] __device__(T x) { return pow(p0, x); });
      default: break;
    }
  }
  unsupported("unary", static_cast<int>(op), in.dtype);
}

template <class T>
void binary_typed(CudaBackend& be, BinaryOp op, const View& a, const View& b, const View& out, double p0d) {
  const T p0 = static_cast<T>(p0d);
  const char* name = "binary";
  switch (op) {
    case BinaryOp::Eq: return map2<bool, T>(be, name, a, b, out, [] __device__(T x, T y) { return x == y; });
    case BinaryOp::Ne: return map2<bool, T>(be, name, a, b, out, [] __device__(T x, T y) { return x != y; });
    case BinaryOp::Lt: return map2<bool, T>(be, name, a, b, out, [] __device__(T x, T y) { return x < y; });
    case BinaryOp::Le: return map2<bool, T>(be, name, a, b, out, [] __device__(T x, T y) { return x <= y; });
    case BinaryOp::Gt: return map2<bool, T>(be, name, a, b, out, [] __device__(T x, T y) { return x > y; });
    case BinaryOp::Ge: return map2<bool, T>(be, name, a, b, out, [] __device__(T x, T y) { return x >= y; });
    default: break;
  }
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {
      case BinaryOp::LogicalAnd:
        return map2<bool, bool>(be, name, a, b, out, [] __device__(bool x, bool y) { return x && y; });
      case BinaryOp::LogicalOr:
        return map2<bool, bool>(be, name, a, b, out, [] __device__(bool x, bool y) { return x || y; });
      default: break;
    }
  } else {
    switch (op) {
      case BinaryOp::Add: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return T(x + y); });
      case BinaryOp::Sub: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return T(x - y); });
      case BinaryOp::Mul: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return T(x * y); });
      case BinaryOp::Maximum: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return x > y ? x : y; });
      case BinaryOp::Minimum: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return x < y ? x : y; });
      case BinaryOp::ReluBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T x) { return x > 0 ? g : T(0); });
      default: break;
    }
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::Div: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return x / y; });
      case BinaryOp::Pow: return map2<T, T>(be, name, a, b, out, [] __device__(T x, T y) { return pow(x, y); });
      case BinaryOp::BceWithLogits:
        return map2<T, T>(be, name, a, b, out,
                          [] __device__(T x, T y) { return (x > 0 ? x : T(0)) - x * y + softplus_tail(fabs(x)); });
      case BinaryOp::BceWithLogitsBackward:
        return map2<T, T>(be, name, a, b, out, [=] __device__(T x, T y) { return (sigmoid(x) - y) * p0; });
      case BinaryOp::LeakyReluBackward:
        return map2<T, T>(be, name, a, b, out, [=] __device__(T g, T x) { return x > 0 ? g : g * p0; });
      case BinaryOp::EluBackward:
        return map2<T, T>(be, name, a, b, out, [=] __device__(T g, T x) { return x > 0 ? g : g * p0 * exp(x); });
      case BinaryOp::GeluBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T x) {
          const T cdf = T(0.5) * (T(1) + erf(x * T(0.70710678118654752440)));
          const T pdf = exp(T(-0.5) * x * x) * T(0.3989422804014327);  // 1/sqrt(2 pi)
          return g * (cdf + x * pdf);
        });
      case BinaryOp::SiluBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T x) {
          const T s = sigmoid(x);
          return g * s * (T(1) + x * (T(1) - s));
        });
      case BinaryOp::SoftplusBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T x) { return g * sigmoid(x); });
      case BinaryOp::LogSigmoidBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T x) { return g * sigmoid(-x); });
      case BinaryOp::SigmoidBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T y) { return g * y * (T(1) - y); });
      case BinaryOp::TanhBackward:
        return map2<T, T>(be, name, a, b, out, [] __device__(T g, T y) { return g * (T(1) - y * y); });
      default: break;
    }
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (op == BinaryOp::Div) {
      const int64_t n = out.numel();
      if (n == 0) return;
      const View* views[3] = {&out, &a, &b};
      be.reset_kernel_error();
      floor_divide_kernel<<<blocks_for(n), kThreads, 0, be.stream()>>>(
          n, make_offset_calculator(views), out.ptr<int64_t>(), a.ptr<int64_t>(), b.ptr<int64_t>(),
          be.kernel_error_slot());
      be.check_launch("div");
      be.raise_kernel_error("div");
      return;
    }
  }
  (void)p0;
  unsupported("binary", static_cast<int>(op), a.dtype);
}

}  // namespace strata::cuda

namespace strata {

void CudaBackend::fill(const View& out, double value) {
  activate();
  const int64_t n = out.numel();
  if (n == 0) return;
  const View* views[1] = {&out};
  cuda::visit_any(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    cuda::fill_kernel<<<cuda::blocks_for(n), cuda::kThreads, 0, stream_>>>(n, cuda::make_offset_calculator(views),
                                                                           out.ptr<T>(), static_cast<T>(value));
  });
  check_launch("fill");
}

void CudaBackend::copy(const View& src, const View& dst) {
  activate();
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.dtype == dst.dtype && src.is_contiguous() && dst.is_contiguous()) {
    cuda::check(cudaMemcpyAsync(dst.data, src.data, static_cast<size_t>(n) * dtype_size(src.dtype),
                                cudaMemcpyDeviceToDevice, stream_),
                "copy");
    return;
  }
  cuda::visit_any(dst.dtype, [&](auto out_tag) {
    using O = decltype(out_tag);
    cuda::visit_any(src.dtype, [&](auto in_tag) {
      using I = decltype(in_tag);
      cuda::map1<O, I>(*this, "copy", src, dst, cuda::Cast<O, I>{});
    });
  });
}

void CudaBackend::unary(UnaryOp op, const View& in, const View& out, double p0, double p1) {
  activate();
  if (op == UnaryOp::LogicalNot) {
    STRATA_CHECK(in.dtype == DType::Bool, "logical_not: expects bool, got ", dtype_name(in.dtype));
    return cuda::map1<bool, bool>(*this, "logical_not", in, out, [] __device__(bool x) { return !x; });
  }
  cuda::visit_any(in.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      cuda::unsupported("unary", static_cast<int>(op), in.dtype);
    } else {
      cuda::unary_typed<T>(*this, op, in, out, p0, p1);
    }
  });
}

void CudaBackend::binary(BinaryOp op, const View& a, const View& b, const View& out, double p0) {
  activate();
  cuda::visit_any(a.dtype, [&](auto tag) { cuda::binary_typed<decltype(tag)>(*this, op, a, b, out, p0); });
}

void CudaBackend::where(const View& cond, const View& a, const View& b, const View& out) {
  activate();
  const int64_t n = out.numel();
  if (n == 0) return;
  const View* views[4] = {&out, &cond, &a, &b};
  cuda::visit_any(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    cuda::where_kernel<<<cuda::blocks_for(n), cuda::kThreads, 0, stream_>>>(
        n, cuda::make_offset_calculator(views), out.ptr<T>(), cond.ptr<bool>(), a.ptr<T>(), b.ptr<T>());
  });
  check_launch("where");
}

}  // namespace strata
