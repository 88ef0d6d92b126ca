// Activations: one forward kernel each and a fused derivative kernel for the backward; SiLU and GELU
// save their derivative from the forward where the backend computes both in one pass.
#include "ops/activation.h"

#include <limits>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata {

using detail::backend_of;

namespace {

// What the backward of an activation reads: its input, its output (sigmoid, tanh), or f'(x) saved
// by the forward (SiLU, GELU), where the backend computes f and f' in one pass (the CPU does): the
// backward is then one multiply, not a second evaluation of sigmoid or erf, and the saved tensor is
// the size x would have been. A backend without that kernel saves the input instead.
enum class Save { Input, Output, Derivative };

// y = f(x) with dx = f'(.) * dy computed by `backward_op` from what `save` names.
Tensor activation(const char* name, UnaryOp forward_op, BinaryOp backward_op, const Tensor& x, Save save,
                  double p0 = 0.0) {
  detail::check_defined(name, x, "input");
  detail::check_floating(name, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (save == Save::Derivative && needs_grad(x)) {
    // On a backend without the fused kernel this buffer goes back unused (one cached allocation).
    Tensor derivative = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (backend_of(x).unary_with_derivative(forward_op, x.view(), out.view(), derivative.view())) {
      record(name, out, {&x}, [saved = SavedTensor(derivative)](const Tensor& g) -> std::vector<Tensor> {
        const Tensor& d = saved.get();
        Tensor grad = Tensor::empty(d.shape(), d.dtype(), d.device());
        backend_for(d.device()).binary(BinaryOp::Mul, g.view(), d.view(), grad.view(), 0.0);
        return {grad};
      });
      return out;
    }
  }
  backend_of(x).unary(forward_op, x.view(), out.view(), p0, 0.0);
  if (needs_grad(x)) {
    record(name, out, {&x},
           [saved = SavedTensor(save == Save::Output ? out : x), backward_op, p0](const Tensor& g)
               -> std::vector<Tensor> {
             const Tensor& s = saved.get();
             Tensor grad = Tensor::empty(s.shape(), s.dtype(), s.device());
             backend_for(s.device()).binary(backward_op, g.view(), s.view(), grad.view(), p0);
             return {grad};
           });
  }
  return out;
}

Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  detail::check_defined(name, x, "input");
  detail::check_floating(name, x);
  if (x.dim() == 0) return log ? zeros_like(x) : ones_like(x);
  const int d = normalize_dim(dim, x.dim(), name);
  // The kernel works on the last dim of a contiguous tensor: move `dim` there and back.
  const bool last = d == x.dim() - 1;
  const Tensor moved = contiguous(last ? x : transpose(x, d, -1));
  Tensor y = Tensor::empty(moved.shape(), x.dtype(), x.device());
  {
    backend_of(x).softmax(moved.view(), y.view(), log);
  }
  Tensor out = last ? y : transpose(y, d, -1);
  if (needs_grad(x)) {
    // The node is recorded on the moved-layout result and sees the gradient in that layout.
    Tensor result = Tensor::make_view(out, out.shape(), out.strides(), out.offset());
    record(name, result, {&x},
           [sy = SavedTensor(y), d, last, log](const Tensor& g) -> std::vector<Tensor> {
             const Tensor& Y = sy.get();
             const Tensor gm = contiguous(last ? g : transpose(g, d, -1));
             Tensor gi = Tensor::empty(Y.shape(), Y.dtype(), Y.device());
             backend_for(Y.device()).softmax_backward(gm.view(), Y.view(), gi.view(), log);
             return {last ? gi : contiguous(transpose(gi, d, -1))};
           });
    return result;
  }
  return out;
}

}  // namespace

Tensor relu(const Tensor& x) { return activation("relu", UnaryOp::Relu, BinaryOp::ReluBackward, x, Save::Input); }
Tensor leaky_relu(const Tensor& x, double slope) {
  return activation("leaky_relu", UnaryOp::LeakyRelu, BinaryOp::LeakyReluBackward, x, Save::Input, slope);
}
Tensor elu(const Tensor& x, double alpha) {
  return activation("elu", UnaryOp::Elu, BinaryOp::EluBackward, x, Save::Input, alpha);
}
Tensor gelu(const Tensor& x) { return activation("gelu", UnaryOp::Gelu, BinaryOp::GeluBackward, x, Save::Derivative); }
Tensor silu(const Tensor& x) { return activation("silu", UnaryOp::Silu, BinaryOp::SiluBackward, x, Save::Derivative); }
Tensor sigmoid(const Tensor& x) {
  return activation("sigmoid", UnaryOp::Sigmoid, BinaryOp::SigmoidBackward, x, Save::Output);
}
Tensor tanh(const Tensor& x) { return activation("tanh", UnaryOp::Tanh, BinaryOp::TanhBackward, x, Save::Output); }
Tensor softplus(const Tensor& x) {
  return activation("softplus", UnaryOp::Softplus, BinaryOp::SoftplusBackward, x, Save::Input);
}
Tensor log_sigmoid(const Tensor& x) {
  return activation("log_sigmoid", UnaryOp::LogSigmoid, BinaryOp::LogSigmoidBackward, x, Save::Input);
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl("log_softmax", x, dim, true); }

Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined("logsumexp", x, "input");
  detail::check_floating("logsumexp", x);
  normalize_dim(dim, x.dim(), "logsumexp");  // so that a bad dim is reported as ours, not max's
  // log sum exp(x) = m + log sum exp(x - m), with m the (detached) max: exact, and never overflows.
  Tensor m;
  {
    NoGradGuard no_grad;
    m = max(x, dim, true).values;
    m = where(eq(abs(m), std::numeric_limits<double>::infinity()), zeros_like(m), m);
  }
  Tensor out = add(log(sum(exp(sub(x, m)), dim, true)), m);
  return keepdim ? out : squeeze(out, dim);
}

}  // namespace strata
