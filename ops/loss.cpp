// Losses and log-likelihoods. BCE-with-logits and the standard-normal KL run on every VAE step, so
// each is one recorded node that calls the kernels directly; the others are short compositions of
// differentiable ops whose backward comes from those ops.
#include "ops/loss.h"

#include <cmath>
#include <numbers>

#include "engine/creation.h"
#include "ops/activation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata {

using detail::backend_of;
using detail::broadcast_view;

namespace {

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::None:
      return losses;
    case Reduction::Mean:
      return mean(losses);
    case Reduction::Sum:
      return sum(losses);
  }
  return losses;
}

// Losses compare like with like: a broadcast target almost always means a mislaid dimension, so it
// is an error rather than a silent expansion.
void check_same_shape(const char* op, const Tensor& input, const char* input_name, const Tensor& target,
                      const char* target_name) {
  detail::check_defined(op, input, input_name);
  detail::check_defined(op, target, target_name);
  detail::check_floating(op, input);
  detail::check_same_dtype(op, input, target);
  STRATA_CHECK(input.shape() == target.shape(), op, ": ", input_name, " ", shape_str(input.shape()), " and ",
               target_name, " ", shape_str(target.shape()),
               " must have the same shape (losses do not broadcast)");
  common_device(op, {&input, &target});
}

// Elementwise functions of several floating tensors of one dtype; returns their broadcast shape.
Shape check_elementwise(const char* op, std::initializer_list<std::pair<const Tensor*, const char*>> args) {
  const Tensor* first = args.begin()->first;
  Shape shape;
  for (const auto& [t, name] : args) {
    detail::check_defined(op, *t, name);
    detail::check_floating(op, *t);
    detail::check_same_dtype(op, *first, *t);
    shape = t == first ? t->shape() : broadcast_shapes(shape, t->shape(), op);
    common_device(op, {first, t});
  }
  return shape;
}

Tensor bce_with_logits(const char* op, const Tensor& logits, const Tensor& target, Reduction reduction) {
  Backend& backend = backend_of(logits);
  Tensor losses = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  backend.binary(BinaryOp::BceWithLogits, logits.view(), target.view(), losses.view(), 0.0);
  Tensor out;
  {
    NoGradGuard no_grad;  // the node below covers the reduction too
    out = reduce(losses, reduction);
  }
  if (!needs_grad(logits, target)) return out;
  const double scale = reduction == Reduction::Mean ? 1.0 / static_cast<double>(logits.numel()) : 1.0;
  record(op, out, {&logits, &target},
         [sx = SavedTensor(logits), sy = SavedTensor(target), gx = logits.requires_grad(),
          gy = target.requires_grad(), scale, reduction](const Tensor& g) -> std::vector<Tensor> {
           const Tensor& x = sx.get();
           const Tensor& y = sy.get();
           Backend& be = backend_for(x.device());
           Tensor grad_x, grad_y;
           if (reduction == Reduction::None) {
             // g differs per element: the fused kernel runs at unit scale and g multiplies in place.
             if (gx) {
               grad_x = Tensor::empty(x.shape(), x.dtype(), x.device());
               be.binary(BinaryOp::BceWithLogitsBackward, x.view(), y.view(), grad_x.view(), 1.0);
               be.binary(BinaryOp::Mul, grad_x.view(), g.view(), grad_x.view(), 0.0);
             }
             if (gy) grad_y = mul(neg(x), g);
           } else {
             // A reduced loss sends back one number; folding it into the kernel's scale makes the
             // logits gradient a single pass over the batch.
             const double s = g.item<double>() * scale;
             if (gx) {
               grad_x = Tensor::empty(x.shape(), x.dtype(), x.device());
               be.binary(BinaryOp::BceWithLogitsBackward, x.view(), y.view(), grad_x.view(), s);
             }
             if (gy) {
               grad_y = Tensor::empty(x.shape(), x.dtype(), x.device());
               be.unary(UnaryOp::MulScalar, x.view(), grad_y.view(), -s, 0.0);
             }
           }
           return {grad_x, grad_y};
         });
  return out;
}

// Checks [N, C] scores against [N] int64 class indices, including each index's range (the gather
// kernel would only say "index out of range", not which loss or how many classes).
void check_class_targets(const char* op, const Tensor& scores, const Tensor& target) {
  detail::check_defined(op, scores, "input");
  detail::check_defined(op, target, "target");
  detail::check_floating(op, scores);
  STRATA_CHECK(scores.dim() == 2, op, ": expects input of shape [N, C], got ", shape_str(scores.shape()));
  STRATA_CHECK(target.dtype() == DType::Int64, op, ": target must hold int64 class indices, got ",
               dtype_name(target.dtype()), " with shape ", shape_str(target.shape()));
  STRATA_CHECK(target.dim() == 1 && target.size(0) == scores.size(0), op, ": target ",
               shape_str(target.shape()), " must have shape [", scores.size(0), "] to match input ",
               shape_str(scores.shape()));
  common_device(op, {&scores, &target});
  const int64_t classes = scores.size(1);
  for (int64_t c : target.to_vector<int64_t>())
    STRATA_CHECK(c >= 0 && c < classes, op, ": class index ", c, " is out of range for ", classes,
                 " classes");
}

