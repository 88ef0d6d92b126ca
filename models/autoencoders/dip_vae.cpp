#include "models/autoencoders/dip_vae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

std::string dip_type_name(DipType type) { return type == DipType::I ? "i" : "ii"; }

DipType parse_dip_type(const std::string& name) {
  for (DipType t : {DipType::I, DipType::II})
    if (dip_type_name(t) == name) return t;
  throw Error(detail::concat("unknown dip_type \"", name, "\" (valid: i, ii)"));
}

void DipVaeOptions::validate(const std::string& model) const {
  STRATA_CHECK(lambda_od >= 0 && std::isfinite(lambda_od), model, ": lambda_od must be >= 0, got ",
               lambda_od);
  STRATA_CHECK(lambda_d >= 0 && std::isfinite(lambda_d), model, ": lambda_d must be >= 0, got ", lambda_d);
  STRATA_CHECK(beta >= 0 && std::isfinite(beta), model, ": beta must be >= 0, got ", beta);
  warmup.validate(model);
}

DipVae::DipVae(AutoencoderOptions options, DipVaeOptions dip, Generator* init)
    : Vae(std::move(options), VaeOptions{.beta = dip.beta, .warmup = dip.warmup, .capacity = {}}, init,
          dip.type == DipType::I ? "DIP-VAE-I" : "DIP-VAE-II"),
      dip_(dip) {
  dip_.validate(name());
}

std::vector<std::string> DipVae::loss_names() const {
  std::vector<std::string> names{"loss", "reconstruction", "kl", "dip_off_diagonal", "dip_diagonal"};
  if (dip_.warmup.kind != WarmupKind::None) names.push_back("kl_weight");
  return names;
}

Tensor DipVae::penalised_covariance(const Encoding& q) const {
  const double batch = static_cast<double>(q.mean.size(0));
  const Tensor centred = sub(q.mean, mean(q.mean, 0, true));
  Tensor cov = div(matmul(t(centred), centred), batch);
  if (dip_.type == DipType::II) {
    // E_p(x)[diag(sigma^2)]: the batch mean of the variances, placed on the diagonal.
    const Tensor eye_l = eye(q.mean.size(1), {q.mean.dtype(), q.mean.device()});
    cov = add(cov, mul(eye_l, mean(exp(q.log_var), 0, true)));
  }
  return cov;
}

LossTerms DipVae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const Encoding q = encode(flat);
  const double batch = static_cast<double>(flat.size(0));
  const Tensor rec = div(sum(reconstruction_nll(flat, decode(reparameterize(q, gen)))), batch);
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  const Tensor cov = penalised_covariance(q);
  const Tensor eye_l = eye(cov.size(0), {cov.dtype(), cov.device()});
  const Tensor off_diagonal = sum(square(mul(cov, rsub(1.0, eye_l))));
  const Tensor diagonal = sum(square(sub(sum(mul(cov, eye_l), 1), 1.0)));
  const double w = dip_.warmup.weight(step());
  // The VAE's loss first, exactly as Vae::loss forms it, then the penalties whose weight is not 0.
  Tensor total = add(rec, mul(kl, dip_.beta * w));
  if (dip_.lambda_od != 0) total = add(total, mul(off_diagonal, dip_.lambda_od));
  if (dip_.lambda_d != 0) total = add(total, mul(diagonal, dip_.lambda_d));
  LossTerms terms{{"loss", total},
                  {"reconstruction", rec},
                  {"kl", kl},
                  {"dip_off_diagonal", off_diagonal},
                  {"dip_diagonal", diagonal}};
  if (dip_.warmup.kind != WarmupKind::None)
    terms.push_back({"kl_weight", scalar_tensor(w, {kl.dtype(), kl.device()})});
  return terms;
}

}  // namespace strata::models
