// Elementwise kernels: fill, copy/cast, unary and binary maps, where.
// Each map is a small lambda handed to one strided loop; the unit-stride case is a plain loop the
// compiler vectorises.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_isa.h"
#include "backends/cpu/dtype_dispatch.h"
#include "backends/cpu/strided_loop.h"
#include "backends/cpu/vector_math.h"
#include "core/error.h"

#include "backends/cpu/cpu_isa_target.h"  // last: what follows is compiled for one instruction set

namespace strata {

namespace {

using cpu::kElementwiseGrain;
using cpu::StridedLoop;

template <class O, class I, class F>
void map1(const View& in, const View& out, F f) {
  const View* views[2] = {&out, &in};
  StridedLoop<2> loop(views);
  O* o = out.ptr<O>();
  const I* x = in.ptr<I>();
  const int64_t so = loop.inner_stride(0), sx = loop.inner_stride(1);
  loop.run(kElementwiseGrain, [&](const int64_t* off, int64_t n) STRATA_KERNEL_LOOP {
    O* po = o + off[0];
    const I* px = x + off[1];
    if (so == 1 && sx == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(px[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i * so] = f(px[i * sx]);
    }
  });
}

template <class O, class I, class F>
void map2(const View& a, const View& b, const View& out, F f) {
  const View* views[3] = {&out, &a, &b};
  StridedLoop<3> loop(views);
  O* o = out.ptr<O>();
  const I* pa0 = a.ptr<I>();
  const I* pb0 = b.ptr<I>();
  const int64_t so = loop.inner_stride(0), sa = loop.inner_stride(1), sb = loop.inner_stride(2);
  loop.run(kElementwiseGrain, [&](const int64_t* off, int64_t n) STRATA_KERNEL_LOOP {
    O* po = o + off[0];
    const I* pa = pa0 + off[1];
    const I* pb = pb0 + off[2];
    if (so == 1 && sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (so == 1 && sa == 1 && sb == 0) {
      const I vb = *pb;
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
    } else if (so == 1 && sa == 0 && sb == 1) {
      const I va = *pa;
      for (int64_t i = 0; i < n; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i * so] = f(pa[i * sa], pb[i * sb]);
    }
  });
}

// Two outputs from one input in one pass: f(x, y, d) writes y and d. The outputs are the op's fresh
// contiguous tensors, the input may be strided.
template <class T, class F>
void map1_to2(const View& in, const View& out, const View& out2, F f) {
  const View* views[3] = {&out, &out2, &in};
  StridedLoop<3> loop(views);
  T* o = out.ptr<T>();
  T* o2 = out2.ptr<T>();
  const T* x = in.ptr<T>();
  const int64_t so = loop.inner_stride(0), so2 = loop.inner_stride(1), sx = loop.inner_stride(2);
  loop.run(kElementwiseGrain, [&](const int64_t* off, int64_t n) STRATA_KERNEL_LOOP {
    T* po = o + off[0];
    T* po2 = o2 + off[1];
    const T* px = x + off[2];
    if (so == 1 && so2 == 1 && sx == 1) {
      for (int64_t i = 0; i < n; ++i) f(px[i], po[i], po2[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) f(px[i * sx], po[i * so], po2[i * so2]);
    }
  });
}

// SiLU's derivative from x and s = sigmoid(x), and GELU's Phi(x) and phi(x): shared by the forward,
// backward and fused kernels so that the separate and the fused paths round alike.
template <class T>
T silu_derivative(T x, T s) {
  return s * (T(1) + x * (T(1) - s));
}
template <class T>
T gelu_cdf(T x) {
  return T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
}
template <class T>
T gelu_pdf(T x) {
  return std::exp(T(-0.5) * x * x) * T(0.3989422804014327);  // 1/sqrt(2 pi)
}

// log(1 + e^x) without overflow: max(x, 0) + log(1 + e^-|x|).
template <class T>
T stable_softplus(T x) {
  return (x > 0 ? x : T(0)) + cpu::softplus_tail(std::abs(x));
}

[[noreturn]] void unsupported(const char* kind, int op, DType dtype) {
  throw Error(detail::concat("cpu ", kind, " op #", op, ": dtype ", dtype_name(dtype), " is not supported"));
}

template <class T>
void unary_typed(UnaryOp op, const View& in, const View& out, double p0d, double p1d) {
  // Casting an infinite or huge parameter (a one-sided clamp's bound) to an integer type is
  // undefined behaviour; integer kernels that can see one keep it in double instead.
  auto param = [](double v) {
    if constexpr (std::is_integral_v<T>) {
      if (!(v >= -9.2e18 && v <= 9.2e18)) return T(0);
    }
    return static_cast<T>(v);
  };
  const T p0 = param(p0d), p1 = param(p1d);
  constexpr bool kFloat = std::is_floating_point_v<T>;
  // Comparisons with a scalar produce bool and work for every numeric type. They compare in the
  // scalar's precision (C = double for integers) so that int64 < 0.5 is true for 0.
  using C = std::conditional_t<kFloat, T, double>;
  const C c0 = static_cast<C>(p0d);
  switch (op) {
    case UnaryOp::GtScalar: return map1<bool, T>(in, out, [=](T x) { return static_cast<C>(x) > c0; });
    case UnaryOp::LtScalar: return map1<bool, T>(in, out, [=](T x) { return static_cast<C>(x) < c0; });
    case UnaryOp::GeScalar: return map1<bool, T>(in, out, [=](T x) { return static_cast<C>(x) >= c0; });
    case UnaryOp::LeScalar: return map1<bool, T>(in, out, [=](T x) { return static_cast<C>(x) <= c0; });
    case UnaryOp::EqScalar: return map1<bool, T>(in, out, [=](T x) { return static_cast<C>(x) == c0; });
    case UnaryOp::NeScalar: return map1<bool, T>(in, out, [=](T x) { return static_cast<C>(x) != c0; });
    case UnaryOp::Neg: return map1<T, T>(in, out, [](T x) { return -x; });
    case UnaryOp::Abs: return map1<T, T>(in, out, [](T x) { return x < 0 ? -x : x; });
    case UnaryOp::Sign: return map1<T, T>(in, out, [](T x) { return static_cast<T>((x > 0) - (x < 0)); });
    case UnaryOp::Square: return map1<T, T>(in, out, [](T x) { return x * x; });
    case UnaryOp::AddScalar: return map1<T, T>(in, out, [=](T x) { return x + p0; });
    case UnaryOp::MulScalar: return map1<T, T>(in, out, [=](T x) { return x * p0; });
    case UnaryOp::RsubScalar: return map1<T, T>(in, out, [=](T x) { return p0 - x; });
    case UnaryOp::Clamp:
      // Bounds stay in double so an infinite bound means "no bound" for integer tensors too.
      return map1<T, T>(in, out, [=](T x) {
        const double v = static_cast<double>(x);
        return v < p0d ? static_cast<T>(p0d) : (v > p1d ? static_cast<T>(p1d) : x);
      });
    case UnaryOp::Relu: return map1<T, T>(in, out, [](T x) { return x > 0 ? x : T(0); });
    default: break;
  }
  if constexpr (kFloat) {
    switch (op) {
      case UnaryOp::Exp: return map1<T, T>(in, out, [](T x) { return cpu::fast_exp(x); });
      case UnaryOp::Log: return map1<T, T>(in, out, [](T x) { return std::log(x); });
      case UnaryOp::Log1p: return map1<T, T>(in, out, [](T x) { return std::log1p(x); });
      case UnaryOp::Expm1: return map1<T, T>(in, out, [](T x) { return cpu::fast_expm1(x); });
      case UnaryOp::Sqrt: return map1<T, T>(in, out, [](T x) { return std::sqrt(x); });
      case UnaryOp::Rsqrt: return map1<T, T>(in, out, [](T x) { return T(1) / std::sqrt(x); });
      case UnaryOp::Reciprocal: return map1<T, T>(in, out, [](T x) { return T(1) / x; });
      case UnaryOp::Sigmoid: return map1<T, T>(in, out, [](T x) { return cpu::sigmoid(x); });
      case UnaryOp::Tanh: return map1<T, T>(in, out, [](T x) { return cpu::fast_tanh(x); });
      case UnaryOp::Softplus: return map1<T, T>(in, out, [](T x) { return stable_softplus(x); });
      case UnaryOp::LogSigmoid: return map1<T, T>(in, out, [](T x) { return -stable_softplus(-x); });
      case UnaryOp::Gelu:
        return map1<T, T>(in, out, [](T x) { return x * gelu_cdf(x); });
      case UnaryOp::Silu: return map1<T, T>(in, out, [](T x) { return x * cpu::sigmoid(x); });
      case UnaryOp::LeakyRelu: return map1<T, T>(in, out, [=](T x) { return x > 0 ? x : p0 * x; });
      case UnaryOp::Elu: return map1<T, T>(in, out, [=](T x) { return x > 0 ? x : p0 * cpu::fast_expm1(x); });
      case UnaryOp::DivScalar: return map1<T, T>(in, out, [=](T x) { return x / p0; });
      case UnaryOp::RdivScalar: return map1<T, T>(in, out, [=](T x) { return p0 / x; });
      case UnaryOp::PowScalar:
        if (p0d == 2.0) return map1<T, T>(in, out, [](T x) { return x * x; });
        return map1<T, T>(in, out, [=](T x) { return std::pow(x, p0); });
      case UnaryOp::RpowScalar: return map1<T, T>(in, out, [=](T x) { return std::pow(p0, x); });
      default: break;
    }
  }
  (void)p1;
  unsupported("unary", static_cast<int>(op), in.dtype);
}

template <class T>
void binary_typed(BinaryOp op, const View& a, const View& b, const View& out, double p0d) {
  const T p0 = static_cast<T>(p0d);
  switch (op) {
    case BinaryOp::Eq: return map2<bool, T>(a, b, out, [](T x, T y) { return x == y; });
    case BinaryOp::Ne: return map2<bool, T>(a, b, out, [](T x, T y) { return x != y; });
    case BinaryOp::Lt: return map2<bool, T>(a, b, out, [](T x, T y) { return x < y; });
    case BinaryOp::Le: return map2<bool, T>(a, b, out, [](T x, T y) { return x <= y; });
    case BinaryOp::Gt: return map2<bool, T>(a, b, out, [](T x, T y) { return x > y; });
    case BinaryOp::Ge: return map2<bool, T>(a, b, out, [](T x, T y) { return x >= y; });
    default: break;
  }
  if constexpr (std::is_same_v<T, bool>) {
    switch (op) {
      case BinaryOp::LogicalAnd: return map2<bool, bool>(a, b, out, [](bool x, bool y) { return x && y; });
      case BinaryOp::LogicalOr: return map2<bool, bool>(a, b, out, [](bool x, bool y) { return x || y; });
      default: break;
    }
  } else {
    switch (op) {
      case BinaryOp::Add: return map2<T, T>(a, b, out, [](T x, T y) { return x + y; });
      case BinaryOp::Sub: return map2<T, T>(a, b, out, [](T x, T y) { return x - y; });
      case BinaryOp::Mul: return map2<T, T>(a, b, out, [](T x, T y) { return x * y; });
      case BinaryOp::Maximum: return map2<T, T>(a, b, out, [](T x, T y) { return x > y ? x : y; });
      case BinaryOp::Minimum: return map2<T, T>(a, b, out, [](T x, T y) { return x < y ? x : y; });
      case BinaryOp::ReluBackward: return map2<T, T>(a, b, out, [](T g, T x) { return x > 0 ? g : T(0); });
      default: break;
    }
  }
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::Div: return map2<T, T>(a, b, out, [](T x, T y) { return x / y; });
      case BinaryOp::Pow: return map2<T, T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
      case BinaryOp::BceWithLogits:
        return map2<T, T>(a, b, out, [](T x, T y) {
          return (x > 0 ? x : T(0)) - x * y + cpu::softplus_tail(std::abs(x));
        });
      case BinaryOp::BceWithLogitsBackward:
        return map2<T, T>(a, b, out, [=](T x, T y) { return (cpu::sigmoid(x) - y) * p0; });
      case BinaryOp::LeakyReluBackward:
        return map2<T, T>(a, b, out, [=](T g, T x) { return x > 0 ? g : g * p0; });
      case BinaryOp::EluBackward:
        return map2<T, T>(a, b, out, [=](T g, T x) { return x > 0 ? g : g * p0 * std::exp(x); });
      case BinaryOp::GeluBackward:
        return map2<T, T>(a, b, out, [](T g, T x) { return g * (gelu_cdf(x) + x * gelu_pdf(x)); });
      case BinaryOp::SiluBackward:
        return map2<T, T>(a, b, out, [](T g, T x) { return g * silu_derivative(x, cpu::sigmoid(x)); });
      case BinaryOp::SoftplusBackward:
        return map2<T, T>(a, b, out, [](T g, T x) { return g * cpu::sigmoid(x); });
      case BinaryOp::LogSigmoidBackward:
        return map2<T, T>(a, b, out, [](T g, T x) { return g * cpu::sigmoid(-x); });
      case BinaryOp::SigmoidBackward:
        return map2<T, T>(a, b, out, [](T g, T y) { return g * y * (T(1) - y); });
      case BinaryOp::TanhBackward: return map2<T, T>(a, b, out, [](T g, T y) { return g * (T(1) - y * y); });
      default: break;
    }
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (op == BinaryOp::Div) {
      // Integer division rounds toward negative infinity, as Python's //; division by zero throws.
      const View* views[3] = {&out, &a, &b};
      StridedLoop<3> loop(views);
      loop.run(std::numeric_limits<int64_t>::max(), [&](const int64_t* off, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const int64_t x = a.ptr<int64_t>()[off[1] + i * loop.inner_stride(1)];
          const int64_t y = b.ptr<int64_t>()[off[2] + i * loop.inner_stride(2)];
          if (y == 0) throw Error("div: integer division by zero");
          int64_t q = x / y;
          if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
          out.ptr<int64_t>()[off[0] + i * loop.inner_stride(0)] = q;
        }
      });
      return;
    }
  }
  (void)p0;
  unsupported("binary", static_cast<int>(op), a.dtype);
}

void fill_kernel(const View& out, double value) {
  cpu::visit_any(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    const View* views[1] = {&out};
    StridedLoop<1> loop(views);
    T* o = out.ptr<T>();
    const int64_t so = loop.inner_stride(0);
    loop.run(kElementwiseGrain, [&](const int64_t* off, int64_t n) STRATA_KERNEL_LOOP {
      for (int64_t i = 0; i < n; ++i) o[off[0] + i * so] = v;
    });
  });
}

void copy_kernel(const View& src, const View& dst) {
  if (src.dtype == dst.dtype && src.is_contiguous() && dst.is_contiguous()) {
    // An empty tensor has no buffer, and memcpy from or to null is undefined even for 0 bytes (UBSan).
    const size_t nbytes = static_cast<size_t>(src.numel()) * dtype_size(src.dtype);
    if (nbytes) std::memcpy(dst.data, src.data, nbytes);
    return;
  }
  cpu::visit_any(dst.dtype, [&](auto out_tag) {
    using O = decltype(out_tag);
    cpu::visit_any(src.dtype, [&](auto in_tag) {
      using I = decltype(in_tag);
      map1<O, I>(src, dst, [](I x) { return static_cast<O>(x); });
    });
  });
}

void unary_kernel(UnaryOp op, const View& in, const View& out, double p0, double p1) {
  if (op == UnaryOp::LogicalNot) {
    STRATA_CHECK(in.dtype == DType::Bool, "logical_not: expects bool, got ", dtype_name(in.dtype));
    return map1<bool, bool>(in, out, [](bool x) { return !x; });
  }
  cpu::visit_any(in.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      unsupported("unary", static_cast<int>(op), in.dtype);
    } else {
      unary_typed<T>(op, in, out, p0, p1);
    }
  });
}

