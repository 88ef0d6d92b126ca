#include "models/autoencoders/vae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

Vae::Vae(AutoencoderOptions options, VaeOptions vae, Generator* init, std::string name)
    : Autoencoder(std::move(name), std::move(options), /*stochastic=*/true, init), vae_(vae) {
  STRATA_CHECK(vae_.beta >= 0 && std::isfinite(vae_.beta), this->name(), ": beta must be >= 0, got ", vae_.beta);
  vae_.warmup.validate(this->name());
  vae_.capacity.validate(this->name());
}

std::vector<std::string> Vae::loss_names() const {
  std::vector<std::string> names{"loss", "reconstruction", "kl"};
  if (vae_.capacity.enabled()) names.push_back("capacity");
  if (vae_.warmup.kind != WarmupKind::None) names.push_back("kl_weight");
  return names;
}

LossTerms Vae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const Encoding q = encode(flat);
  return elbo_terms(flat, q, reparameterize(q, gen));
}

LossTerms Vae::elbo_terms(const Tensor& flat, const Encoding& q, const Tensor& z) {
  const Tensor params = decode(z);
  const double batch = static_cast<double>(flat.size(0));
  const Tensor rec = div(sum(reconstruction_nll(flat, params)), batch);
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  const double w = vae_.warmup.weight(step());
  Tensor penalty;
  LossTerms terms;
  if (vae_.capacity.enabled()) {
    const double c = vae_.capacity.capacity(step());
    penalty = mul(abs(sub(kl, c)), vae_.capacity.gamma * w);
    terms = {{"loss", add(rec, penalty)}, {"reconstruction", rec}, {"kl", kl}, {"capacity", scalar_tensor(c, {kl.dtype(), kl.device()})}};
  } else {
    // Multiplying by 1 is exact in floating point: beta = 1 without warm-up is the plain VAE.
    penalty = mul(kl, vae_.beta * w);
    terms = {{"loss", add(rec, penalty)}, {"reconstruction", rec}, {"kl", kl}};
  }
  if (vae_.warmup.kind != WarmupKind::None) terms.push_back({"kl_weight", scalar_tensor(w, {kl.dtype(), kl.device()})});
  return terms;
}

}  // namespace strata::models
