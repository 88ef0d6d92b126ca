// Elementwise ops: each forward is one kernel call, its backward is written right below it.
#include "ops/elementwise.h"

#include <cmath>
#include <limits>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/reduction.h"

namespace strata {

using detail::backend_of;
using detail::broadcast_view;

namespace {

// out = op(a, b) with broadcasting; no graph.
Tensor binary_forward(const char* name, BinaryOp op, const Tensor& a, const Tensor& b, DType out_dtype,
                      double p0 = 0.0) {
  detail::check_defined(name, a, "first operand");
  detail::check_defined(name, b, "second operand");
  detail::check_same_dtype(name, a, b);
  const Device device = common_device(name, {&a, &b});
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, out_dtype, device);
  backend_for(device).binary(op, broadcast_view(a, shape), broadcast_view(b, shape), out.view(), p0);
  return out;
}

// Arithmetic: the result has the operands' dtype, which must be a number type.
Tensor binary_forward(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  detail::check_defined(name, a, "first operand");
  detail::check_defined(name, b, "second operand");
  STRATA_CHECK(a.dtype() != DType::Bool && b.dtype() != DType::Bool, name, ": arithmetic on bool tensors (shapes ",
               shape_str(a.shape()), " and ", shape_str(b.shape()), ") is not supported; convert with to_dtype()");
  return binary_forward(name, op, a, b, a.dtype());
}

Tensor unary_forward(const char* name, UnaryOp op, const Tensor& x, double p0 = 0.0, double p1 = 0.0,
                     DType out_dtype = DType::Float32, bool keep_dtype = true) {
  detail::check_defined(name, x, "input");
  STRATA_CHECK(op == UnaryOp::LogicalNot || !keep_dtype || x.dtype() != DType::Bool, name,
               ": arithmetic on a bool tensor (shape ", shape_str(x.shape()),
               ") is not supported; convert with to_dtype()");
  Tensor out = Tensor::empty(x.shape(), keep_dtype ? x.dtype() : out_dtype, x.device());
  backend_of(x).unary(op, x.view(), out.view(), p0, p1);
  return out;
}

// Unary op whose kernel only makes sense for floats.
Tensor float_unary(const char* name, UnaryOp op, const Tensor& x, double p0 = 0.0, double p1 = 0.0) {
  detail::check_defined(name, x, "input");
  detail::check_floating(name, x);
  return unary_forward(name, op, x, p0, p1);
}

Tensor compare(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  return binary_forward(name, op, a, b, DType::Bool);
}

Tensor compare_scalar(const char* name, UnaryOp op, const Tensor& a, double s) {
  STRATA_CHECK(a.dtype() != DType::Bool, name, ": cannot compare a bool tensor with a number");
  return unary_forward(name, op, a, s, 0.0, DType::Bool, false);
}

}  // namespace

