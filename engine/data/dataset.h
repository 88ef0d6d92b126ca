// Datasets as the DataLoader sees them: a number of examples and a way to fetch any of them by
// index. TensorDataset holds its examples in memory; others make them on demand (dSprites renders
// each image from its factors: engine/data/factor_dataset.h).
#pragma once

#include "engine/tensor.h"

namespace strata {

// A minibatch: rows of the inputs and the matching labels (undefined for an unlabelled dataset).
struct Batch {
  Tensor inputs;
  Tensor labels;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The shape of one example's inputs (the batch's inputs are [n, example_shape...]).
  virtual Shape example_shape() const = 0;
  virtual Device device() const = 0;
  // Fresh copies of the examples named by `indices` (int64 [n], on the dataset's device), in that order.
  virtual Batch gather(const Tensor& indices) const = 0;
};

// An in-memory dataset of examples stacked along dim 0: inputs and (optionally) their labels.
class TensorDataset final : public Dataset {
 public:
  // inputs [N, ...] and labels [N, ...] on one device; they are detached and made contiguous
  // (a dataset holds data, not a piece of someone's graph).
  explicit TensorDataset(const Tensor& inputs, const Tensor& labels = Tensor());

  int64_t size() const override { return inputs_.size(0); }
  Shape example_shape() const override;
  Device device() const override { return inputs_.device(); }
  Batch gather(const Tensor& indices) const override;

  const Tensor& inputs() const { return inputs_; }
  const Tensor& labels() const { return labels_; }

 private:
  Tensor inputs_;
  Tensor labels_;
};

}  // namespace strata
