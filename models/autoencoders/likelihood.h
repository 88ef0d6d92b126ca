// The decoder's observation model p(x | z): what the decoder's output parameterises and how the
// reconstruction term -log p(x | z) is scored. Summed over the D dimensions of each example.
//  - Bernoulli: parameters are logits; log p = -BCE-with-logits (pixels in [0, 1]).
//  - Gaussian, fixed sigma: parameters are means; log p = sum_d log N(x_d; mu_d, sigma^2).
//  - Gaussian, learned variance: parameters are means and the module owns one learned log-variance
//    per dimension ("log_var", [D], initialised to 0: sigma = 1), shared by all examples.
// A Module because the learned variance is a parameter trained with the rest of the model.
#pragma once

#include <string>

#include "models/nn/module.h"

namespace strata::models {

enum class LikelihoodKind { Bernoulli, Gaussian, GaussianLearned };

struct LikelihoodSpec {
  LikelihoodKind kind = LikelihoodKind::Bernoulli;
  double sigma = 1.0;  // Gaussian with fixed variance only
};

// "bernoulli", "gaussian", "gaussian-learned".
std::string likelihood_name(LikelihoodKind kind);
LikelihoodKind parse_likelihood(const std::string& name);

class Likelihood final : public nn::Module {
 public:
  Likelihood(LikelihoodSpec spec, int64_t dim);
  // log p(x | params) per example: x and params [N, D] -> [N].
  Tensor log_prob(const Tensor& x, const Tensor& params) const;
  // E[x | params]: sigmoid(logits) or the Gaussian means.
  Tensor mean(const Tensor& params) const;
  const LikelihoodSpec& spec() const { return spec_; }

  Tensor log_var;  // [D], GaussianLearned only

 private:
  LikelihoodSpec spec_;
  int64_t dim_;
};

}  // namespace strata::models
