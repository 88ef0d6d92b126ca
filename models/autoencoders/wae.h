// The Wasserstein auto-encoder with the MMD penalty (Tolstikhin, Bousquet, Gelly & Schoelkopf,
// ICLR 2018, "Wasserstein Auto-Encoders", Algorithm 2, WAE-MMD): a deterministic encoder
// z = Q(x), a decoder G(z) and a prior p(z) = N(0, I) (sigma_z = 1, as in their MNIST runs). Per
// minibatch x_1..x_n with prior draws z~_1..z~_n ~ p(z):
//   loss = (1/n) sum_i c(x_i, G(Q(x_i))) + lambda * MMD_u^2({Q(x_i)}, {z~_i})
// where c is the reconstruction cost -log p(x | G(z)) of the chosen likelihood (the paper uses the
// squared error, which is the gaussian likelihood up to scale and a constant) and MMD_u^2 is the
// unbiased U-statistic of Algorithm 2 (ops/mmd.h). Kernels: inverse multiquadratics
// k = C / (C + ||z - z'||^2), C = 2 * latent_dim * sigma_z^2 (sec. 4), summed over the scales
// {0.1, ..., 10} * C of the authors' code; or the Gaussian kernel exp(-||z - z'||^2 / C) over the
// same scales (the authors' code sets the RBF bandwidth by a median heuristic instead; a fixed C
// keeps the loss a smooth function of the codes). lambda = 10 (their MNIST setting).
// Terms, means over the batch: loss, reconstruction, mmd. Needs batches of at least 2.
#pragma once

#include "models/autoencoders/autoencoder.h"
#include "ops/mmd.h"

namespace strata::models {

struct WaeOptions {
  double lambda = 10;
  MmdKernel kernel = MmdKernel::InverseMultiquadric;
};

class Wae final : public Autoencoder {
 public:
  explicit Wae(AutoencoderOptions options = {}, WaeOptions wae = {}, Generator* init = nullptr);
  // {"loss", "reconstruction", "mmd"}; the prior draws come from `gen`.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override { return {"loss", "reconstruction", "mmd"}; }
  bool has_prior() const override { return true; }
  const WaeOptions& wae_options() const { return wae_; }

 private:
  WaeOptions wae_;
};

}  // namespace strata::models
