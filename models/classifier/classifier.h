// A small convolutional image classifier, trained by this project on the data it is used with, whose
// penultimate layer is the feature space of `strata eval --sample-quality` (Frechet distance,
// precision / recall, density / coverage: analysis/sample_quality/). It stands in for Inception-v3,
// which the method notes forbid downloading (shared/papers/metrics.md): figures in its features are
// this project's own, NOT Inception FID.
//
// For C x S x S images given flat (S divisible by 4; Fashion-MNIST: 1 x 28 x 28):
//   Conv2d(C -> 32, 3x3, pad 1) ReLU, MaxPool 2x2   -> 32 x S/2 x S/2
//   Conv2d(32 -> 64, 3x3, pad 1) ReLU, MaxPool 2x2  -> 64 x S/4 x S/4
//   flatten, Linear -> 128, ReLU                     -> the features (the penultimate layer)
//   Linear 128 -> classes                            -> logits
// the usual LeNet-style layout (LeCun et al. 1998, with ReLU and max pooling). The features are taken
// after the ReLU, as Inception's pool3 features are the input of its final classifier layer.
#pragma once

#include <memory>
#include <vector>

#include "engine/random.h"
#include "models/nn/conv.h"
#include "models/nn/linear.h"
#include "models/nn/module.h"

namespace strata::models {

struct ClassifierOptions {
  int64_t channels = 1;     // C
  int64_t image_size = 28;  // S, divisible by 4
  int64_t num_classes = 10;
  std::vector<int64_t> conv_channels = {32, 64};  // the two convolution stages
  int64_t features = 128;                         // width of the feature layer
};

class Classifier final : public nn::Module {
 public:
  explicit Classifier(const ClassifierOptions& options, Generator* init = nullptr);

  // Logits [N, classes] of flat images [N, C * S * S].
  Tensor forward(const Tensor& x) override;
  // The penultimate layer [N, features] (after its ReLU) of flat images [N, C * S * S].
  Tensor features(const Tensor& x);
  // The last layer: logits [N, classes] of features [N, features].
  Tensor logits(const Tensor& features);

  const ClassifierOptions& options() const { return options_; }
  int64_t input_dim() const { return options_.channels * options_.image_size * options_.image_size; }

 private:
  ClassifierOptions options_;
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::Linear> fc_, head_;
};

}  // namespace strata::models
