// An in-memory dataset of examples stacked along dim 0: inputs and (optionally) their labels.
#pragma once

#include "engine/tensor.h"

namespace strata {

// A minibatch: rows of the inputs and the matching labels (undefined for an unlabelled dataset).
struct Batch {
  Tensor inputs;
  Tensor labels;
};

class TensorDataset {
 public:
  // inputs [N, ...] and labels [N, ...] on one device; they are detached and made contiguous
  // (a dataset holds data, not a piece of someone's graph).
  explicit TensorDataset(const Tensor& inputs, const Tensor& labels = Tensor());

  int64_t size() const { return inputs_.size(0); }
  const Tensor& inputs() const { return inputs_; }
  const Tensor& labels() const { return labels_; }
  Device device() const { return inputs_.device(); }

  // Fresh copies of the examples named by `indices` (int64 [n], on the dataset's device), in that order.
  Batch gather(const Tensor& indices) const;

 private:
  Tensor inputs_;
  Tensor labels_;
};

}  // namespace strata
