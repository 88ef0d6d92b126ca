// The variational autoencoder (Kingma & Welling, ICLR 2014, "Auto-Encoding Variational Bayes") and
// the members that only reweight its KL term. Per example, with z = mu + sigma * eps (sec. 2.4):
//   reconstruction = -log p(x | z)                                 (one-sample term of eq. 10)
//   kl             = KL(q(z|x) || N(0, I)), closed form            (Appendix B)
//   VAE:            loss = reconstruction + kl                     (the negative of eq. 10)
//   beta-VAE:       loss = reconstruction + beta * kl              (Higgins et al., ICLR 2017, eq. 4)
//   capacity:       loss = reconstruction + gamma * |kl - C(step)| (Burgess et al. 2018, eq. 8;
//                   C grows linearly to capacity.max_nats, annealing.h; |.| of the batch-mean KL,
//                   as in the authors' description of the minibatch objective)
// and a KL warm-up weight w(step) (linear or cyclical, annealing.h) multiplying the KL term of
// either form. Every term is a mean over the batch.
#pragma once

#include "models/autoencoders/annealing.h"
#include "models/autoencoders/autoencoder.h"

namespace strata::models {

struct VaeOptions {
  double beta = 1.0;            // Higgins et al. use 4 on dSprites (the "beta-vae" default)
  KlWarmup warmup;              // none by default
  CapacitySchedule capacity;    // off by default (max_nats = 0)
};

class Vae : public Autoencoder {
 public:
  explicit Vae(AutoencoderOptions options = {}, VaeOptions vae = {}, Generator* init = nullptr,
               std::string name = "VAE");
  // {"loss", "reconstruction", "kl"}, then "capacity" (C at this step) when capacity annealing is
  // on and "kl_weight" (w at this step) when a warm-up is; eps is drawn from `gen`.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override;
  bool has_prior() const override { return true; }
  const VaeOptions& vae_options() const { return vae_; }

  // One posterior draw z = mu + sigma * eps for the encoding of x (eps from `gen`).
  Tensor sample_posterior(const Encoding& q, Generator* gen = nullptr) const { return reparameterize(q, gen); }

 protected:
  // The terms loss() returns, for flat inputs [N, D], their encoding q and one draw z ~ q(z|x):
  // for members that add to the objective a term of the same z (FactorVAE's total correlation).
  LossTerms elbo_terms(const Tensor& flat, const Encoding& q, const Tensor& z);

 private:
  VaeOptions vae_;
};

}  // namespace strata::models
