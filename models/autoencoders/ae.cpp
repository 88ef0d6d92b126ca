#include "models/autoencoders/ae.h"

#include "ops/ops.h"

namespace strata::models {

Ae::Ae(AutoencoderOptions options, Generator* init, std::string name)
    : Autoencoder(std::move(name), std::move(options), /*stochastic=*/false, init) {}

Tensor Ae::reconstruction_loss(const Tensor& input, const Tensor& target) {
  const Tensor params = decode(encode(input).code);
  return div(sum(reconstruction_nll(target, params)), static_cast<double>(target.size(0)));
}

LossTerms Ae::loss(const Tensor& x, Generator*) {
  const Tensor flat = flat_input(x, "loss");
  const Tensor rec = reconstruction_loss(flat, flat);
  return {{"loss", rec}, {"reconstruction", rec}};
}

}  // namespace strata::models
