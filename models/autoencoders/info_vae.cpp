#include "models/autoencoders/info_vae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

InfoVae::InfoVae(AutoencoderOptions options, InfoVaeOptions info, Generator* init)
    : Autoencoder("InfoVAE", std::move(options), /*stochastic=*/true, init), info_(info) {
  STRATA_CHECK(std::isfinite(info_.alpha) && std::isfinite(info_.lambda) && info_.lambda > 0, name(),
               ": needs a finite alpha and lambda > 0, got alpha ", info_.alpha, ", lambda ", info_.lambda);
  STRATA_CHECK(info_.alpha <= 1, name(), ": alpha must be <= 1 (the KL weight is 1 - alpha), got ", info_.alpha);
  STRATA_CHECK(info_.alpha + info_.lambda - 1 >= 0, name(), ": alpha + lambda - 1 (the MMD weight) must be >= 0, got ",
               info_.alpha + info_.lambda - 1, " (alpha ", info_.alpha, ", lambda ", info_.lambda, ")");
}

LossTerms InfoVae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  STRATA_CHECK(flat.size(0) >= 2, name(), "::loss: the MMD U-statistic needs a batch of at least 2, got ",
               flat.size(0));
  const Encoding q = encode(flat);
  const Tensor z = reparameterize(q, gen);
  const double batch = static_cast<double>(flat.size(0));
  const Tensor rec = div(sum(reconstruction_nll(flat, decode(z))), batch);
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  const Tensor prior = randn(z.shape(), {z.dtype(), z.device()}, gen);
  const double c = 2.0 * static_cast<double>(options().latent_dim);  // E ||z - z'||^2 for z, z' ~ N(0, I)
  const Tensor mmd = mmd_unbiased(z, prior, info_.kernel, {c});
  const Tensor loss = add(add(rec, mul(kl, 1 - info_.alpha)), mul(mmd, info_.alpha + info_.lambda - 1));
  return {{"loss", loss}, {"reconstruction", rec}, {"kl", kl}, {"mmd", mmd}};
}

}  // namespace strata::models
