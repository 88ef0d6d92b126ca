// Convolutional autoencoders whose latent is a C x H x W tensor rather than a vector: the CAE, DAE
// and VAE of the latent-geometry study (Shrivastava, Rameshan & Agnihotri, "Latent Space
// Characterization of Autoencoder Variants", arXiv 2412.04755, ICPRAM 2025;
// shared/papers/latent_geometry.md), which treats each latent as a point on a product of three
// PSD-matrix manifolds through its mode unfoldings (analysis/latent_geometry.h).
//
// The three share one encoder body and one decoder; only the head and the objective differ. For a
// 1 x S x S image (S divisible by 4; 28 for Fashion-MNIST):
//   body:    Conv2d(C -> 32, k4, s2, p1) ReLU, Conv2d(32 -> 64, k4, s2, p1) ReLU    [64, S/4, S/4]
//   CAE/DAE: code = Conv2d(64 -> Cz, k3, s1, p1), then ReLU when code_relu          [Cz, S/4, S/4]
//   VAE:     mean and log_var = two Conv2d(64 -> Cz, k3, s1, p1) heads, per element  [Cz, S/4, S/4]
//   decoder: Conv2d(Cz -> 64, k3, s1, p1) ReLU, ConvTranspose2d(64 -> 32, k4, s2, p1) ReLU,
//            ConvTranspose2d(32 -> C, k4, s2, p1): Bernoulli logits, flattened [N, C S S].
// The body is the W2 layout's two stride-2 stages (architecture.h) with the flattening Linear
// replaced by a 3x3 convolution, so the latent keeps its spatial layout. The paper's exact layers
// are not in the summaries we have; this is our reconstruction (a ReLU on the deterministic code is
// the usual last conv+ReLU layer of a CAE; code_relu = false drops it).
//
// Objectives, each a mean over the batch of sums over pixels / latent elements:
//   CAE: -log p(x | g(f(x)))                    (Vincent et al., JMLR 2010, eq. 4; as ae.h)
//   DAE: -log p(x | g(f(x + sigma eps)))        (Vincent et al. 2008; as dae.h, gaussian corruption)
//   VAE: -log p(x | g(z)) + KL(q(z|x) || N(0, I)), z = mu + exp(log_var / 2) eps
//        (Kingma & Welling 2014, eq. 10 and Appendix B; as vae.h, every latent element independent)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "models/autoencoders/autoencoder.h"
#include "models/nn/conv.h"
#include "models/nn/sequential.h"

namespace strata::models {

enum class SpatialObjective { Cae, Dae, Vae };

// "cae", "dae", "vae".
std::string spatial_objective_name(SpatialObjective objective);
SpatialObjective parse_spatial_objective(const std::string& name);

struct SpatialAutoencoderOptions {
  SpatialObjective objective = SpatialObjective::Cae;
  int64_t channels = 1;          // image channels C
  int64_t image_size = 28;       // S: images are C x S x S, S divisible by 4
  int64_t latent_channels = 16;  // Cz: the latent is Cz x S/4 x S/4 (16 x 7 x 7 on Fashion-MNIST)
  bool code_relu = true;         // CAE/DAE: ReLU on the code (the VAE's mean is always linear)
  double noise_sigma = 0.3;      // DAE: standard deviation of the training corruption
};

class SpatialAutoencoder final : public nn::Module {
 public:
  explicit SpatialAutoencoder(SpatialAutoencoderOptions options = {}, Generator* init = nullptr);

  // x: [N, C S S] or [N, C, S, S]. code (and for the VAE mean, log_var): [N, Cz, S/4, S/4].
  Encoding encode(const Tensor& x);
  // z: [N, Cz, S/4, S/4] -> Bernoulli logits [N, C S S].
  Tensor decode(const Tensor& z);
  // {"loss", "reconstruction"} and, for the VAE, "kl". Noise (corruption, eps) from `gen`.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr);
  // Likelihood means [N, C S S] of the code (the posterior mean for the VAE).
  Tensor reconstruct(const Tensor& x);

  // {Cz, S/4, S/4}.
  Shape latent_shape() const;
  const SpatialAutoencoderOptions& options() const { return options_; }
  const std::string& name() const { return name_; }

 private:
  Tensor image_input(const Tensor& x, const char* method) const;

  SpatialAutoencoderOptions options_;
  std::string name_;
  std::shared_ptr<nn::Sequential> body_, decoder_;
  std::shared_ptr<nn::Conv2d> code_head_, log_var_head_;
};

}  // namespace strata::models
