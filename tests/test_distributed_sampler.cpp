// Each rank's shard of an epoch (engine/data/distributed_sampler.h, DataLoaderOptions world_size/rank).
#include <algorithm>
#include <set>

#include "engine/data/distributed_sampler.h"
#include "engine/data/loader.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {
Tensor order_of(const std::vector<int64_t>& v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }
}  // namespace

TEST_CASE("shards interleave the order and, across ranks, cover it exactly once", "[data][distributed]") {
  const Tensor order = order_of({7, 3, 9, 0, 5, 1, 8, 2, 6, 4, 11, 10});
  // By hand: rank r takes positions r, r + 3, r + 6, r + 9.
  REQUIRE(shard_of_order(order, 0, 3, true).to_vector<int64_t>() == std::vector<int64_t>{7, 0, 8, 4});
  REQUIRE(shard_of_order(order, 1, 3, true).to_vector<int64_t>() == std::vector<int64_t>{3, 5, 2, 11});
  REQUIRE(shard_of_order(order, 2, 3, true).to_vector<int64_t>() == std::vector<int64_t>{9, 1, 6, 10});
  for (int64_t world : {1, 2, 3, 4, 6, 12}) {
    std::multiset<int64_t> seen;
    for (int64_t r = 0; r < world; ++r)
      for (int64_t i : shard_of_order(order, r, world, true).to_vector<int64_t>()) seen.insert(i);
    REQUIRE(seen.size() == 12);
    REQUIRE(std::set<int64_t>(seen.begin(), seen.end()).size() == 12);
  }
}

TEST_CASE("when the ranks cannot share an order equally, the tail is dropped or the head repeated",
          "[data][distributed]") {
  const Tensor order = order_of({4, 0, 3, 1, 2});  // N = 5, W = 2
  REQUIRE(shard_size(5, 2, true) == 2);
  REQUIRE(shard_size(5, 2, false) == 3);
  REQUIRE(shard_of_order(order, 0, 2, true).to_vector<int64_t>() == std::vector<int64_t>{4, 3});
  REQUIRE(shard_of_order(order, 1, 2, true).to_vector<int64_t>() == std::vector<int64_t>{0, 1});  // 2 left out
  REQUIRE(shard_of_order(order, 0, 2, false).to_vector<int64_t>() == std::vector<int64_t>{4, 3, 2});
  REQUIRE(shard_of_order(order, 1, 2, false).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 4});  // 4 again
  require_error([&] { shard_of_order(order, 2, 2, true); }, {"shard_of_order", "rank 2", "0..1"});
  require_error([&] { shard_size(5, 0, true); }, {"world_size must be at least 1"});
}

TEST_CASE("W loaders of batch B together give, step by step, one loader's batches of W B", "[data][distributed]") {
  Generator gen(3);
  const TensorDataset data(rand({60, 2}, {}, &gen), arange(60.0));
  const int64_t world = 3, batch = 4;
  DataLoader whole(data, {.batch_size = world * batch, .shuffle = true, .drop_last = true, .seed = 11});
  std::vector<DataLoader> ranks;
  for (int64_t r = 0; r < world; ++r)
    ranks.emplace_back(data, DataLoaderOptions{.batch_size = batch, .shuffle = true, .drop_last = true, .seed = 11,
                                               .world_size = world, .rank = r});
  for (int epoch = 0; epoch < 2; ++epoch) {
    whole.start_epoch();
    for (auto& l : ranks) l.start_epoch();
    REQUIRE(ranks[0].num_batches() == whole.num_batches());  // 60 / 3 / 4 = 5 = 60 / 12
    std::set<int64_t> epoch_seen;
    for (int64_t i = 0; i < whole.num_batches(); ++i) {
      std::vector<int64_t> expected = whole.batch(i).labels.to_vector<int64_t>();
      std::vector<int64_t> got;
      for (const auto& l : ranks) {
        const std::vector<int64_t> part = l.batch(i).labels.to_vector<int64_t>();
        got.insert(got.end(), part.begin(), part.end());
      }
      std::sort(expected.begin(), expected.end());
      std::sort(got.begin(), got.end());
      REQUIRE(got == expected);
      epoch_seen.insert(got.begin(), got.end());
    }
    REQUIRE(epoch_seen.size() == 60);  // every example exactly once in the epoch
  }
  // A restored rank loader continues with the same shard.
  DataLoader again(data, ranks[1].options());
  again.restore(ranks[1].state());
  REQUIRE(again.batch(2).labels.to_vector<int64_t>() == ranks[1].batch(2).labels.to_vector<int64_t>());
}
