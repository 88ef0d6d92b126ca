#include "models/autoencoders/corruption.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

std::string corruption_name(CorruptionKind kind) {
  switch (kind) {
    case CorruptionKind::Gaussian: return "gaussian";
    case CorruptionKind::Masking: return "masking";
    case CorruptionKind::SaltAndPepper: return "salt-and-pepper";
  }
  return "?";
}

CorruptionKind parse_corruption(const std::string& name) {
  for (CorruptionKind k : {CorruptionKind::Gaussian, CorruptionKind::Masking, CorruptionKind::SaltAndPepper})
    if (corruption_name(k) == name) return k;
  throw Error(detail::concat("unknown corruption \"", name, "\" (valid: gaussian, masking, salt-and-pepper)"));
}

void Corruption::validate(const std::string& model) const {
  if (kind == CorruptionKind::Gaussian)
    STRATA_CHECK(sigma >= 0 && std::isfinite(sigma), model, ": noise_sigma must be >= 0, got ", sigma);
  else
    STRATA_CHECK(fraction >= 0 && fraction <= 1, model, ": corruption_fraction must be in [0, 1], got ", fraction);
}

Tensor Corruption::apply(const Tensor& x, Generator* gen) const {
  NoGradGuard no_grad;
  const TensorOptions opt{x.dtype(), x.device()};
  switch (kind) {
    case CorruptionKind::Gaussian:
      return add(x, mul(randn(x.shape(), opt, gen), sigma));
    case CorruptionKind::Masking:
      return mul(x, bernoulli(x.shape(), 1.0 - fraction, opt, gen));
    case CorruptionKind::SaltAndPepper: {
      const Tensor hit = bernoulli(x.shape(), fraction, opt, gen);
      const Tensor salt = bernoulli(x.shape(), 0.5, opt, gen);  // 1 (salt) or 0 (pepper)
      return add(mul(x, rsub(1.0, hit)), mul(hit, salt));
    }
  }
  return x;
}

}  // namespace strata::models
