// A dataset whose every example is made from known generative factors (dSprites, shapes3d): the
// full product of the factors' values, each example rendered on demand from its factor classes, so
// the set never has to sit in memory. Disentanglement metrics (analysis/disentanglement/) draw
// factors, hold one fixed, render, and compare the codes a model gives.
//
// Examples are numbered in row-major order of their factor classes, the last factor fastest (as
// dSprites' latents_classes): index = sum_k class_k * prod_{k' > k} size_k'.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace strata {

class FactorDataset {
 public:
  virtual ~FactorDataset() = default;

  virtual std::string name() const = 0;
  virtual std::vector<std::string> factor_names() const = 0;
  // Values per factor (classes 0 .. size - 1).
  virtual std::vector<int64_t> factor_sizes() const = 0;
  // Images are C x S x S, given flat: observation_dim() = C * S * S values in [0, 1].
  virtual int64_t channels() const = 0;
  virtual int64_t image_size() const = 0;
  // Images of the rows of `factor_classes` (int64 [N, K], each class in range; else an error naming
  // the dataset, the factor and the value): float32 [N, C * S * S].
  virtual Tensor render(const Tensor& factor_classes) const = 0;

  int64_t num_factors() const { return static_cast<int64_t>(factor_sizes().size()); }
  int64_t observation_dim() const { return channels() * image_size() * image_size(); }
  // The number of examples: the product of the factor sizes.
  int64_t size() const;
  // Index <-> factor classes (errors name the dataset and the value out of range).
  std::vector<int64_t> factors_of(int64_t index) const;
  int64_t index_of(const std::vector<int64_t>& factor_classes) const;
  // int64 [N] indices <-> int64 [N, K] factor classes.
  Tensor factors_of(const Tensor& indices) const;
  Tensor indices_of(const Tensor& factor_classes) const;
  // N rows of factor classes, each factor uniform over its values independently: int64 [N, K].
  Tensor sample_factors(int64_t n, Generator* gen) const;
  // render(factors_of(indices)).
  Tensor render_indices(const Tensor& indices) const;
};

// A FactorDataset's images as a Dataset the DataLoader can draw minibatches from: gather() renders
// them (no labels). `subset` (int64 [M] example indices; undefined: all) restricts it to those
// examples, example i of the Dataset being subset[i].
class FactorImages final : public Dataset {
 public:
  explicit FactorImages(std::shared_ptr<const FactorDataset> source, const Tensor& subset = Tensor());

  int64_t size() const override;
  Shape example_shape() const override { return {source_->observation_dim()}; }
  Device device() const override { return Device::cpu(); }
  Batch gather(const Tensor& indices) const override;

  const FactorDataset& source() const { return *source_; }

 private:
  std::shared_ptr<const FactorDataset> source_;
  std::vector<int64_t> subset_;  // empty: every example
};

}  // namespace strata
