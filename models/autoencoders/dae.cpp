#include "models/autoencoders/dae.h"

namespace strata::models {

Dae::Dae(AutoencoderOptions options, Corruption corruption, Generator* init)
    : Ae(std::move(options), init, "DAE"), corruption_(corruption) {
  corruption_.validate(name());
}

LossTerms Dae::loss(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const Tensor rec = reconstruction_loss(corruption_.apply(flat, gen), flat);
  return {{"loss", rec}, {"reconstruction", rec}};
}

}  // namespace strata::models
