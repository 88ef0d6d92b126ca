#include "models/nn/conv.h"

#include "engine/creation.h"
#include "models/nn/init.h"

namespace strata::nn {

namespace {

void check_geometry(const char* layer, int64_t in_channels, int64_t out_channels, Pair kernel, Pair stride,
                    Pair padding, Pair dilation, int64_t groups) {
  STRATA_CHECK(in_channels > 0 && out_channels > 0, layer, ": channel counts must be > 0, got in_channels ",
               in_channels, " and out_channels ", out_channels);
  STRATA_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, layer, ": groups (",
               groups, ") must be > 0 and divide in_channels (", in_channels, ") and out_channels (",
               out_channels, ")");
  STRATA_CHECK(kernel[0] > 0 && kernel[1] > 0, layer, ": kernel_size must be > 0, got [", kernel[0], ", ",
               kernel[1], "]");
  STRATA_CHECK(stride[0] > 0 && stride[1] > 0, layer, ": stride must be > 0, got [", stride[0], ", ",
               stride[1], "]");
  STRATA_CHECK(padding[0] >= 0 && padding[1] >= 0, layer, ": padding must be >= 0, got [", padding[0], ", ",
               padding[1], "]");
  STRATA_CHECK(dilation[0] > 0 && dilation[1] > 0, layer, ": dilation must be > 0, got [", dilation[0], ", ",
               dilation[1], "]");
}

// The layer's own message for an input that is not [N, in_channels, H, W].
void check_input(const char* layer, const Tensor& x, int64_t in_channels) {
  STRATA_CHECK(x.defined() && x.dim() == 4 && x.size(1) == in_channels, layer,
               ": expects input of shape [N, ", in_channels, ", H, W], got ",
               x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
}

}  // namespace

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel, Conv2dOptions o, Generator* gen)
    : Module("Conv2d"), in_channels_(in_channels), options_(o) {
  check_geometry("Conv2d", in_channels, out_channels, kernel, o.stride, o.padding, o.dilation, o.groups);
  weight = empty({out_channels, in_channels / o.groups, kernel[0], kernel[1]});
  if (o.bias) bias = empty({out_channels});
  init::default_layer_init_(weight, bias, gen);
  register_parameter("weight", weight);
  register_parameter("bias", bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  check_input("Conv2d", x, in_channels_);
  return conv2d(x, weight, bias, options_.stride, options_.padding, options_.dilation, options_.groups);
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, Pair kernel,
                                 ConvTranspose2dOptions o, Generator* gen)
    : Module("ConvTranspose2d"), in_channels_(in_channels), options_(o) {
  check_geometry("ConvTranspose2d", in_channels, out_channels, kernel, o.stride, o.padding, o.dilation,
                 o.groups);
  STRATA_CHECK(o.output_padding[0] >= 0 && o.output_padding[1] >= 0 &&
                   (o.output_padding[0] < o.stride[0] || o.output_padding[0] < o.dilation[0]) &&
                   (o.output_padding[1] < o.stride[1] || o.output_padding[1] < o.dilation[1]),
               "ConvTranspose2d: output_padding [", o.output_padding[0], ", ", o.output_padding[1],
               "] must be smaller than stride or dilation");
  weight = empty({in_channels, out_channels / o.groups, kernel[0], kernel[1]});
  if (o.bias) bias = empty({out_channels});
  // PyTorch computes fans from this weight as laid out, so fan_in is (out_channels / groups) * kH * kW.
  init::default_layer_init_(weight, bias, gen);
  register_parameter("weight", weight);
  register_parameter("bias", bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input("ConvTranspose2d", x, in_channels_);
  return conv_transpose2d(x, weight, bias, options_.stride, options_.padding, options_.output_padding,
                          options_.groups, options_.dilation);
}

}  // namespace strata::nn
