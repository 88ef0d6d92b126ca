// Minibatches over a TensorDataset, optionally reshuffled every epoch.
//
//   DataLoader loader(dataset, {.batch_size = 128, .shuffle = true, .drop_last = true, .seed = 1});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (const Batch& b : loader) ...  // each range-for is one epoch
//
// The order comes from strata::randperm with the loader's own Generator, so a seed fixes every
// epoch's order and nothing else in the program perturbs it.
#pragma once

#include <cstdint>

#include "engine/data/dataset.h"
#include "engine/random.h"

namespace strata {

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;  // skip the final batch when it would be smaller than batch_size
  uint64_t seed = 0;       // of the generator that shuffles
};

class DataLoader {
 public:
  explicit DataLoader(TensorDataset dataset, DataLoaderOptions options = {});

  const TensorDataset& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }
  int64_t num_batches() const;  // per epoch
  int64_t epochs_started() const { return epochs_; }

  // Begins an epoch: draws a new order when shuffling. begin() calls it.
  void start_epoch();
  // This epoch's order of example indices (int64 [N]); undefined before the first epoch.
  const Tensor& order() const { return order_; }
  // Batch i < num_batches() of the current epoch.
  Batch batch(int64_t i) const;

  class Iterator {
   public:
    Iterator(const DataLoader* loader, int64_t index) : loader_(loader), index_(index) {}
    Batch operator*() const { return loader_->batch(index_); }
    Iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return index_ == o.index_; }
    bool operator!=(const Iterator& o) const { return index_ != o.index_; }

   private:
    const DataLoader* loader_;
    int64_t index_;
  };
  Iterator begin();  // starts a new epoch
  Iterator end() const { return Iterator(this, num_batches()); }

 private:
  TensorDataset dataset_;
  DataLoaderOptions options_;
  Generator generator_;
  Tensor order_;
  int64_t epochs_ = 0;
};

}  // namespace strata
