// alpha-TCVAE (Meo, Mahon, Goyal & Dauwels, ICLR 2024, "alpha-TCVAE: On the Relationship Between
// Disentanglement and Diversity", arXiv 2411.00588), as specified in shared/papers/alpha_tcvae.md:
// a total-correlation bound built like MVTCAE's multi-view one (Hwang et al., NeurIPS 2021) that
// interpolates with alpha in [0, 1] between a variational-information-bottleneck term and a
// conditional-entropy-bottleneck term. Minimised, per batch (batch means):
//   loss = reconstruction + beta * [ (1 - alpha) / (1 - alpha/K) * KL_VIB + K alpha / (K - alpha) * KL_CEB ]
//   KL_VIB = KL(q(z|x) || p(z)), closed form (Kingma & Welling 2014, Appendix B)        -> term "kl"
//   KL_CEB = KL(q(z|x) || q(z)) = the index-code MI of beta-TCVAE, log q(z) by MSS      -> term "kl_ceb"
// K ("views") is the latent dimensionality unless set. alpha = 0 is beta-VAE (and with beta = 1 the
// VAE, exactly). The KL warm-up w(step) (annealing.h) multiplies the bracket.
//
// Form::PublicCode is the authors' public loss file (Cmeo97/Alpha-TCVAE, losses/alphatcvae.py) as
// the notes describe it: the dimension-wise KL (DWKL, kl_decomposition.h) in place of KL_VIB and
// SUBTRACTED,
//   loss = reconstruction + beta * [ K alpha / (K - alpha) * KL_CEB - (1 - alpha) / (1 - alpha/K) * DWKL ]
// with K = B - 1 (that file sets K from the batch size; its CEB coefficient divides by an undefined
// L, read here as K; it has no beta, i.e. beta = 1, our default). It is unbounded below in DWKL,
// which the flag exists to study, not to recommend.
// The total correlation ("tc") is logged too, as a diagnostic; it is not part of either loss.
#pragma once

#include "models/autoencoders/kl_decomposition.h"
#include "models/autoencoders/vae.h"

namespace strata::models {

enum class AlphaTcForm { Paper, PublicCode };

// "paper", "public-code".
std::string alpha_tc_form_name(AlphaTcForm form);
AlphaTcForm parse_alpha_tc_form(const std::string& name);

struct AlphaTcVaeOptions {
  double alpha = 0.25;  // the paper's setting
  double beta = 1.0;
  int64_t views = 0;  // K; 0: the latent dimensionality (paper form) or max(1, B - 1) (public-code form)
  AlphaTcForm form = AlphaTcForm::Paper;
  TcEstimator estimator = TcEstimator::Mss;  // the notes: log q(z) by MSS
  KlWarmup warmup;

  // Throws, naming `model` and the setting, for alpha outside [0, 1], beta < 0, views < 0, or a
  // fixed K (views, or the latent dimensionality of the paper form) not above alpha.
  void validate(const std::string& model, int64_t latent_dim) const;
};

class AlphaTcVae final : public Vae {
 public:
  explicit AlphaTcVae(AutoencoderOptions options = {}, AlphaTcVaeOptions tc = {}, Generator* init = nullptr);
  // {"loss", "reconstruction", "kl", "kl_ceb", "tc", "dwkl"}, then "kl_weight" when a warm-up is on.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override;
  const AlphaTcVaeOptions& tc_options() const { return tc_; }
  // K for a batch of `batch` examples, and the two coefficients of the bracket for it.
  int64_t views_for(int64_t batch) const;
  double vib_weight(int64_t views) const {
    return (1 - tc_.alpha) / (1 - tc_.alpha / static_cast<double>(views));
  }
  double ceb_weight(int64_t views) const {
    const double k = static_cast<double>(views);
    return k * tc_.alpha / (k - tc_.alpha);
  }

 private:
  AlphaTcVaeOptions tc_;
};

}  // namespace strata::models
