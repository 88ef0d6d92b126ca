// DIP-VAE (Kumar, Sattigeri & Balakrishnan, ICLR 2018, "Variational Inference of Disentangled
// Latent Concepts from Unlabeled Observations", sec. 3): the ELBO plus a penalty pulling a
// covariance of the latents towards the identity, so that the inferred prior q(z) is decorrelated
// ("disentangled inferred prior"):
//   loss = reconstruction + w(step) * beta * kl
//          + lambda_od * sum_{i != j} C_ij^2  +  lambda_d * sum_i (C_ii - 1)^2
//   DIP-VAE-I:  C = Cov_p(x)[mu(x)], the covariance of the encoder means;
//   DIP-VAE-II: C = Cov_q(z)[z] = E_p(x)[Sigma(x)] + Cov_p(x)[mu(x)], with Sigma(x) = diag(exp(log_var)),
// the expectations over p(x) taken over the minibatch (covariance normalised by B, as the moments
// E[mu mu^T] - E[mu] E[mu]^T). reconstruction and kl are the VAE's (vae.h); beta = 1 and the KL
// warm-up w(step) come from it. Terms "dip_off_diagonal" and "dip_diagonal" are the two sums,
// unweighted.
// Defaults: lambda_od = 10 (our choice, within the range disentanglement_lib sweeps); lambda_d =
// 10 lambda_od for DIP-VAE-I (the paper's ratio for type I) and lambda_d = lambda_od for DIP-VAE-II
// (the ratio disentanglement_lib uses for type II; the paper's type-II ratio could not be checked here).
#pragma once

#include "models/autoencoders/vae.h"

namespace strata::models {

enum class DipType { I, II };

// "i", "ii".
std::string dip_type_name(DipType type);
DipType parse_dip_type(const std::string& name);

struct DipVaeOptions {
  DipType type = DipType::I;
  double lambda_od = 10.0;
  double lambda_d = 100.0;
  double beta = 1.0;  // weight of the KL term
  KlWarmup warmup;
  // The paper's lambda_d for a type and lambda_od: 10 lambda_od for type I, lambda_od for type II.
  static double default_lambda_d(DipType type, double lambda_od) {
    return type == DipType::I ? 10 * lambda_od : lambda_od;
  }
  // Throws, naming `model` and the setting, for a negative or non-finite weight.
  void validate(const std::string& model) const;
};

class DipVae final : public Vae {
 public:
  explicit DipVae(AutoencoderOptions options = {}, DipVaeOptions dip = {}, Generator* init = nullptr);
  // {"loss", "reconstruction", "kl", "dip_off_diagonal", "dip_diagonal"}, then "kl_weight" when a
  // warm-up is on.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override;
  const DipVaeOptions& dip_options() const { return dip_; }
  // The covariance C [L, L] the penalty acts on, for an encoding of a batch.
  Tensor penalised_covariance(const Encoding& q) const;

 private:
  DipVaeOptions dip_;
};

}  // namespace strata::models
