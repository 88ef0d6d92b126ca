// Losses and log-likelihoods. Each is fused or arranged to be numerically stable.
#pragma once

#include "engine/tensor.h"

namespace strata {

enum class Reduction { None, Mean, Sum };

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// max(x, 0) - x * y + log(1 + exp(-|x|)), fused; gradient sigmoid(x) - y.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
// logits [N, C] and int64 class indices [N].
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);

// Elementwise log N(x; mean, exp(log_var)) = -0.5 (log 2pi + log_var + (x - mean)^2 / exp(log_var)).
Tensor gaussian_log_likelihood(const Tensor& x, const Tensor& mean, const Tensor& log_var);
// Elementwise log Bernoulli(x; sigmoid(logits)) = -bce_with_logits(logits, x).
Tensor bernoulli_log_likelihood(const Tensor& x, const Tensor& logits);
// Elementwise KL(N(mu_q, exp(logvar_q)) || N(mu_p, exp(logvar_p))).
Tensor kl_diag_gaussians(const Tensor& mu_q, const Tensor& logvar_q, const Tensor& mu_p, const Tensor& logvar_p);
// Elementwise KL(N(mu, exp(logvar)) || N(0, I)) = -0.5 (1 + logvar - mu^2 - exp(logvar)).
Tensor kl_standard_normal(const Tensor& mu, const Tensor& logvar);

}  // namespace strata
