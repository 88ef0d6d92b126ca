// The feature classifier (models/classifier/classifier.h) as the trainer sees it: `strata train
// --model classifier --data fashion-mnist` trains it on labelled image data with the softmax
// cross-entropy. Its terms: "loss" (the cross-entropy, nats per example) and "error" (the share of
// misclassified examples). It has no prior and no reconstruction, so the trainer writes no picture
// grids for it; its use is the feature space of `strata eval --sample-quality`.
#pragma once

#include <memory>

#include "models/classifier/classifier.h"
#include "training/trainable.h"

namespace strata::training {

class ClassifierTrainable final : public Trainable {
 public:
  explicit ClassifierTrainable(std::shared_ptr<models::Classifier> model) : model_(std::move(model)) {}

  nn::Module& module() override { return *model_; }
  std::vector<std::string> loss_names() const override { return {"loss", "error"}; }
  // Refused: a classifier learns from labels (labelled_loss_terms).
  LossTerms loss_terms(const Tensor& x, Generator* gen) override;
  LossTerms labelled_loss_terms(const Tensor& x, const Tensor& labels, Generator* gen) override;
  // Refused: a classifier generates nothing.
  Tensor sample(int64_t n, Generator* gen) override;
  Tensor reconstruct(const Tensor& x) override;
  bool has_prior() const override { return false; }
  bool has_reconstruction() const override { return false; }
  models::Classifier* classifier() override { return model_.get(); }

 private:
  std::shared_ptr<models::Classifier> model_;
};

}  // namespace strata::training
