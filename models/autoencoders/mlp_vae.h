// W1 of shared/bench/WORKLOADS.md under its own name: the VAE of vae.h (Kingma & Welling, ICLR
// 2014, the negative SGVB estimator of eq. 10 with the KL in closed form, Appendix B) with the mlp
// architecture 784 -> 512 -> 256 -> 2 x 32, 32 -> 256 -> 512 -> 784 logits and Bernoulli pixels.
// A thin front for the benchmark, the example and code written against it before the autoencoder
// family existed: the model is a models::Vae (vae()), and its loss comes back as a struct.
#pragma once

#include <memory>
#include <vector>

#include "engine/random.h"
#include "models/autoencoders/vae.h"
#include "models/nn/module.h"

namespace strata::models {

struct MlpVaeOptions {
  int64_t input_dim = 784;
  std::vector<int64_t> hidden = {512, 256};  // the decoder mirrors them
  int64_t latent_dim = 32;
};

// Per-example means over the batch; `total` = reconstruction + kl is what training minimises.
struct VaeLoss {
  Tensor total;
  Tensor reconstruction;  // sum over pixels of BCE-with-logits
  Tensor kl;              // KL(q(z|x) || N(0, I)), summed over latent dims
};

class MlpVae final : public nn::Module {
 public:
  explicit MlpVae(MlpVaeOptions options = {}, Generator* init_gen = nullptr);

  using Posterior = Encoding;  // .mean, .log_var
  Posterior encode(const Tensor& x) { return vae_->encode(x); }
  Tensor decode(const Tensor& z) { return vae_->decode(z); }  // Bernoulli logits
  // z = mean + exp(log_var / 2) * eps, eps ~ N(0, I) drawn from `gen` (default generator if null).
  Tensor reparameterize(const Posterior& q, Generator* gen = nullptr) { return vae_->sample_posterior(q, gen); }
  VaeLoss loss(const Tensor& x, Generator* gen = nullptr);
  // n images decoded from prior draws z ~ N(0, I), as Bernoulli means in [0, 1].
  Tensor sample(int64_t n, Generator* gen = nullptr) { return vae_->sample(n, gen); }
  // The decoder's Bernoulli means at the posterior mean of each input (deterministic).
  Tensor reconstruct(const Tensor& x) { return vae_->reconstruct(x); }

  const MlpVaeOptions& options() const { return options_; }
  Vae& vae() { return *vae_; }

 private:
  MlpVaeOptions options_;
  std::shared_ptr<Vae> vae_;
};

}  // namespace strata::models
