// Matrix products. One primitive, the batched product of [B, n, k] and [B, k, m] operands (B may
// be 1, batch strides may be 0), maps straight onto Backend::gemm; every public op reduces to it,
// and its backward is two more products of the same kind on transposed views (no copies).
#include "ops/linalg.h"

#include <array>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata {

using detail::backend_of;

namespace {

// How a [rows, cols] matrix (or a batch of them) is laid out for BLAS.
struct GemmOperand {
  Tensor tensor;  // possibly a contiguous copy
  bool trans = false;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// x is 3-D [B, rows, cols]. BLAS takes a row-major matrix with unit column stride, or its
// transpose; anything else is copied.
GemmOperand gemm_operand(const Tensor& x) {
  const int64_t rows = x.shape()[1], cols = x.shape()[2];
  const int64_t s0 = x.strides()[1], s1 = x.strides()[2];
  const int64_t sb = x.shape()[0] == 1 ? 0 : x.strides()[0];
  if ((s1 == 1 || cols == 1) && s0 >= std::max<int64_t>(cols, 1)) return {x, false, s0, sb};
  if ((s0 == 1 || rows == 1) && s1 >= std::max<int64_t>(rows, 1)) return {x, true, s1, sb};
  Tensor c = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend_of(x).copy(x.view(), c.view());
  return {c, false, std::max<int64_t>(cols, 1), x.shape()[0] == 1 ? 0 : rows * cols};
}

// The backend call for c[b] = alpha * a[b] @ b[b] + beta * c[b], with c a fresh contiguous
// [B, n, m] tensor. A and B must outlive the call (they may hold contiguous copies).
GemmCall gemm_call(const GemmOperand& A, const GemmOperand& B, const Tensor& c3, double alpha, double beta) {
  const int64_t batch = c3.shape()[0], n = c3.shape()[1], m = c3.shape()[2], k = A.tensor.shape()[2];
  return GemmCall{.dtype = c3.dtype(),
                  .trans_a = A.trans,
                  .trans_b = B.trans,
                  .m = n,
                  .n = m,
                  .k = k,
                  .alpha = alpha,
                  .a = A.tensor.raw_data(),
                  .lda = A.ld,
                  .stride_a = A.batch_stride,
                  .b = B.tensor.raw_data(),
                  .ldb = B.ld,
                  .stride_b = B.batch_stride,
                  .beta = beta,
                  .c = c3.raw_data(),
                  .ldc = std::max<int64_t>(m, 1),
                  .stride_c = n * m,
                  .batch = batch};
}

void gemm_into(const Tensor& a3, const Tensor& b3, const Tensor& c3, double alpha, double beta) {
  const GemmOperand A = gemm_operand(a3), B = gemm_operand(b3);
  const GemmCall call = gemm_call(A, B, c3, alpha, beta);
  backend_of(c3).gemm_group(&call, 1);
}

// Whether the matrix dims (the last two) of x are laid out transposed: unit stride down the
// rows, as t(weight) in a Linear layer. The gradient of such an operand is computed transposed
// (G^T A rather than A^T G), so it reaches the tensor x is a view of contiguous and can become
// its .grad without a copy.
bool transposed_layout(const Tensor& x) {
  const int64_t d = x.dim();
  const int64_t rows = x.shape()[d - 2], cols = x.shape()[d - 1];
  return rows > 1 && cols > 1 && x.strides()[d - 2] == 1 && x.strides()[d - 1] == rows;
}

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  detail::check_defined(op, a, "first operand");
  detail::check_defined(op, b, "second operand");
  detail::check_same_dtype(op, a, b);
  detail::check_floating(op, a);
  common_device(op, {&a, &b});
}

// The [B, n, m] result of a [B, n, k] by [B, k, m] product (either batch may be 1, broadcast).
Tensor bmm_output(const char* op, const Tensor& a, const Tensor& b) {
  const int64_t ba = a.shape()[0], bb = b.shape()[0];
  STRATA_CHECK(a.shape()[2] == b.shape()[1] && (ba == bb || ba == 1 || bb == 1), op, ": shapes ",
               shape_str(a.shape()), " and ", shape_str(b.shape()), " do not match");
  const int64_t batch = ba == 1 ? bb : ba;  // not max(): a batch of 0 against 1 is empty
  return Tensor::empty({batch, a.shape()[1], b.shape()[2]}, a.dtype(), a.device());
}

// One gradient product of a backward pass, lhs @ rhs on 3-D operands; `transposed` says the
// gradient is the product's transpose (computed so for an operand in transposed_layout).
struct GradProduct {
  Tensor lhs, rhs;
  bool transposed = false;
};

// The gradient products of one backward pass, issued to the backend as one group, which may run
// them side by side: each writes its own fresh output. Backward runs without recording (it
// builds no higher-order graph), so none of these needs a graph node of its own.
std::vector<Tensor> grad_products(const char* op, const std::vector<GradProduct>& products) {
  std::vector<GemmOperand> operands;
  operands.reserve(2 * products.size());  // the calls point into these until the group has run
  std::vector<GemmCall> calls;
  std::vector<Tensor> grads;
  for (const GradProduct& p : products) {
    STRATA_CHECK(!needs_grad(p.lhs, p.rhs), op, ": gradient products are computed without recording");
    Tensor out = bmm_output(op, p.lhs, p.rhs);
    operands.push_back(gemm_operand(p.lhs));
    operands.push_back(gemm_operand(p.rhs));
    calls.push_back(gemm_call(operands[operands.size() - 2], operands.back(), out, 1.0, 0.0));
    grads.push_back(p.transposed ? transpose(out, 1, 2) : out);
  }
  if (!calls.empty()) backend_of(grads.front()).gemm_group(calls.data(), calls.size());
  return grads;
}

// The gradients of A and B in A @ B (3-D) from the output's gradient g, those asked for (the
// other undefined): grad_A = G B^T and grad_B = A^T G of d(A B) = dA B + A dB, each computed
// transposed when its operand is laid out so.
std::array<Tensor, 2> product_grads(const char* op, const Tensor& g, const Tensor& A, const Tensor& B, bool need_a,
                                    bool need_b) {
  std::vector<GradProduct> products;
  if (need_a)
    products.push_back(transposed_layout(A) ? GradProduct{B, transpose(g, 1, 2), true}
                                            : GradProduct{g, transpose(B, 1, 2), false});
  if (need_b)
    products.push_back(transposed_layout(B) ? GradProduct{transpose(g, 1, 2), A, true}
                                            : GradProduct{transpose(A, 1, 2), g, false});
  const std::vector<Tensor> grads = grad_products(op, products);
  return {need_a ? grads.front() : Tensor(), need_b ? grads.back() : Tensor()};
}

// The batched product primitive on 3-D operands with equal batch sizes (or 1, broadcast).
Tensor bmm_impl(const char* op, const Tensor& a, const Tensor& b) {
  Tensor out = bmm_output(op, a, b);
  gemm_into(a, b, out, 1.0, 0.0);
  if (needs_grad(a, b)) {
    record(op, out, {&a, &b},
           [sa = SavedTensor(a), sb = SavedTensor(b), ga = a.requires_grad(), gb = b.requires_grad(),
            op](const Tensor& g) -> std::vector<Tensor> {
             const Tensor& A = sa.get();
             const Tensor& B = sb.get();
             const auto [grad_a, grad_b] = product_grads(op, g, A, B, ga, gb);
             // A broadcast batch sums back.
             return {ga ? sum_to(grad_a, A.shape()) : Tensor(), gb ? sum_to(grad_b, B.shape()) : Tensor()};
           });
  }
  return out;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  STRATA_CHECK(a.shape()[1] == b.shape()[0], "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
               " do not match (", a.shape()[1], " != ", b.shape()[0], ")");
  return squeeze(bmm_impl("matmul", unsqueeze(a, 0), unsqueeze(b, 0)), 0);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b);
  STRATA_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must have at least one dim, got shapes ",
               shape_str(a.shape()), " and ", shape_str(b.shape()));
  if (a.dim() == 1 && b.dim() == 1) return dot(a, b);
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, -1)), -1);
  const int64_t n = a.size(-2), k = a.size(-1), k2 = b.size(-2), m = b.size(-1);
  STRATA_CHECK(k == k2, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()), " do not match (",
               k, " != ", k2, ")");
  if (b.dim() == 2) {  // [..., n, k] @ [k, m]: one big product over all rows
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(m);
    return reshape(mm(reshape(a, {-1, k}), b), out_shape);
  }
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const int64_t nb = numel_of(batch);
  auto as_3d = [&](const Tensor& x, const Shape& own_batch, int64_t r, int64_t c) {
    if (own_batch.empty() || numel_of(own_batch) == 1) return reshape(x, {1, r, c});
    Shape full = batch;
    full.push_back(r);
    full.push_back(c);
    return reshape(expand(x, full), {nb, r, c});
  };
  Tensor out = bmm_impl("matmul", as_3d(a, batch_a, n, k), as_3d(b, batch_b, k, m));
  Shape out_shape = batch;
  out_shape.push_back(n);
  out_shape.push_back(m);
  return reshape(out, out_shape);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands("bmm", a, b);
  STRATA_CHECK(a.dim() == 3 && b.dim() == 3 && a.shape()[0] == b.shape()[0], "bmm: expects [B, n, k] and [B, k, m], got ",
               shape_str(a.shape()), " and ", shape_str(b.shape()));
  return bmm_impl("bmm", a, b);
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha) {
  check_operands("addmm", a, b);
  detail::check_defined("addmm", bias, "bias");
  detail::check_same_dtype("addmm", bias, a);
  common_device("addmm", {&bias, &a});
  STRATA_CHECK(a.dim() == 2 && b.dim() == 2 && a.shape()[1] == b.shape()[0], "addmm: shapes ", shape_str(a.shape()),
               " and ", shape_str(b.shape()), " do not match");
  const Shape shape{a.shape()[0], b.shape()[1]};
  STRATA_CHECK(broadcast_shapes(bias.shape(), shape, "addmm") == shape, "addmm: bias of shape ",
               shape_str(bias.shape()), " does not broadcast to the product's shape ", shape_str(shape));
  Tensor out = Tensor::empty(shape, a.dtype(), a.device());
  backend_of(a).copy(detail::broadcast_view(bias, shape), out.view());
  const Tensor a3 = Tensor::make_view(a, {1, shape[0], a.shape()[1]}, {0, a.strides()[0], a.strides()[1]}, a.offset());
  const Tensor b3 = Tensor::make_view(b, {1, b.shape()[0], shape[1]}, {0, b.strides()[0], b.strides()[1]}, b.offset());
  const Tensor c3 = Tensor::make_view(out, {1, shape[0], shape[1]}, {0, shape[1], 1}, 0);
  gemm_into(a3, b3, c3, alpha, beta);
  if (needs_grad(bias, a, b)) {
    record("addmm", out, {&bias, &a, &b},
           [sa = SavedTensor(a), sb = SavedTensor(b), bias_shape = bias.shape(), beta, alpha,
            need = std::array<bool, 3>{bias.requires_grad(), a.requires_grad(), b.requires_grad()}](
               const Tensor& g) -> std::vector<Tensor> {
             Tensor grad_bias;
             if (need[0]) grad_bias = sum_to(beta == 1.0 ? g : mul(g, beta), bias_shape);
             // As products of one batch. B is t(weight) in every Linear layer, so its gradient
             // is computed transposed and becomes the weight's .grad without a copy.
             const Tensor ga = alpha == 1.0 ? g : mul(g, alpha);
             const auto [grad_a, grad_b] = product_grads("addmm", unsqueeze(ga, 0), unsqueeze(sa.get(), 0),
                                                         unsqueeze(sb.get(), 0), need[1], need[2]);
             return {grad_bias, need[1] ? squeeze(grad_a, 0) : Tensor(), need[2] ? squeeze(grad_b, 0) : Tensor()};
           });
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_defined("linear", x, "input");
  detail::check_defined("linear", weight, "weight");
  STRATA_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.shape()[1], "linear: input of shape ",
               shape_str(x.shape()), " does not match weight of shape ", shape_str(weight.shape()),
               " (expected last dim ", weight.dim() == 2 ? weight.shape()[1] : -1, ")");
  STRATA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.shape()[0] == weight.shape()[0]), "linear: bias of shape ",
               shape_str(bias.defined() ? bias.shape() : Shape{}), " does not match weight of shape ",
               shape_str(weight.shape()));
  const Tensor x2 = x.dim() == 2 ? x : reshape(x, {-1, x.size(-1)});
  Tensor out = bias.defined() ? addmm(bias, x2, t(weight)) : matmul(x2, t(weight));
  if (x.dim() == 2) return out;
  Shape shape(x.shape().begin(), x.shape().end() - 1);
  shape.push_back(weight.shape()[0]);
  return reshape(out, shape);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_operands("outer", a, b);
  STRATA_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expects 1-D tensors, got ", shape_str(a.shape()), " and ",
               shape_str(b.shape()));
  return mm(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor dot(const Tensor& a, const Tensor& b) {
  check_operands("dot", a, b);
  STRATA_CHECK(a.dim() == 1 && b.dim() == 1 && a.shape()[0] == b.shape()[0], "dot: expects 1-D tensors of equal "
               "length, got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), {});
}

}  // namespace strata
