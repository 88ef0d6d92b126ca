// 2-D convolution layers over NCHW tensors, as torch.nn.Conv2d and torch.nn.ConvTranspose2d.
#pragma once

#include "engine/random.h"
#include "models/nn/module.h"
#include "ops/conv.h"

namespace strata::nn {

struct Conv2dOptions {
  Pair stride = {1, 1};
  Pair padding = {0, 0};
  Pair dilation = {1, 1};
  int64_t groups = 1;
  bool bias = true;
};

// weight [out_channels, in_channels / groups, kH, kW], bias [out_channels].
class Conv2d final : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, Conv2dOptions options = {},
         Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  const Conv2dOptions& options() const { return options_; }

  Tensor weight;
  Tensor bias;

 private:
  int64_t in_channels_;
  Conv2dOptions options_;
};

struct ConvTranspose2dOptions {
  Pair stride = {1, 1};
  Pair padding = {0, 0};
  Pair output_padding = {0, 0};
  Pair dilation = {1, 1};
  int64_t groups = 1;
  bool bias = true;
};

// weight [in_channels, out_channels / groups, kH, kW] (PyTorch's layout), bias [out_channels].
class ConvTranspose2d final : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel_size,
                  ConvTranspose2dOptions options = {}, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  const ConvTranspose2dOptions& options() const { return options_; }

  Tensor weight;
  Tensor bias;

 private:
  int64_t in_channels_;
  ConvTranspose2dOptions options_;
};

}  // namespace strata::nn
