#include "models/nn/dropout.h"

#include "engine/creation.h"
#include "ops/elementwise.h"

namespace strata::nn {

Dropout::Dropout(double p, Generator* gen) : Module("Dropout"), p_(p), gen_(gen) {
  STRATA_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p must lie in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) {
  STRATA_CHECK(x.defined() && is_floating(x.dtype()), "Dropout: expects a floating-point input, got ",
               x.defined() ? dtype_name(x.dtype()) : "an undefined tensor");
  if (!is_training() || p_ == 0.0) return x;
  if (p_ == 1.0) return mul(x, 0.0);  // keeps the graph (and a zero gradient) as PyTorch does
  // The mask already holds 0 or 1 / (1 - p): one multiply applies both the drop and the rescale.
  const Tensor mask = mul(bernoulli(x.shape(), 1.0 - p_, {x.dtype(), x.device()}, gen_), 1.0 / (1.0 - p_));
  return mul(x, mask);
}

}  // namespace strata::nn
