#include "engine/data/split.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "engine/creation.h"
#include "engine/random.h"

namespace strata {

TrainValidationSplit random_split(const TensorDataset& data, double fraction, uint64_t seed) {
  const int64_t n = data.size();
  STRATA_CHECK(fraction >= 0 && fraction < 1, "random_split: the validation fraction must be in [0, 1), got ", fraction);
  if (fraction == 0) return {data, data};
  const int64_t held_out = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(n)));
  STRATA_CHECK(held_out < n, "random_split: holding out ", held_out, " of ", n, " examples (fraction ", fraction,
               ") leaves none to train on");
  Generator gen(seed);
  std::vector<int64_t> order = randperm(n, &gen).to_vector<int64_t>();
  std::vector<int64_t> validation(order.begin(), order.begin() + held_out), train(order.begin() + held_out, order.end());
  std::sort(validation.begin(), validation.end());
  std::sort(train.begin(), train.end());
  const auto rows = [&](const std::vector<int64_t>& idx) {
    const Batch b = data.gather(from_vector(idx, {static_cast<int64_t>(idx.size())}));
    return TensorDataset(b.inputs, b.labels);
  };
  return {rows(train), rows(validation)};
}

}  // namespace strata
