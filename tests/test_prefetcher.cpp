// The background batch prefetcher yields exactly the loader's batches, in order, and passes errors on.
#include "engine/data/loader.h"
#include "engine/data/prefetcher.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

TEST_CASE("BatchPrefetcher yields the loader's batches in order", "[data][prefetch]") {
  const Tensor inputs = reshape(arange(0.0, 40.0, 1.0, {DType::Float32}), {20, 2});
  DataLoader loader(TensorDataset(inputs, arange(20.0)), {.batch_size = 3, .shuffle = true, .drop_last = true, .seed = 5});
  loader.start_epoch();
  for (int64_t begin : {int64_t{0}, int64_t{2}, int64_t{6}}) {
    BatchPrefetcher batches(loader, begin, loader.num_batches());
    int64_t i = begin;
    while (auto b = batches.next()) {
      const Batch expected = loader.batch(i++);
      REQUIRE(b->inputs.to_vector<float>() == expected.inputs.to_vector<float>());
      REQUIRE(b->labels.to_vector<int64_t>() == expected.labels.to_vector<int64_t>());
    }
    REQUIRE(i == loader.num_batches());
  }
}

TEST_CASE("BatchPrefetcher can be abandoned early and rejects bad ranges", "[data][prefetch]") {
  DataLoader loader(TensorDataset(zeros({10, 2})), {.batch_size = 2});
  loader.start_epoch();
  {
    BatchPrefetcher batches(loader, 0, 5);
    REQUIRE(batches.next().has_value());
  }  // destroyed with a batch pending: the worker must stop, not hang
  require_error([&] { BatchPrefetcher bad(loader, 3, 9); }, {"BatchPrefetcher", "[3, 9)", "5"});
}
