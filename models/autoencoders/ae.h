// The deterministic autoencoder: code h = f(x), reconstruction parameters g(h), trained to minimise
// the reconstruction error -log p(x | g(f(x))) averaged over the batch (the "traditional
// autoencoder" criterion of Vincent et al., JMLR 2010, sec. 2.3, eq. 4 with the loss L of their
// eq. 2/3: cross-entropy for Bernoulli data, squared error for a Gaussian of fixed variance).
// With the conv architecture it is the CAE (convolutional autoencoder) of the latent-geometry
// study (shared/papers/latent_geometry.md): the same objective on the W2 encoder/decoder pair.
// It has no prior, so sample() and log_prob() throw.
#pragma once

#include "models/autoencoders/autoencoder.h"

namespace strata::models {

class Ae : public Autoencoder {
 public:
  explicit Ae(AutoencoderOptions options = {}, Generator* init = nullptr, std::string name = "AE");
  // {"loss", "reconstruction"}: here the loss is the reconstruction term.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override { return {"loss", "reconstruction"}; }

 protected:
  // Mean over the batch of -log p(target | decode(encode(input).code)).
  Tensor reconstruction_loss(const Tensor& input, const Tensor& target);
};

}  // namespace strata::models