// f(x) and f'(x) from one evaluation of what they share (sigmoid(x); Phi(x)).
template <class T>
bool unary_with_derivative_typed(UnaryOp op, const View& in, const View& out, const View& derivative) {
  switch (op) {
    case UnaryOp::Silu:
      map1_to2<T>(in, out, derivative, [](T x, T& y, T& d) {
        const T s = cpu::sigmoid(x);
        y = x * s;
        d = silu_derivative(x, s);
      });
      return true;
    case UnaryOp::Gelu:
      map1_to2<T>(in, out, derivative, [](T x, T& y, T& d) {
        const T cdf = gelu_cdf(x);
        y = x * cdf;
        d = cdf + x * gelu_pdf(x);
      });
      return true;
    default: return false;
  }
}

bool unary_with_derivative_kernel(UnaryOp op, const View& in, const View& out, const View& derivative) {
  if (in.dtype == DType::Float32) return unary_with_derivative_typed<float>(op, in, out, derivative);
  if (in.dtype == DType::Float64) return unary_with_derivative_typed<double>(op, in, out, derivative);
  return false;
}

void binary_kernel(BinaryOp op, const View& a, const View& b, const View& out, double p0) {
  cpu::visit_any(a.dtype, [&](auto tag) { binary_typed<decltype(tag)>(op, a, b, out, p0); });
}

void where_kernel(const View& cond, const View& a, const View& b, const View& out) {
  cpu::visit_any(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    const View* views[4] = {&out, &cond, &a, &b};
    StridedLoop<4> loop(views);
    T* o = out.ptr<T>();
    const bool* c = cond.ptr<bool>();
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    const int64_t so = loop.inner_stride(0), sc = loop.inner_stride(1), sa = loop.inner_stride(2),
                  sb = loop.inner_stride(3);
    loop.run(kElementwiseGrain, [&](const int64_t* off, int64_t n) STRATA_KERNEL_LOOP {
      for (int64_t i = 0; i < n; ++i)
        o[off[0] + i * so] = c[off[1] + i * sc] ? pa[off[2] + i * sa] : pb[off[3] + i * sb];
    });
  });
}

}  // namespace

namespace cpu::STRATA_CPU_ISA_NS {

void add_elementwise_kernels(CpuKernelTable& table) {
  table.fill = &fill_kernel;
  table.copy = &copy_kernel;
  table.unary = &unary_kernel;
  table.binary = &binary_kernel;
  table.unary_with_derivative = &unary_with_derivative_kernel;
  table.where = &where_kernel;
}

}  // namespace cpu::STRATA_CPU_ISA_NS

}  // namespace strata
