// The importance weighted autoencoder (Burda, Grosse & Salakhutdinov, ICLR 2016, "Importance
// Weighted Autoencoders"): the VAE's model and encoder trained on the K-sample bound of eq. 8,
//   L_K(x) = E_{z_1..z_K ~ q(z|x)} [ log (1/K) sum_k p(x, z_k) / q(z_k | x) ],
// estimated with one draw of K reparameterised samples per example and computed with logsumexp
// (the log weights come from Autoencoder::log_importance_weight, the same code as log_prob()).
// L_1 is the ELBO and L_K grows with K towards log p(x) (their Theorem 1). The K draws are made in
// one pass, [K * N, L] (first the K * N * L noise values, k-major), so K = 1 draws the same noise as
// the VAE's loss() from the same generator.
// Terms, each a mean over the batch:
//   loss           = -L_K(x)                                      (minimised)
//   reconstruction = -log p(x | z_k), averaged over the K draws    (diagnostic)
//   kl             = KL(q(z|x) || N(0, I)), closed form            (diagnostic)
// reconstruction + kl is the negative ELBO estimate, so loss <= reconstruction + kl on average.
// K defaults to 5, one of the paper's settings (k = 1, 5, 50 in their Table 1).
#pragma once

#include "models/autoencoders/autoencoder.h"

namespace strata::models {

struct IwaeOptions {
  int64_t samples = 5;  // K
};

class Iwae final : public Autoencoder {
 public:
  explicit Iwae(AutoencoderOptions options = {}, IwaeOptions iwae = {}, Generator* init = nullptr);
  // {"loss", "reconstruction", "kl"}; the K draws come from `gen`.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override { return {"loss", "reconstruction", "kl"}; }
  bool has_prior() const override { return true; }
  const IwaeOptions& iwae_options() const { return iwae_; }

 private:
  IwaeOptions iwae_;
};

}  // namespace strata::models
