#include "models/autoencoders/likelihood.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

std::string likelihood_name(LikelihoodKind kind) {
  switch (kind) {
    case LikelihoodKind::Bernoulli: return "bernoulli";
    case LikelihoodKind::Gaussian: return "gaussian";
    case LikelihoodKind::GaussianLearned: return "gaussian-learned";
  }
  return "?";
}

LikelihoodKind parse_likelihood(const std::string& name) {
  for (LikelihoodKind k : {LikelihoodKind::Bernoulli, LikelihoodKind::Gaussian, LikelihoodKind::GaussianLearned})
    if (likelihood_name(k) == name) return k;
  throw Error(detail::concat("unknown likelihood \"", name, "\" (valid: bernoulli, gaussian, gaussian-learned)"));
}

Likelihood::Likelihood(LikelihoodSpec spec, int64_t dim) : nn::Module("Likelihood"), spec_(spec), dim_(dim) {
  STRATA_CHECK(dim >= 1, "Likelihood: dim must be >= 1, got ", dim);
  STRATA_CHECK(spec.kind != LikelihoodKind::Gaussian || (spec.sigma > 0 && std::isfinite(spec.sigma)),
               "Likelihood: gaussian sigma must be a positive number, got ", spec.sigma);
  if (spec.kind == LikelihoodKind::GaussianLearned) {
    log_var = zeros({dim});
    register_parameter("log_var", log_var);
  }
}

Tensor Likelihood::log_prob(const Tensor& x, const Tensor& params) const {
  STRATA_CHECK(x.dim() == 2 && x.size(1) == dim_ && params.shape() == x.shape(), "Likelihood::log_prob (",
               likelihood_name(spec_.kind), "): expects x and parameters [N, ", dim_, "], got ", shape_str(x.shape()),
               " and ", shape_str(params.shape()));
  switch (spec_.kind) {
    case LikelihoodKind::Bernoulli:
      return neg(sum(binary_cross_entropy_with_logits(params, x, Reduction::None), 1));
    case LikelihoodKind::Gaussian: {
      const Tensor lv = full({1}, 2 * std::log(spec_.sigma), {params.dtype(), params.device()});
      return sum(gaussian_log_likelihood(x, params, lv), 1);
    }
    case LikelihoodKind::GaussianLearned:
      return sum(gaussian_log_likelihood(x, params, log_var), 1);
  }
  return Tensor();
}

Tensor Likelihood::mean(const Tensor& params) const {
  return spec_.kind == LikelihoodKind::Bernoulli ? sigmoid(params) : params;
}

}  // namespace strata::models
