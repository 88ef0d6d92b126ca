#include "models/autoencoders/alpha_tcvae.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace strata::models {

std::string alpha_tc_form_name(AlphaTcForm form) {
  return form == AlphaTcForm::Paper ? "paper" : "public-code";
}

AlphaTcForm parse_alpha_tc_form(const std::string& name) {
  for (AlphaTcForm f : {AlphaTcForm::Paper, AlphaTcForm::PublicCode})
    if (alpha_tc_form_name(f) == name) return f;
  throw Error(detail::concat("unknown alpha_tc_form \"", name, "\" (valid: paper, public-code)"));
}

void AlphaTcVaeOptions::validate(const std::string& model, int64_t latent_dim) const {
  STRATA_CHECK(alpha >= 0 && alpha <= 1, model, ": alpha must be in [0, 1], got ", alpha);
  STRATA_CHECK(beta >= 0 && std::isfinite(beta), model, ": beta must be >= 0, got ", beta);
  STRATA_CHECK(views >= 0, model, ": views (K) must be >= 1, or 0 for the default, got ", views);
  // K = 1 with alpha = 1 makes both coefficients 0/0. The public-code form's default K follows the
  // batch size and is checked in loss().
  const int64_t k = views > 0 ? views : (form == AlphaTcForm::Paper ? latent_dim : 0);
  STRATA_CHECK(k == 0 || static_cast<double>(k) > alpha, model, ": views (K) = ", k,
               " must exceed alpha = ", alpha, " (the coefficients divide by K - alpha)");
  warmup.validate(model);
}

AlphaTcVae::AlphaTcVae(AutoencoderOptions options, AlphaTcVaeOptions tc, Generator* init)
    : Vae(std::move(options), VaeOptions{.beta = 1.0, .warmup = tc.warmup, .capacity = {}}, init,
          "alpha-TCVAE"),
      tc_(tc) {
  tc_.validate(name(), this->options().latent_dim);
}

int64_t AlphaTcVae::views_for(int64_t batch) const {
  if (tc_.views > 0) return tc_.views;
  return tc_.form == AlphaTcForm::Paper ? options().latent_dim : std::max<int64_t>(1, batch - 1);
}

std::vector<std::string> AlphaTcVae::loss_names() const {
  std::vector<std::string> names{"loss", "reconstruction", "kl", "kl_ceb", "tc", "dwkl"};
  if (tc_.warmup.kind != WarmupKind::None) names.push_back("kl_weight");
  return names;
}

LossTerms AlphaTcVae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const Encoding q = encode(flat);
  const Tensor z = reparameterize(q, gen);
  const int64_t b = flat.size(0);
  const Tensor rec = div(sum(reconstruction_nll(flat, decode(z))), static_cast<double>(b));
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), static_cast<double>(b));
  const KlDecomposition d = decompose_kl(z, q.mean, q.log_var, dataset_size(), tc_.estimator, name());
  const int64_t k = views_for(b);
  STRATA_CHECK(static_cast<double>(k) > tc_.alpha, name(), "::loss: views (K) = ", k,
               " must exceed alpha = ", tc_.alpha, " (the coefficients divide by K - alpha)");
  const double vib = vib_weight(k), ceb = ceb_weight(k);
  // The VIB-side term first, unscaled when its coefficient is 1 and the CEB term left out when its
  // coefficient is 0, so that alpha = 0, beta = 1 is the VAE's loss exactly.
  const Tensor& vib_term = tc_.form == AlphaTcForm::Paper ? kl : d.dwkl;
  const double vib_sign = tc_.form == AlphaTcForm::Paper ? 1.0 : -1.0;
  Tensor bracket = vib * vib_sign == 1.0 ? vib_term : mul(vib_term, vib * vib_sign);
  if (ceb != 0.0) bracket = add(bracket, mul(d.mi, ceb));
  const double w = tc_.warmup.weight(step());
  LossTerms terms{{"loss", add(rec, mul(bracket, tc_.beta * w))},
                  {"reconstruction", rec},
                  {"kl", kl},
                  {"kl_ceb", d.mi},
                  {"tc", d.tc},
                  {"dwkl", d.dwkl}};
  if (tc_.warmup.kind != WarmupKind::None)
    terms.push_back({"kl_weight", scalar_tensor(w, {kl.dtype(), kl.device()})});
  return terms;
}

}  // namespace strata::models
