// VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, NeurIPS 2017, "Neural Discrete Representation
// Learning"). The encoder's output z_e [N, latent_dim] is read as latent_dim / code_dim code
// vectors per example, each replaced by its nearest codebook entry (vector_quantizer.h), and the
// decoder reads the quantised z_q through the straight-through estimator. Eq. 3, per example and
// summed over the example's code vectors, then averaged over the batch:
//   loss = -log p(x | z_q) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2,   beta = 0.25
// With EMA codebook updates (the default, Appendix A.1) the codebook term is dropped and the
// codebook follows the moving averages of the codes assigned to it, updated after each training
// step's forward pass (in training mode only).
// Terms: loss, reconstruction, commitment (||z_e - sg[e]||^2, unweighted), codebook (gradient
// mode only), perplexity (exp of the entropy of the batch's code usage; not part of the loss).
// sample(): the paper fits an autoregressive prior (PixelCNN) over the codes after training; here
// the codes are drawn uniformly from the codebook and decoded (the uniform prior the paper assumes
// during training), so samples show what the decoder does with arbitrary codes, not the
// model's best samples. log_prob() throws: the encoder is deterministic.
#pragma once

#include "models/autoencoders/autoencoder.h"
#include "models/autoencoders/vector_quantizer.h"

namespace strata::models {

struct VqVaeOptions {
  int64_t codebook_size = 512;  // K
  int64_t code_dim = 4;         // d; latent_dim must be a multiple
  double beta = 0.25;           // commitment cost
  bool ema = true;              // EMA codebook updates instead of the codebook loss term
  double decay = 0.99;          // EMA decay gamma
};

class VqVae final : public Autoencoder {
 public:
  explicit VqVae(AutoencoderOptions options = {}, VqVaeOptions vq = {}, Generator* init = nullptr);
  // code = z_q (straight-through), the latent the decoder reads.
  Encoding encode(const Tensor& x) override;
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override;
  // A prior over codes: uniform (see above).
  bool has_prior() const override { return true; }
  Tensor sample(int64_t n, Generator* gen = nullptr) override;
  // The codebook index of each code vector of x's encoding, int64 [N, latent_dim / code_dim].
  Tensor code_indices(const Tensor& x);

  const VqVaeOptions& vq_options() const { return vq_; }
  VectorQuantizer& quantizer() { return *quantizer_; }

 private:
  struct Quantized {
    Tensor z_e;      // encoder rows [N * G, d]
    Tensor e;        // their nearest codes [N * G, d]
    Tensor indices;  // [N * G]
    Tensor z_q;      // straight-through latent [N, latent_dim]
  };
  Quantized quantize(const Tensor& x, const char* method);
  VqVaeOptions vq_;
  int64_t codes_per_example_;
  std::shared_ptr<VectorQuantizer> quantizer_;
};

}  // namespace strata::models