Tensor nll_unchecked(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  const Tensor picked = gather(log_probs, 1, unsqueeze(target, 1));
  return reduce(neg(squeeze(picked, 1)), reduction);
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("mse_loss", input, "input", target, "target");
  return reduce(square(sub(input, target)), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("l1_loss", input, "input", target, "target");
  return reduce(abs(sub(input, target)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  check_same_shape(op, logits, "logits", target, "target");
  return bce_with_logits(op, logits, target, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
  check_class_targets("cross_entropy", logits, target);
  return nll_unchecked(log_softmax(logits, 1), target, reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  check_class_targets("nll_loss", log_probs, target);
  return nll_unchecked(log_probs, target, reduction);
}

Tensor gaussian_log_likelihood(const Tensor& x, const Tensor& mean, const Tensor& log_var) {
  check_elementwise("gaussian_log_likelihood", {{&x, "x"}, {&mean, "mean"}, {&log_var, "log_var"}});
  const double log_2pi = std::log(2.0 * std::numbers::pi);
  // Multiplying by exp(-log_var) rather than dividing by exp(log_var) keeps one exp and no division.
  const Tensor quad = mul(square(sub(x, mean)), exp(neg(log_var)));
  return mul(add(add(quad, log_var), log_2pi), -0.5);
}

Tensor bernoulli_log_likelihood(const Tensor& x, const Tensor& logits) {
  const char* op = "bernoulli_log_likelihood";
  check_same_shape(op, logits, "logits", x, "x");
  return neg(bce_with_logits(op, logits, x, Reduction::None));
}

Tensor kl_diag_gaussians(const Tensor& mu_q, const Tensor& logvar_q, const Tensor& mu_p,
                         const Tensor& logvar_p) {
  check_elementwise("kl_diag_gaussians",
                    {{&mu_q, "mu_q"}, {&logvar_q, "logvar_q"}, {&mu_p, "mu_p"}, {&logvar_p, "logvar_p"}});
  // 0.5 (exp(d) - 1 - d + (mu_q - mu_p)^2 / var_p) with d = logvar_q - logvar_p: expm1(d) - d keeps
  // full precision as q approaches p, where the KL itself goes to zero.
  const Tensor d = sub(logvar_q, logvar_p);
  const Tensor mean_term = mul(square(sub(mu_q, mu_p)), exp(neg(logvar_p)));
  return mul(add(sub(expm1(d), d), mean_term), 0.5);
}

Tensor kl_standard_normal(const Tensor& mu, const Tensor& logvar) {
  const char* op = "kl_standard_normal";
  const Shape shape = check_elementwise(op, {{&mu, "mu"}, {&logvar, "logvar"}});
  Backend& be = backend_of(mu);
  // 0.5 (expm1(logvar) - logvar + mu^2): the same value as the header's formula, but accurate for a
  // posterior close to the prior; five small passes and one node instead of a node per step.
  Tensor em1 = Tensor::empty(logvar.shape(), logvar.dtype(), logvar.device());
  be.unary(UnaryOp::Expm1, logvar.view(), em1.view(), 0.0, 0.0);
  Tensor out = Tensor::empty(shape, mu.dtype(), mu.device());
  const View mu_b = broadcast_view(mu, shape);
  be.binary(BinaryOp::Mul, mu_b, mu_b, out.view(), 0.0);
  be.binary(BinaryOp::Add, out.view(), broadcast_view(em1, shape), out.view(), 0.0);
  be.binary(BinaryOp::Sub, out.view(), broadcast_view(logvar, shape), out.view(), 0.0);
  be.unary(UnaryOp::MulScalar, out.view(), out.view(), 0.5, 0.0);
  if (needs_grad(mu, logvar)) {
    record(op, out, {&mu, &logvar},
           [smu = SavedTensor(mu), sem1 = SavedTensor(em1), gm = mu.requires_grad(),
            gl = logvar.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
             const Tensor& m = smu.get();
             const Tensor& e = sem1.get();
             // d/dmu = mu, d/dlogvar = 0.5 (exp(logvar) - 1)
             return {gm ? sum_to(mul(g, m), m.shape()) : Tensor(),
                     gl ? sum_to(mul(mul(g, e), 0.5), e.shape()) : Tensor()};
           });
  }
  return out;
}

}  // namespace strata
