#include "models/autoencoders/wae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

Wae::Wae(AutoencoderOptions options, WaeOptions wae, Generator* init)
    : Autoencoder("WAE", std::move(options), /*stochastic=*/false, init), wae_(wae) {
  STRATA_CHECK(wae_.lambda >= 0 && std::isfinite(wae_.lambda), name(), ": mmd_lambda must be >= 0, got ", wae_.lambda);
}

LossTerms Wae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  STRATA_CHECK(flat.size(0) >= 2, name(), "::loss: the MMD U-statistic needs a batch of at least 2, got ",
               flat.size(0));
  const Tensor z = encode(flat).code;
  const Tensor rec = div(sum(reconstruction_nll(flat, decode(z))), static_cast<double>(flat.size(0)));
  const Tensor prior = randn(z.shape(), {z.dtype(), z.device()}, gen);
  const Tensor mmd = mmd_unbiased(z, prior, wae_.kernel, wae_kernel_scales(options().latent_dim));
  return {{"loss", add(rec, mul(mmd, wae_.lambda))}, {"reconstruction", rec}, {"mmd", mmd}};
}

}  // namespace strata::models
