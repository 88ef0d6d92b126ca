// The input corruptions of the denoising autoencoder (Vincent, Larochelle, Lajoie, Bengio &
// Manzagol, JMLR 2010, "Stacked Denoising Autoencoders", sec. 4.2, "Types of corruption
// considered"), for data in [0, 1]:
//  - gaussian:        x~ = x + sigma * eps, eps ~ N(0, I)  (additive isotropic Gaussian noise)
//  - masking:         each component is forced to 0 with probability `fraction`
//  - salt-and-pepper: each component is, with probability `fraction`, set to the minimum (0) or the
//                     maximum (1) of the range, each with probability 1/2
// The paper corrupts a fixed number of components per example; drawing each component
// independently corrupts that fraction on average, keeps examples independent, and is one
// vectorised draw. Also the perturbation the latent-geometry study applies to its inputs.
#pragma once

#include <string>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

enum class CorruptionKind { Gaussian, Masking, SaltAndPepper };

// "gaussian", "masking", "salt-and-pepper".
std::string corruption_name(CorruptionKind kind);
CorruptionKind parse_corruption(const std::string& name);

struct Corruption {
  CorruptionKind kind = CorruptionKind::Gaussian;
  double sigma = 0.3;      // gaussian: noise standard deviation
  double fraction = 0.25;  // masking, salt-and-pepper: probability a component is corrupted

  // A corrupted copy of x (never recorded by autograd: the corruption is data, not a computation).
  Tensor apply(const Tensor& x, Generator* gen = nullptr) const;
  void validate(const std::string& model) const;
};

}  // namespace strata::models
