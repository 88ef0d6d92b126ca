#include "models/classifier/classifier.h"

#include "engine/shape.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/shape.h"

namespace strata::models {

namespace {

const ClassifierOptions& checked(const ClassifierOptions& o) {
  STRATA_CHECK(o.channels >= 1, "Classifier: channels must be at least 1, got ", o.channels);
  STRATA_CHECK(o.image_size >= 4 && o.image_size % 4 == 0, "Classifier: image_size must be a multiple of 4 ",
               "(two 2x2 poolings), got ", o.image_size);
  STRATA_CHECK(o.num_classes >= 2, "Classifier: needs at least 2 classes, got ", o.num_classes);
  STRATA_CHECK(o.conv_channels.size() == 2 && o.conv_channels[0] >= 1 && o.conv_channels[1] >= 1,
               "Classifier: conv_channels must be two widths >= 1, got ", o.conv_channels.size(), " widths");
  STRATA_CHECK(o.features >= 1, "Classifier: features must be at least 1, got ", o.features);
  return o;
}

}  // namespace

Classifier::Classifier(const ClassifierOptions& options, Generator* init)
    : Module("Classifier"), options_(checked(options)) {
  const nn::Conv2dOptions same{.padding = {1, 1}};
  const int64_t c1 = options_.conv_channels[0], c2 = options_.conv_channels[1];
  const int64_t side = options_.image_size / 4;
  conv1_ =
      register_module("conv1", std::make_shared<nn::Conv2d>(options_.channels, c1, Pair{3, 3}, same, init));
  conv2_ = register_module("conv2", std::make_shared<nn::Conv2d>(c1, c2, Pair{3, 3}, same, init));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(c2 * side * side, options_.features, true, init));
  head_ = register_module("head",
                          std::make_shared<nn::Linear>(options_.features, options_.num_classes, true, init));
}

Tensor Classifier::features(const Tensor& x) {
  STRATA_CHECK(x.defined() && x.dim() == 2 && x.size(1) == input_dim(),
               "Classifier: expected flat images [N, ", input_dim(), "] (", options_.channels, " x ",
               options_.image_size, " x ", options_.image_size, "), got ",
               x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t s = options_.image_size;
  Tensor h = reshape(x, {x.size(0), options_.channels, s, s});
  h = max_pool2d(relu(conv1_->forward(h)), {2, 2});
  h = max_pool2d(relu(conv2_->forward(h)), {2, 2});
  return relu(fc_->forward(reshape(h, {h.size(0), -1})));
}

Tensor Classifier::logits(const Tensor& features) { return head_->forward(features); }

Tensor Classifier::forward(const Tensor& x) { return logits(features(x)); }

}  // namespace strata::models
