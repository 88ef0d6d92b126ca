// Minibatches over a Dataset (in memory or made on demand), optionally reshuffled every epoch.
//
//   DataLoader loader(dataset, {.batch_size = 128, .shuffle = true, .drop_last = true, .seed = 1});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (const Batch& b : loader) ...  // each range-for is one epoch
//
// The order comes from strata::randperm with the loader's own Generator, so a seed fixes every
// epoch's order and nothing else in the program perturbs it.
//
// A run resumed from a checkpoint continues mid-epoch with exactly the batches it would have seen:
//
//   DataLoaderState s = loader.state();   // saved after batch k - 1 of the current epoch
//   ...
//   loader.restore(s);                    // a fresh loader over the same dataset and options
//   for (int64_t i = k; i < loader.num_batches(); ++i) train(loader.batch(i));
#pragma once

#include <cstdint>
#include <memory>

#include "engine/data/dataset.h"
#include "engine/random.h"

namespace strata {

// Where a loader is in its sequence of epochs: the shuffling generator's (seed, offset) as it was
// before the current epoch drew its order, and how many epochs have started (the current included).
struct DataLoaderState {
  uint64_t seed = 0;
  uint64_t offset = 0;
  int64_t epochs_started = 0;
};

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;  // skip the final batch when it would be smaller than batch_size
  uint64_t seed = 0;       // of the generator that shuffles
  // Data-parallel training (distributed_sampler.h): this loader yields rank `rank`'s shard of each
  // epoch's order, of a job of `world_size` processes whose loaders share the seed. The tail of an
  // order that the ranks cannot share equally is dropped with drop_last, padded otherwise.
  int64_t world_size = 1;
  int64_t rank = 0;
};

class DataLoader {
 public:
  explicit DataLoader(TensorDataset dataset, DataLoaderOptions options = {});
  explicit DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }
  int64_t num_batches() const;  // per epoch
  int64_t examples_per_epoch() const;  // this rank's: the dataset's size, or its shard's
  int64_t epochs_started() const { return epochs_; }

  // Begins an epoch: draws a new order when shuffling. begin() calls it.
  void start_epoch();
  // This epoch's order of example indices (int64 [N], or this rank's shard of it); undefined before
  // the first epoch.
  const Tensor& order() const { return order_; }
  // Batch i < num_batches() of the current epoch.
  Batch batch(int64_t i) const;

  DataLoaderState state() const;
  // Rewinds the generator to `state` and, when an epoch had started, redraws that epoch's order, so
  // batch(i) returns what it returned when the state was taken. The dataset and options must be
  // those of the loader that gave the state.
  void restore(const DataLoaderState& state);

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
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  Generator generator_;
  Generator epoch_start_;  // generator_ before the current epoch's shuffle
  Tensor order_;
  int64_t epochs_ = 0;
};

}  // namespace strata
