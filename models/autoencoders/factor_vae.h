// FactorVAE (Kim & Mnih, ICML 2018, "Disentangling by Factorising"). The VAE objective plus gamma
// times the total correlation of the aggregate posterior, minimised (the negative of eq. 2):
//   loss = reconstruction + kl + gamma * TC,      TC = KL(q(z) || prod_j q(z_j))
// with TC estimated by the density-ratio trick (eq. 3) from a discriminator D that tells samples
// of q(z) from samples of prod_j q(z_j):
//   TC ~ (1/N) sum_i log D(z_i) / (1 - D(z_i)),   z_i ~ q(z | x_i)
// D outputs two logits, class 0 = "drawn from q(z)", class 1 = "dimensions permuted", so that
// D(z) = softmax(logits)_0 and log D / (1 - D) = logit_0 - logit_1 (as in the authors' setup and
// its public re-implementations). D is trained with its own optimizer (Algorithm 2) to minimise
//   L_D = 1/2 [ CE(D(z), 0) + CE(D(permute_dims(z)), 1) ]
// where permute_dims (Algorithm 1) permutes each latent dimension independently across the batch,
// which turns draws of q(z) into draws of prod_j q(z_j). Algorithm 2 permutes the codes of a second
// minibatch; like disentanglement_lib (Locatello et al., ICML 2019) we permute the codes of the
// same minibatch, so a step reads one batch and the data order stays that of every other model.
// D's step reads z detached: it never moves the VAE; the VAE's step is taken by an optimizer over
// vae_parameters() only: it never moves D. The trainer's side of this is training/factor_vae_trainable.h.
//
// Architecture and optimizer of D as in the paper's Appendix A (and disentanglement_lib's
// fc_discriminator): 6 hidden layers of 1000 units with LeakyReLU(0.2), then 2 logits; Adam with
// lr 1e-4, beta1 0.5, beta2 0.9.
#pragma once

#include <memory>
#include <vector>

#include "engine/optim/adam.h"
#include "models/autoencoders/vae.h"
#include "models/nn/sequential.h"

namespace strata::models {

struct FactorVaeOptions {
  // The TC weight. 35 is the value this project's issue gives for dSprites; the paper sweeps
  // gamma in {10, 20, 30, 40, 50, 100} on 2D Shapes (dSprites).
  double gamma = 35;
  std::vector<int64_t> discriminator_widths = std::vector<int64_t>(6, 1000);
  double negative_slope = 0.2;  // LeakyReLU of D's hidden layers
  optim::AdamOptions discriminator_optimizer{.lr = 1e-4, .beta1 = 0.5, .beta2 = 0.9};
};

// Each column of z [N, L] permuted across the rows by its own permutation drawn from `gen`
// (Algorithm 1 of Kim & Mnih): column j of the result is z[perm_j, j].
Tensor permute_dims(const Tensor& z, Generator* gen);

// What D's cross-entropy step reports: its loss (differentiable in D's parameters) and the
// fraction of the 2N codes it classifies correctly.
struct DiscriminatorTerms {
  Tensor loss;
  Tensor accuracy;
};

// One VAE-side evaluation: the loss terms and the posterior draw z they were computed from.
struct FactorVaeLoss {
  LossTerms terms;
  Tensor z;
};

class FactorVae : public Vae {
 public:
  // VaeOptions as for the VAE (warm-up applies to the KL term; Kim & Mnih use beta = 1). D is
  // created (and initialised from `init`) after the VAE's layers, so the VAE part starts from the
  // same weights as a plain VAE built from the same generator.
  explicit FactorVae(AutoencoderOptions options = {}, VaeOptions vae = {}, FactorVaeOptions factor = {},
                     Generator* init = nullptr, std::string name = "FactorVAE");

  // {"loss", "reconstruction", "kl", (warm-up/capacity terms as the VAE), "tc"}.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override { return loss_and_code(x, gen).terms; }
  std::vector<std::string> loss_names() const override;
  FactorVaeLoss loss_and_code(const Tensor& x, Generator* gen = nullptr);

  // D's two logits [N, 2] for codes z [N, latent_dim].
  Tensor discriminator_logits(const Tensor& z);
  // The density-ratio estimate of TC from D's logits [N, 2]: mean of logit_0 - logit_1.
  static Tensor total_correlation(const Tensor& logits);
  // D's loss and accuracy on z (detached here) against permute_dims(z) (its permutations from `gen`).
  DiscriminatorTerms discriminator_terms(const Tensor& z, Generator* gen);

  // The parameters each objective trains: everything but D, and D's.
  std::vector<Tensor> vae_parameters() const;
  std::vector<Tensor> discriminator_parameters() const { return discriminator_->parameters(); }
  const FactorVaeOptions& factor_options() const { return factor_; }

 private:
  FactorVaeOptions factor_;
  std::shared_ptr<nn::Sequential> discriminator_;
};

}  // namespace strata::models
