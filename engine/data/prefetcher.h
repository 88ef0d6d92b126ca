// Prepares the next minibatch on a background thread while the current one trains, as PyTorch's
// DataLoader workers do. One batch of look-ahead is enough here: gathering a batch (a few memcpy of
// rows) is far cheaper than a training step, so its cost only needs to be hidden, not parallelised.
//
//   BatchPrefetcher batches(loader, first, loader.num_batches());
//   while (auto b = batches.next()) train(*b);
//
// The loader must not start a new epoch (or be restored) while a prefetcher over it is alive.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/data/loader.h"

namespace strata {

class BatchPrefetcher {
 public:
  // Yields loader.batch(i) for i in [begin, end) of the loader's current epoch.
  BatchPrefetcher(const DataLoader& loader, int64_t begin, int64_t end);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch, or nothing after the last; rethrows an error from the background thread.
  std::optional<Batch> next();

 private:
  void work();

  const DataLoader& loader_;
  int64_t next_index_;  // the index the worker prepares next
  const int64_t end_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Batch> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread worker_;
};

}  // namespace strata
