// The denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol, ICML 2008, "Extracting and
// Composing Robust Features with Denoising Autoencoders"; Vincent et al., JMLR 2010, sec. 3.2,
// eq. 7): the clean input is reconstructed from a corrupted one,
//   minimise E_{x~ ~ q_D(x~ | x)} [ -log p(x | g(f(x~))) ],
// one corruption draw per example and step (corruption.h: gaussian, masking, salt-and-pepper).
// encode(), reconstruct() and the rest see inputs uncorrupted: corruption is a training device.
#pragma once

#include "models/autoencoders/ae.h"
#include "models/autoencoders/corruption.h"

namespace strata::models {

class Dae final : public Ae {
 public:
  explicit Dae(AutoencoderOptions options = {}, Corruption corruption = {}, Generator* init = nullptr);
  // {"loss", "reconstruction"}; the corruption is drawn from `gen`.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  const Corruption& corruption() const { return corruption_; }

 private:
  Corruption corruption_;
};

}  // namespace strata::models
