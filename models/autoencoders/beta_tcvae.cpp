#include "models/autoencoders/beta_tcvae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

void BetaTcVaeOptions::validate(const std::string& model) const {
  const std::pair<const char*, double> weights[] = {
      {"alpha (mi_alpha)", alpha}, {"beta", beta}, {"gamma (dwkl_gamma)", gamma}};
  for (const auto& [setting, value] : weights)
    STRATA_CHECK(value >= 0 && std::isfinite(value), model, ": ", setting, " must be >= 0, got ", value);
  warmup.validate(model);
}

BetaTcVae::BetaTcVae(AutoencoderOptions options, BetaTcVaeOptions tc, Generator* init)
    : Vae(std::move(options), VaeOptions{.beta = 1.0, .warmup = tc.warmup, .capacity = {}}, init,
          "beta-TCVAE"),
      tc_(tc) {
  tc_.validate(name());
}

std::vector<std::string> BetaTcVae::loss_names() const {
  std::vector<std::string> names{"loss", "reconstruction", "mi", "tc", "dwkl", "kl"};
  if (tc_.warmup.kind != WarmupKind::None) names.push_back("kl_weight");
  return names;
}

LossTerms BetaTcVae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const Encoding q = encode(flat);
  const Tensor z = reparameterize(q, gen);
  const double batch = static_cast<double>(flat.size(0));
  const Tensor rec = div(sum(reconstruction_nll(flat, decode(z))), batch);
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  const KlDecomposition d = decompose_kl(z, q.mean, q.log_var, dataset_size(), tc_.estimator, name());
  // Only the terms whose weight differs from 1 are added to the closed-form KL, so that the
  // defaults alpha = gamma = 1 add nothing for mi and dwkl, and alpha = beta = gamma = 1 is the VAE.
  Tensor kl_part = kl;
  const std::pair<double, Tensor> weighted[] = {{tc_.alpha, d.mi}, {tc_.beta, d.tc}, {tc_.gamma, d.dwkl}};
  for (const auto& [weight, estimate] : weighted)
    if (weight != 1.0) kl_part = add(kl_part, mul(estimate, weight - 1.0));
  const double w = tc_.warmup.weight(step());
  LossTerms terms{{"loss", add(rec, mul(kl_part, w))},
                  {"reconstruction", rec},
                  {"mi", d.mi},
                  {"tc", d.tc},
                  {"dwkl", d.dwkl},
                  {"kl", kl}};
  if (tc_.warmup.kind != WarmupKind::None)
    terms.push_back({"kl_weight", scalar_tensor(w, {kl.dtype(), kl.device()})});
  return terms;
}

}  // namespace strata::models
