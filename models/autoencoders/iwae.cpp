#include "models/autoencoders/iwae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

Iwae::Iwae(AutoencoderOptions options, IwaeOptions iwae, Generator* init)
    : Autoencoder("IWAE", std::move(options), /*stochastic=*/true, init), iwae_(iwae) {
  STRATA_CHECK(iwae_.samples >= 1, name(), ": the number of importance samples K (iw_samples) must be >= 1, got ",
               iwae_.samples);
}

namespace {
// [N, C] repeated K times along a new leading dim and flattened to [K * N, C] (k-major).
Tensor repeat_rows(const Tensor& t, int64_t k) {
  return reshape(expand(unsqueeze(t, 0), {k, t.size(0), t.size(1)}), {k * t.size(0), t.size(1)});
}
}  // namespace

LossTerms Iwae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const int64_t k = iwae_.samples, n = flat.size(0);
  const Encoding q = encode(flat);
  Encoding repeated;
  repeated.mean = repeat_rows(q.mean, k);
  repeated.log_var = repeat_rows(q.log_var, k);
  repeated.code = repeated.mean;
  Tensor log_px;
  const Tensor log_w = log_importance_weight(repeat_rows(flat, k), repeated, reparameterize(repeated, gen), &log_px);
  const Tensor bound = sub(logsumexp(reshape(log_w, {k, n}), 0), std::log(static_cast<double>(k)));  // [N]
  const double batch = static_cast<double>(n);
  const Tensor loss = div(neg(sum(bound)), batch);
  const Tensor rec = div(neg(sum(log_px)), batch * static_cast<double>(k));
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  return {{"loss", loss}, {"reconstruction", rec}, {"kl", kl}};
}

}  // namespace strata::models
