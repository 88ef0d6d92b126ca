#include "engine/data/loader.h"

#include <algorithm>

#include "engine/creation.h"
#include "engine/data/distributed_sampler.h"

namespace strata {

DataLoader::DataLoader(TensorDataset dataset, DataLoaderOptions options)
    : DataLoader(std::make_shared<const TensorDataset>(std::move(dataset)), options) {}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options), generator_(options.seed), epoch_start_(options.seed) {
  STRATA_CHECK(dataset_ != nullptr, "DataLoader: the dataset is null");
  STRATA_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ", options_.batch_size);
  STRATA_CHECK(options_.world_size >= 1 && options_.rank >= 0 && options_.rank < options_.world_size,
               "DataLoader: rank ", options_.rank, " is not a rank of a job of ", options_.world_size, " processes");
}

int64_t DataLoader::examples_per_epoch() const {
  const int64_t n = dataset_->size();
  return options_.world_size == 1 ? n : shard_size(n, options_.world_size, options_.drop_last);
}

int64_t DataLoader::num_batches() const {
  const int64_t n = examples_per_epoch(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch() {
  epoch_start_ = generator_;
  const int64_t n = dataset_->size();
  Tensor order = options_.shuffle ? randperm(n, &generator_) : arange(static_cast<double>(n));
  if (options_.world_size > 1) order = shard_of_order(order, options_.rank, options_.world_size, options_.drop_last);
  // The index_select kernel reads indices where the data lives.
  if (dataset_->device() != order.device())
    order = from_blob(order.raw_data(), order.shape(), DType::Int64, dataset_->device());
  order_ = order;
  ++epochs_;
}

Batch DataLoader::batch(int64_t i) const {
  STRATA_CHECK(order_.defined(),
               "DataLoader: no epoch has started; call start_epoch() or iterate the loader");
  STRATA_CHECK(i >= 0 && i < num_batches(), "DataLoader: batch ", i, " is out of range for ", num_batches(),
               " batches per epoch");
  const int64_t start = i * options_.batch_size;
  const int64_t count = std::min(options_.batch_size, examples_per_epoch() - start);
  return dataset_->gather(Tensor::make_view(order_, {count}, {1}, order_.offset() + start));
}

DataLoaderState DataLoader::state() const { return {epoch_start_.seed(), epoch_start_.offset(), epochs_}; }

void DataLoader::restore(const DataLoaderState& state) {
  STRATA_CHECK(state.epochs_started >= 0, "DataLoader.restore: epochs_started must be >= 0, got ",
               state.epochs_started);
  generator_.set_state(state.seed, state.offset);
  epoch_start_ = generator_;
  order_ = Tensor();
  epochs_ = 0;
  if (state.epochs_started == 0) return;
  // start_epoch() counts the epoch it redraws.
  epochs_ = state.epochs_started - 1;
  start_epoch();
}

DataLoader::Iterator DataLoader::begin() {
  start_epoch();
  return Iterator(this, 0);
}

}  // namespace strata
