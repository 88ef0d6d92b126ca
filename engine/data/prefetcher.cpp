#include "engine/data/prefetcher.h"

#include "engine/autograd.h"

namespace strata {

BatchPrefetcher::BatchPrefetcher(const DataLoader& loader, int64_t begin, int64_t end)
    : loader_(loader), next_index_(begin), end_(end) {
  STRATA_CHECK(begin >= 0 && begin <= end && end <= loader.num_batches(), "BatchPrefetcher: range [", begin, ", ",
               end, ") is outside the loader's ", loader.num_batches(), " batches");
  worker_ = std::thread([this] { work(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BatchPrefetcher::work() {
  NoGradGuard no_grad;  // grad mode is per thread; batches are data, never part of a graph
  while (true) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !ready_.has_value(); });
      if (stopping_) return;
      if (next_index_ >= end_) {
        finished_ = true;
        changed_.notify_all();
        return;
      }
      index = next_index_++;
    }
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = loader_.batch(index);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error) {
        error_ = error;
        finished_ = true;
      } else {
        ready_ = std::move(batch);
      }
    }
    changed_.notify_all();
    if (error) return;
  }
}

std::optional<Batch> BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return ready_.has_value() || finished_; });
  if (ready_) {
    std::optional<Batch> batch = std::move(ready_);
    ready_.reset();
    changed_.notify_all();  // the worker may start on the following batch
    return batch;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

}  // namespace strata
