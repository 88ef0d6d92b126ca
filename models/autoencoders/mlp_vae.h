// The variational autoencoder of Kingma & Welling, "Auto-Encoding Variational Bayes" (ICLR 2014),
// with MLP encoder and decoder and a Bernoulli likelihood: the W1 workload of
// shared/bench/WORKLOADS.md (784 -> 512 -> 256 -> 2 x 32, 32 -> 256 -> 512 -> 784 logits).
//
// The loss is the negative SGVB estimator of eq. (10): the KL term in closed form (Appendix B)
// plus a one-sample reconstruction term, -log p(x | z) with z = mu + sigma * eps (eq. 4 and the
// reparameterisation of section 2.4), averaged over the batch.
#pragma once

#include <memory>
#include <vector>

#include "engine/random.h"
#include "models/nn/linear.h"
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

  struct Posterior {
    Tensor mean;
    Tensor log_var;
  };
  Posterior encode(const Tensor& x);
  Tensor decode(const Tensor& z);  // Bernoulli logits
  // z = mean + exp(log_var / 2) * eps, eps ~ N(0, I) drawn from `gen` (default generator if null).
  Tensor reparameterize(const Posterior& q, Generator* gen = nullptr);
  VaeLoss loss(const Tensor& x, Generator* gen = nullptr);
  // n images decoded from prior draws z ~ N(0, I), as Bernoulli means in [0, 1].
  Tensor sample(int64_t n, Generator* gen = nullptr);
  // The decoder's Bernoulli means at the posterior mean of each input (deterministic).
  Tensor reconstruct(const Tensor& x);

  const MlpVaeOptions& options() const { return options_; }

 private:
  MlpVaeOptions options_;
  std::vector<std::shared_ptr<nn::Linear>> encoder_, decoder_;
  std::shared_ptr<nn::Linear> mean_head_, log_var_head_;
};

}  // namespace strata::models