// --- tensor-tensor arithmetic ---

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("add", BinaryOp::Add, a, b);
  if (needs_grad(a, b)) {
    record("add", out, {&a, &b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) -> std::vector<Tensor> {
      return {sum_to(g, sa), sum_to(g, sb)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("sub", BinaryOp::Sub, a, b);
  if (needs_grad(a, b)) {
    record("sub", out, {&a, &b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) -> std::vector<Tensor> {
      return {sum_to(g, sa), sum_to(neg(g), sb)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("mul", BinaryOp::Mul, a, b);
  if (needs_grad(a, b)) {
    const bool ga = a.requires_grad(), gb = b.requires_grad();
    record("mul", out, {&a, &b},
           [sa = SavedTensor(gb ? a : Tensor()), sb = SavedTensor(ga ? b : Tensor()), ga, gb,
            shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) -> std::vector<Tensor> {
             return {ga ? sum_to(mul(g, sb.get()), shape_a) : Tensor(),
                     gb ? sum_to(mul(g, sa.get()), shape_b) : Tensor()};
           });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("div", BinaryOp::Div, a, b);
  if (needs_grad(a, b)) {
    record("div", out, {&a, &b},
           [sa = SavedTensor(a), sb = SavedTensor(b), ga = a.requires_grad(),
            gb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             const Tensor& A = sa.get();
             const Tensor& B = sb.get();
             // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
             return {ga ? sum_to(div(g, B), A.shape()) : Tensor(),
                     gb ? sum_to(neg(div(mul(g, A), mul(B, B))), B.shape()) : Tensor()};
           });
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  detail::check_defined("pow", a, "base");
  detail::check_floating("pow", a);
  Tensor out = binary_forward("pow", BinaryOp::Pow, a, b);
  if (needs_grad(a, b)) {
    record("pow", out, {&a, &b},
           [sa = SavedTensor(a), sb = SavedTensor(b), so = SavedTensor(out), ga = a.requires_grad(),
            gb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             const Tensor& A = sa.get();
             const Tensor& B = sb.get();
             // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log(a) (taken as 0 where a == 0, as PyTorch)
             Tensor grad_a, grad_b;
             if (ga) grad_a = sum_to(mul(g, mul(B, pow(A, sub(B, ones_like(B))))), A.shape());
             if (gb) {
               Tensor log_a = where(eq(A, 0.0), zeros_like(A), log(A));
               grad_b = sum_to(mul(g, mul(so.get(), log_a)), B.shape());
             }
             return {grad_a, grad_b};
           });
  }
  return out;
}

namespace {
Tensor extremum(const char* name, BinaryOp op, BinaryOp pick_a, const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(name, op, a, b);
  if (needs_grad(a, b)) {
    record(name, out, {&a, &b},
           [sa = SavedTensor(a), sb = SavedTensor(b), pick_a](const Tensor& g) -> std::vector<Tensor> {
             const Tensor& A = sa.get();
             const Tensor& B = sb.get();
             // The gradient goes to the chosen operand; ties go to a.
             Tensor mask_a = binary_forward("maximum backward", pick_a, A, B, DType::Bool);
             Tensor zero = zeros_like(g);
             return {sum_to(where(mask_a, g, zero), A.shape()), sum_to(where(mask_a, zero, g), B.shape())};
           });
  }
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum("maximum", BinaryOp::Maximum, BinaryOp::Ge, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum("minimum", BinaryOp::Minimum, BinaryOp::Le, a, b); }

// --- tensor-scalar arithmetic ---

Tensor add(const Tensor& a, double s) {
  Tensor out = unary_forward("add", UnaryOp::AddScalar, a, s);
  if (needs_grad(a)) record("add", out, {&a}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  return out;
}

Tensor sub(const Tensor& a, double s) { return add(a, -s); }

Tensor rsub(double s, const Tensor& a) {
  Tensor out = unary_forward("rsub", UnaryOp::RsubScalar, a, s);
  if (needs_grad(a)) record("rsub", out, {&a}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
  return out;
}

Tensor mul(const Tensor& a, double s) {
  Tensor out = unary_forward("mul", UnaryOp::MulScalar, a, s);
  if (needs_grad(a)) record("mul", out, {&a}, [s](const Tensor& g) -> std::vector<Tensor> { return {mul(g, s)}; });
  return out;
}

Tensor div(const Tensor& a, double s) {
  Tensor out = float_unary("div", UnaryOp::DivScalar, a, s);
  if (needs_grad(a)) record("div", out, {&a}, [s](const Tensor& g) -> std::vector<Tensor> { return {div(g, s)}; });
  return out;
}

Tensor rdiv(double s, const Tensor& a) {
  Tensor out = float_unary("rdiv", UnaryOp::RdivScalar, a, s);
  if (needs_grad(a)) {
    record("rdiv", out, {&a}, [sa = SavedTensor(a), s](const Tensor& g) -> std::vector<Tensor> {
      const Tensor& A = sa.get();
      return {mul(g, rdiv(-s, mul(A, A)))};  // d(s/a)/da = -s / a^2
    });
  }
  return out;
}

Tensor pow(const Tensor& a, double exponent) {
  Tensor out = float_unary("pow", UnaryOp::PowScalar, a, exponent);
  if (needs_grad(a)) {
    record("pow", out, {&a}, [sa = SavedTensor(a), exponent](const Tensor& g) -> std::vector<Tensor> {
      if (exponent == 0.0) return {zeros_like(g)};
      return {mul(g, mul(pow(sa.get(), exponent - 1.0), exponent))};
    });
  }
  return out;
}

Tensor pow(double base, const Tensor& exponent) {
  Tensor out = float_unary("pow", UnaryOp::RpowScalar, exponent, base);
  if (needs_grad(exponent)) {
    STRATA_CHECK(base > 0, "pow: the gradient of base^x needs a positive base, got ", base);
    record("pow", out, {&exponent}, [so = SavedTensor(out), base](const Tensor& g) -> std::vector<Tensor> {
      return {mul(g, mul(so.get(), std::log(base)))};
    });
  }
  return out;
}

// --- unary math ---

Tensor neg(const Tensor& x) {
  Tensor out = unary_forward("neg", UnaryOp::Neg, x);
  if (needs_grad(x)) record("neg", out, {&x}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = float_unary("exp", UnaryOp::Exp, x);
  if (needs_grad(x))
    record("exp", out, {&x}, [so = SavedTensor(out)](const Tensor& g) -> std::vector<Tensor> {
      return {mul(g, so.get())};
    });
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = float_unary("log", UnaryOp::Log, x);
  if (needs_grad(x))
    record("log", out, {&x}, [sx = SavedTensor(x)](const Tensor& g) -> std::vector<Tensor> {
      return {div(g, sx.get())};
    });
  return out;
}

Tensor log1p(const Tensor& x) {
  Tensor out = float_unary("log1p", UnaryOp::Log1p, x);
  if (needs_grad(x))
    record("log1p", out, {&x}, [sx = SavedTensor(x)](const Tensor& g) -> std::vector<Tensor> {
      return {div(g, add(sx.get(), 1.0))};
    });
  return out;
}

Tensor expm1(const Tensor& x) {
  Tensor out = float_unary("expm1", UnaryOp::Expm1, x);
  if (needs_grad(x))
    record("expm1", out, {&x}, [so = SavedTensor(out)](const Tensor& g) -> std::vector<Tensor> {
      return {mul(g, add(so.get(), 1.0))};
    });
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = float_unary("sqrt", UnaryOp::Sqrt, x);
  if (needs_grad(x))
    record("sqrt", out, {&x}, [so = SavedTensor(out)](const Tensor& g) -> std::vector<Tensor> {
      return {div(g, mul(so.get(), 2.0))};
    });
  return out;
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = float_unary("rsqrt", UnaryOp::Rsqrt, x);
  if (needs_grad(x))
    record("rsqrt", out, {&x}, [so = SavedTensor(out)](const Tensor& g) -> std::vector<Tensor> {
      const Tensor& y = so.get();  // d(x^-1/2)/dx = -1/2 x^-3/2 = -1/2 y^3
      return {mul(g, mul(mul(y, mul(y, y)), -0.5))};
    });
  return out;
}

Tensor square(const Tensor& x) {
  Tensor out = unary_forward("square", UnaryOp::Square, x);
  if (needs_grad(x))
    record("square", out, {&x}, [sx = SavedTensor(x)](const Tensor& g) -> std::vector<Tensor> {
      return {mul(g, mul(sx.get(), 2.0))};
    });
  return out;
}

Tensor reciprocal(const Tensor& x) { return rdiv(1.0, x); }

Tensor abs(const Tensor& x) {
  Tensor out = unary_forward("abs", UnaryOp::Abs, x);
  if (needs_grad(x))
    record("abs", out, {&x}, [sx = SavedTensor(x)](const Tensor& g) -> std::vector<Tensor> {
      return {mul(g, sign(sx.get()))};
    });
  return out;
}

Tensor sign(const Tensor& x) {
  Tensor out = unary_forward("sign", UnaryOp::Sign, x);
  if (needs_grad(x))
    record("sign", out, {&x}, [](const Tensor& g) -> std::vector<Tensor> { return {zeros_like(g)}; });
  return out;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  STRATA_CHECK(!(lo > hi), "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  Tensor out = unary_forward("clamp", UnaryOp::Clamp, x, lo, hi);
  if (needs_grad(x))
    record("clamp", out, {&x}, [sx = SavedTensor(x), lo, hi](const Tensor& g) -> std::vector<Tensor> {
      const Tensor& X = sx.get();
      Tensor inside = logical_and(ge(X, lo), le(X, hi));
      return {where(inside, g, zeros_like(g))};
    });
  return out;
}

Tensor clamp_min(const Tensor& x, double lo) { return clamp(x, lo, std::numeric_limits<double>::infinity()); }
Tensor clamp_max(const Tensor& x, double hi) { return clamp(x, -std::numeric_limits<double>::infinity(), hi); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_defined("where", cond, "condition");
  STRATA_CHECK(cond.dtype() == DType::Bool, "where: the condition must be bool, got ", dtype_name(cond.dtype()));
  detail::check_same_dtype("where", a, b);
  const Device device = common_device("where", {&cond, &a, &b});
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::empty(shape, a.dtype(), device);
  backend_for(device).where(broadcast_view(cond, shape), broadcast_view(a, shape), broadcast_view(b, shape),
                            out.view());
  if (needs_grad(a, b)) {
    record("where", out, {&a, &b},
           [sc = SavedTensor(cond), sa = a.shape(), sb = b.shape()](const Tensor& g) -> std::vector<Tensor> {
             Tensor zero = zeros_like(g);
             return {sum_to(where(sc.get(), g, zero), sa), sum_to(where(sc.get(), zero, g), sb)};
           });
  }
  return out;
}

// --- comparisons and logic ---

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", BinaryOp::Ge, a, b); }
Tensor eq(const Tensor& a, double s) { return compare_scalar("eq", UnaryOp::EqScalar, a, s); }
Tensor ne(const Tensor& a, double s) { return compare_scalar("ne", UnaryOp::NeScalar, a, s); }
Tensor lt(const Tensor& a, double s) { return compare_scalar("lt", UnaryOp::LtScalar, a, s); }
Tensor le(const Tensor& a, double s) { return compare_scalar("le", UnaryOp::LeScalar, a, s); }
Tensor gt(const Tensor& a, double s) { return compare_scalar("gt", UnaryOp::GtScalar, a, s); }
Tensor ge(const Tensor& a, double s) { return compare_scalar("ge", UnaryOp::GeScalar, a, s); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  STRATA_CHECK(a.dtype() == DType::Bool && b.dtype() == DType::Bool, "logical_and: expects bool tensors, got ",
               dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  return binary_forward("logical_and", BinaryOp::LogicalAnd, a, b, DType::Bool);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  STRATA_CHECK(a.dtype() == DType::Bool && b.dtype() == DType::Bool, "logical_or: expects bool tensors, got ",
               dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  return binary_forward("logical_or", BinaryOp::LogicalOr, a, b, DType::Bool);
}
Tensor logical_not(const Tensor& a) {
  STRATA_CHECK(a.dtype() == DType::Bool, "logical_not: expects a bool tensor, got ", dtype_name(a.dtype()));
  return unary_forward("logical_not", UnaryOp::LogicalNot, a);
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  detail::check_defined("to_dtype", x, "input");
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  backend_of(x).copy(x.view(), out.view());
  if (needs_grad(x) && is_floating(dtype)) {
    record("to_dtype", out, {&x}, [from = x.dtype()](const Tensor& g) -> std::vector<Tensor> {
      return {to_dtype(g, from)};
    });
  }
  return out;
}

// --- operators ---

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return div(a, s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }

// --- in place ---

namespace {
void check_inplace(const char* op, const Tensor& self) {
  detail::check_defined(op, self, "tensor");
  STRATA_CHECK(!(GradMode::enabled() && self.requires_grad()), op, ": a tensor that requires grad (shape ",
               shape_str(self.shape()), ") cannot be modified in place while grad mode is on; use NoGradGuard "
               "(as optimizers do) or an out-of-place op");
}
}  // namespace

Tensor& add_(Tensor& self, const Tensor& other, double alpha) {
  check_inplace("add_", self);
  detail::check_same_dtype("add_", self, other);
  common_device("add_", {&self, &other});
  const Shape shape = broadcast_shapes(self.shape(), other.shape(), "add_");
  STRATA_CHECK(shape == self.shape(), "add_: cannot broadcast ", shape_str(other.shape()), " into ",
               shape_str(self.shape()), " in place");
  Backend& be = backend_of(self);
  if (alpha == 1.0) {
    be.binary(BinaryOp::Add, self.view(), broadcast_view(other, shape), self.view(), 0.0);
  } else {
    Tensor scaled = Tensor::empty(other.shape(), other.dtype(), other.device());
    be.unary(UnaryOp::MulScalar, other.view(), scaled.view(), alpha, 0.0);
    be.binary(BinaryOp::Add, self.view(), broadcast_view(scaled, shape), self.view(), 0.0);
  }
  self.bump_version();
  return self;
}

Tensor& mul_(Tensor& self, double s) {
  check_inplace("mul_", self);
  backend_of(self).unary(UnaryOp::MulScalar, self.view(), self.view(), s, 0.0);
  self.bump_version();
  return self;
}

Tensor& fill_(Tensor& self, double value) {
  check_inplace("fill_", self);
  backend_of(self).fill(self.view(), value);
  self.bump_version();
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, 0.0); }

Tensor& copy_(Tensor& self, const Tensor& src) {
  check_inplace("copy_", self);
  common_device("copy_", {&self, &src});
  const Shape shape = broadcast_shapes(self.shape(), src.shape(), "copy_");
  STRATA_CHECK(shape == self.shape(), "copy_: cannot broadcast ", shape_str(src.shape()), " into ",
               shape_str(self.shape()));
  backend_of(self).copy(broadcast_view(src, shape), self.view());
  self.bump_version();
  return self;
}

}  // namespace strata
