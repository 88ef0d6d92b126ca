#include "models/flows/velocity_unet.h"

#include <numeric>
#include <string>

#include "models/flows/time_embedding.h"
#include "models/nn/init.h"
#include "ops/ops.h"

namespace strata::models {

namespace {

nn::Conv2dOptions same_padding() { return {.padding = {1, 1}}; }

std::shared_ptr<nn::GroupNorm> group_norm(int64_t groups, int64_t channels) {
  return std::make_shared<nn::GroupNorm>(std::gcd(groups, channels), channels);
}

}  // namespace

VelocityUnet::ResBlock::ResBlock(int64_t in_channels, int64_t out_channels, int64_t embedding_dim,
                                 int64_t norm_groups, Generator* init)
    : nn::Module("VelocityUnet.ResBlock") {
  norm1_ = register_module("norm1", group_norm(norm_groups, in_channels));
  conv1_ = register_module(
      "conv1", std::make_shared<nn::Conv2d>(in_channels, out_channels, Pair{3, 3}, same_padding(), init));
  embedding_bias_ = register_module("embedding_bias",
                                    std::make_shared<nn::Linear>(embedding_dim, out_channels, true, init));
  norm2_ = register_module("norm2", group_norm(norm_groups, out_channels));
  conv2_ = register_module(
      "conv2", std::make_shared<nn::Conv2d>(out_channels, out_channels, Pair{3, 3}, same_padding(), init));
  if (in_channels != out_channels)
    skip_ = register_module("skip", std::make_shared<nn::Conv2d>(in_channels, out_channels, Pair{1, 1},
                                                                 nn::Conv2dOptions{}, init));
}

Tensor VelocityUnet::ResBlock::apply(const Tensor& x, const Tensor& e) {
  Tensor h = conv1_->forward(silu(norm1_->forward(x)));
  const Tensor bias = embedding_bias_->forward(silu(e));
  h = add(h, reshape(bias, {bias.size(0), bias.size(1), 1, 1}));
  h = conv2_->forward(silu(norm2_->forward(h)));
  return add(h, skip_ ? skip_->forward(x) : x);
}

VelocityUnet::VelocityUnet(VelocityUnetOptions options, Generator* init)
    : VelocityField("VelocityUnet"), options_(std::move(options)) {
  const VelocityUnetOptions& o = options_;
  STRATA_CHECK(o.channels >= 1 && o.image_size >= 1,
               "VelocityUnet: channels and image_size must be at least 1, got ", o.channels, " and ",
               o.image_size);
  STRATA_CHECK(o.base_channels >= 1, "VelocityUnet: base_channels must be at least 1, got ", o.base_channels);
  STRATA_CHECK(!o.channel_multipliers.empty(),
               "VelocityUnet: needs at least one level (channel_multipliers is empty)");
  for (int64_t m : o.channel_multipliers)
    STRATA_CHECK(m >= 1, "VelocityUnet: channel multipliers must be at least 1, got ", m);
  const int64_t levels = static_cast<int64_t>(o.channel_multipliers.size());
  STRATA_CHECK(levels <= 8, "VelocityUnet: at most 8 levels, got ", levels);
  const int64_t factor = int64_t{1} << (levels - 1);
  STRATA_CHECK(o.image_size % factor == 0, "VelocityUnet: image_size ", o.image_size,
               " must be divisible by ", factor, " (2^(levels - 1) for ", levels,
               " levels: each level below the first halves the side)");
  STRATA_CHECK(o.time_features >= 2 && o.time_features % 2 == 0,
               "VelocityUnet: time_features must be an even number of at least 2, got ", o.time_features);
  STRATA_CHECK(o.num_classes >= 0, "VelocityUnet: num_classes must be 0 (unconditional) or more, got ",
               o.num_classes);
  STRATA_CHECK(o.norm_groups >= 1, "VelocityUnet: norm_groups must be at least 1, got ", o.norm_groups);

  const int64_t embedding = 4 * o.base_channels;
  time1_ = register_module("time1", std::make_shared<nn::Linear>(o.time_features, embedding, true, init));
  time2_ = register_module("time2", std::make_shared<nn::Linear>(embedding, embedding, true, init));
  if (o.num_classes > 0)
    label_embedding_ = register_module("label_embedding",
                                       std::make_shared<nn::Embedding>(o.num_classes + 1, embedding, init));
  std::vector<int64_t> width;
  for (int64_t m : o.channel_multipliers) width.push_back(o.base_channels * m);
  input_ = register_module(
      "input", std::make_shared<nn::Conv2d>(o.channels, width[0], Pair{3, 3}, same_padding(), init));
  for (int64_t l = 0; l < levels; ++l) {
    const std::string n = std::to_string(l);
    down_.push_back(
        register_module("down" + n, std::make_shared<ResBlock>(l == 0 ? width[0] : width[l - 1], width[l],
                                                               embedding, o.norm_groups, init)));
    if (l < levels - 1)
      downsample_.push_back(register_module(
          "downsample" + n,
          std::make_shared<nn::Conv2d>(width[l], width[l], Pair{3, 3},
                                       nn::Conv2dOptions{.stride = {2, 2}, .padding = {1, 1}}, init)));
  }
  middle_ = register_module("middle", std::make_shared<ResBlock>(width[levels - 1], width[levels - 1],
                                                                 embedding, o.norm_groups, init));
  up_.resize(static_cast<size_t>(levels));
  upsample_.resize(static_cast<size_t>(levels));
  for (int64_t l = levels - 1; l >= 0; --l) {
    const std::string n = std::to_string(l);
    up_[l] = register_module(
        "up" + n, std::make_shared<ResBlock>(2 * width[l], width[l], embedding, o.norm_groups, init));
    if (l > 0)
      upsample_[l] = register_module(
          "upsample" + n,
          std::make_shared<nn::Conv2d>(width[l], width[l - 1], Pair{3, 3}, same_padding(), init));
  }
  output_norm_ = register_module("output_norm", group_norm(o.norm_groups, width[0]));
  output_ = register_module(
      "output", std::make_shared<nn::Conv2d>(width[0], o.channels, Pair{3, 3}, same_padding(), init));
  if (o.zero_output) {
    nn::init::zeros_(output_->weight);
    nn::init::zeros_(output_->bias);
  }
}

Tensor VelocityUnet::velocity(const Tensor& x, const Tensor& t) {
  if (options_.num_classes == 0) return forward_images(x, t, Tensor());
  const int64_t n = x.defined() && x.dim() >= 1 ? x.size(0) : 0;
  return forward_images(x, t, full({n}, static_cast<double>(options_.num_classes), {DType::Int64, x.device()}));
}

Tensor VelocityUnet::labelled_velocity(const Tensor& x, const Tensor& t, const Tensor& labels) {
  STRATA_CHECK(
      options_.num_classes > 0,
      "VelocityUnet: labelled_velocity needs a class-conditional U-Net (num_classes > 0), this one has none");
  STRATA_CHECK(labels.defined() && labels.dim() == 1 && labels.dtype() == DType::Int64,
               "VelocityUnet: labels must be ", "int64 [N], got ",
               labels.defined() ? std::string(dtype_name(labels.dtype())) + " " + shape_str(labels.shape())
                                : std::string("an undefined tensor"));
  for (int64_t c : labels.to_vector<int64_t>())
    STRATA_CHECK(c >= 0 && c <= options_.num_classes, "VelocityUnet: label ", c, " is outside 0..",
                 options_.num_classes, " (", options_.num_classes, " classes and the null label ",
                 options_.num_classes, ")");
  return forward_images(x, t, labels);
}

Tensor VelocityUnet::forward_images(const Tensor& x, const Tensor& t, const Tensor& labels) {
  const VelocityUnetOptions& o = options_;
  STRATA_CHECK(x.defined() && x.dim() == 2 && x.size(1) == o.dim(), "VelocityUnet: x must be [N, ", o.dim(),
               "] (", o.channels, " x ", o.image_size, " x ", o.image_size, " images, flat), got ",
               x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  STRATA_CHECK(is_floating(x.dtype()), "VelocityUnet: x must be floating point, got ", dtype_name(x.dtype()));
  STRATA_CHECK(t.defined() && t.numel() == x.size(0), "VelocityUnet: one time per row expected: x ",
               shape_str(x.shape()), ", t ", t.defined() ? shape_str(t.shape()) : std::string("undefined"));
  STRATA_CHECK(!labels.defined() || labels.numel() == x.size(0),
               "VelocityUnet: one label per row expected: x ", shape_str(x.shape()), ", labels ",
               labels.defined() ? shape_str(labels.shape()) : std::string("undefined"));
  const int64_t n = x.size(0), levels = static_cast<int64_t>(down_.size());
  Tensor e = time2_->forward(silu(time1_->forward(sinusoidal_time_embedding(t, o.time_features, x.dtype()))));
  if (label_embedding_) e = add(e, label_embedding_->forward(labels));

  Tensor h = input_->forward(reshape(x, {n, o.channels, o.image_size, o.image_size}));
  std::vector<Tensor> skips;
  for (int64_t l = 0; l < levels; ++l) {
    h = down_[l]->apply(h, e);
    skips.push_back(h);
    if (l < levels - 1) h = downsample_[l]->forward(h);
  }
  h = middle_->apply(h, e);
  for (int64_t l = levels - 1; l >= 0; --l) {
    h = up_[l]->apply(cat({h, skips[l]}, 1), e);
    if (l > 0) h = upsample_[l]->forward(upsample_nearest2d(h, {2, 2}));
  }
  h = output_->forward(silu(output_norm_->forward(h)));
  return reshape(h, {n, o.dim()});
}

}  // namespace strata::models
