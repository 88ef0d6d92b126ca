// The encoder/decoder architectures every autoencoder in this folder is built from, chosen by one
// small spec so that models differ only in their objective:
//  - mlp:  flat data. Encoder D -> widths[0] -> ... -> widths[k-1] (ReLU after each); the decoder
//          mirrors it, latent -> widths[k-1] -> ... -> widths[0] -> D, ReLU between, no activation
//          on the output (it produces likelihood parameters, e.g. Bernoulli logits). With widths
//          {512, 256} and latent 32 this is W1 of shared/bench/WORKLOADS.md.
//  - conv: images of C x S x S, S = 28 (Fashion-MNIST) or 64 (dSprites). The W2 layout of
//          WORKLOADS.md: Conv2d(C->32, k4, s2, p1) ReLU, Conv2d(32->64, k4, s2, p1) ReLU, flatten
//          64 (S/4)^2, Linear -> 256 ReLU; decoder Linear latent -> 256 ReLU, Linear -> 64 (S/4)^2
//          ReLU, view 64 x S/4 x S/4, ConvTranspose2d(64->32, k4, s2, p1) ReLU,
//          ConvTranspose2d(32->C, k4, s2, p1). At S = 64 the same two stride-2 stages give 16 x 16.
//  - conv4: 64 x 64 images (dSprites, shapes3d), the convolutional architecture of the
//          disentanglement literature (Burgess et al. 2018; Locatello et al. 2019, Table 1; the
//          alpha-TCVAE paper's): four Conv2d(k4, s2, p1) of 32, 32, 64, 64 channels with ReLU, flatten
//          64 x 4 x 4, Linear -> 256 ReLU; decoder Linear latent -> 256 ReLU, Linear -> 64 x 4 x 4
//          ReLU, ConvTranspose2d(k4, s2, p1) of 64, 32, 32 channels with ReLU, then one to C. A third
//          of conv's arithmetic at 64 x 64 (no 16384 -> 256 Linear).
// Both take and give flat [N, D] tensors (the conv pair reshapes itself), so the models, the
// likelihoods and the trainer never see the layout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "models/nn/sequential.h"

namespace strata::models {

enum class ArchitectureKind { Mlp, Conv, Conv4 };

struct ArchitectureSpec {
  ArchitectureKind kind = ArchitectureKind::Mlp;
  std::vector<int64_t> widths = {512, 256};  // mlp: hidden widths, encoder order
  int64_t channels = 1;                      // conv: image channels C (the image is C x S x S)
  int64_t conv_features = 256;               // conv: width of the Linear after the convolutions

  static ArchitectureSpec mlp(std::vector<int64_t> widths) { return {ArchitectureKind::Mlp, std::move(widths)}; }
  static ArchitectureSpec conv(int64_t channels = 1) { return {ArchitectureKind::Conv, {}, channels}; }
  static ArchitectureSpec conv4(int64_t channels = 1) { return {ArchitectureKind::Conv4, {}, channels}; }
};

// "mlp", "conv" or "conv4".
std::string architecture_name(ArchitectureKind kind);
ArchitectureKind parse_architecture(const std::string& name);

// The image side S of a conv or conv4 spec for inputs of `input_dim` = C * S * S features; throws,
// naming `model`, the dims and the supported sizes (conv: 28, 64; conv4: 64) when there is none.
int64_t conv_image_size(const ArchitectureSpec& spec, int64_t input_dim, const std::string& model);

struct EncoderDecoder {
  std::shared_ptr<nn::Sequential> encoder;  // [N, D] -> [N, features]
  int64_t features = 0;                     // width the latent heads read
};

// The encoder body (everything before the latent heads). Layers are created, and so initialised
// from `init` (the default generator when null), in order; the heads come after it, then the decoder.
EncoderDecoder build_encoder(const ArchitectureSpec& spec, int64_t input_dim, const std::string& model,
                             Generator* init);
// latent [N, L] -> likelihood parameters [N, D].
std::shared_ptr<nn::Sequential> build_decoder(const ArchitectureSpec& spec, int64_t latent_dim, int64_t output_dim,
                                              const std::string& model, Generator* init);

}  // namespace strata::models
