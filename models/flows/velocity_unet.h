// A small convolutional U-Net velocity field for images, after the U-Net of Ronneberger, Fischer &
// Brox (2015, "U-Net: Convolutional Networks for Biomedical Image Segmentation": a contracting and an
// expanding path joined by skip connections that are concatenated) in the form DDPM gave it for
// time-dependent fields (Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models",
// appendix B: residual blocks of GroupNorm, SiLU and 3x3 convolutions, the sinusoidal time
// embedding through an MLP added to every block as a per-channel bias), scaled down to train on a
// few CPU cores. Flat rows x [N, D], D = C * S * S, are read as NCHW images [N, C, S, S].
//
// With L = channel_multipliers.size() levels, width c_l = base_channels * multiplier_l, image side
// S_l = S / 2^l (the defaults at 28 x 28: 32 at 28, 64 at 14, 64 at 7):
//   embedding  e = Linear(SiLU(Linear(sinusoidal(t)))) [N, E], E = 4 base_channels
//              (+ Embedding(labels) [N, E] when class-conditional)
//   input      3x3 conv C -> c_0
//   down       level l: ResBlock(c_{l-1} -> c_l), kept as skip_l; then (l < L - 1) a stride-2 3x3 conv
//   middle     ResBlock(c_{L-1} -> c_{L-1})
//   up         level l = L-1..0: ResBlock([h, skip_l]: 2 c_l -> c_l); then (l > 0) nearest x2 and
//              a 3x3 conv c_l -> c_{l-1}
//   output     GroupNorm, SiLU, 3x3 conv c_0 -> C, initialised to zero (zero_output): the initial
//              velocity is exactly 0, as DDPM zero-initialises its last layers
//   ResBlock(a -> b): h = conv3x3(SiLU(GN(x))) + Linear(SiLU(e))[:, :, None, None];
//                     h = conv3x3(SiLU(GN(h))); out = h + (a == b ? x : conv1x1(x)).
// GroupNorm normalises each example over its own channels and pixels, so rows stay independent
// (velocity_field.h); no batch statistics. Groups: gcd(norm_groups, channels) at each norm.
//
// Class conditioning (classifier-free guidance, Ho & Salimans 2022; flow_matching.h): num_classes K
// > 0 adds a label embedding of K + 1 rows to e, row K being the null label ("no label").
#pragma once

#include <memory>
#include <vector>

#include "engine/random.h"
#include "models/flows/velocity_field.h"
#include "models/nn/conv.h"
#include "models/nn/embedding.h"
#include "models/nn/group_norm.h"
#include "models/nn/linear.h"

namespace strata::models {

struct VelocityUnetOptions {
  int64_t channels = 1;     // C
  int64_t image_size = 28;  // S (square images); divisible by 2^(levels - 1)
  int64_t base_channels = 32;
  std::vector<int64_t> channel_multipliers = {1, 2, 2};
  int64_t time_features = 64;  // sinusoidal features of t (even), time_embedding.h
  int64_t num_classes = 0;     // 0: unconditional; K > 0: labels 0..K-1 and the null label K
  int64_t norm_groups = 8;
  bool zero_output = true;  // the output conv starts at zero (v = 0); off for gradient checks

  int64_t dim() const { return channels * image_size * image_size; }
};

class VelocityUnet final : public VelocityField {
 public:
  // Layers are initialised in order from `init` (the default generator when null).
  explicit VelocityUnet(VelocityUnetOptions options, Generator* init = nullptr);
  // x [N, C*S*S], t [N] -> [N, C*S*S]; a conditional net uses the null label.
  Tensor velocity(const Tensor& x, const Tensor& t) override;
  // labels int64 [N] in 0..num_classes (num_classes: the null label).
  Tensor labelled_velocity(const Tensor& x, const Tensor& t, const Tensor& labels) override;
  int64_t dim() const override { return options_.dim(); }
  int64_t num_classes() const override { return options_.num_classes; }
  const VelocityUnetOptions& options() const { return options_; }

  // One residual block with its time (and label) bias; public for the layout's tests.
  class ResBlock final : public nn::Module {
   public:
    ResBlock(int64_t in_channels, int64_t out_channels, int64_t embedding_dim, int64_t norm_groups,
             Generator* init);
    // x [N, in, H, W], e [N, embedding_dim] -> [N, out, H, W].
    Tensor apply(const Tensor& x, const Tensor& e);

   private:
    std::shared_ptr<nn::GroupNorm> norm1_, norm2_;
    std::shared_ptr<nn::Conv2d> conv1_, conv2_, skip_;
    std::shared_ptr<nn::Linear> embedding_bias_;
  };

 private:
  Tensor forward_images(const Tensor& x, const Tensor& t, const Tensor& labels);

  VelocityUnetOptions options_;
  std::shared_ptr<nn::Linear> time1_, time2_;
  std::shared_ptr<nn::Embedding> label_embedding_;  // null when not conditional
  std::shared_ptr<nn::Conv2d> input_;
  std::vector<std::shared_ptr<ResBlock>> down_, up_;
  std::vector<std::shared_ptr<nn::Conv2d>> downsample_, upsample_;  // upsample_[l]: after up level l (l > 0)
  std::shared_ptr<ResBlock> middle_;
  std::shared_ptr<nn::GroupNorm> output_norm_;
  std::shared_ptr<nn::Conv2d> output_;
};

}  // namespace strata::models
