#include "analysis/disentanglement/factor_vae_score.h"

#include <algorithm>
#include <cmath>

#include "analysis/disentanglement/metric_utils.h"
#include "engine/creation.h"

namespace strata::analysis {

namespace {

// Variance (ddof 1) of each column over rows [begin, begin + count) of z.
std::vector<double> column_variances(const detail::Matrix& z, int64_t begin, int64_t count) {
  std::vector<double> var(static_cast<size_t>(z.cols), 0.0);
  for (int64_t j = 0; j < z.cols; ++j) {
    double mean = 0;
    for (int64_t i = begin; i < begin + count; ++i) mean += z(i, j);
    mean /= static_cast<double>(count);
    double ss = 0;
    for (int64_t i = begin; i < begin + count; ++i) ss += (z(i, j) - mean) * (z(i, j) - mean);
    var[static_cast<size_t>(j)] = ss / static_cast<double>(count - 1);
  }
  return var;
}

}  // namespace

FactorVaeResult factor_vae_score(const FactorDataset& dataset, const Representation& representation,
                                 Generator* gen, const FactorVaeOptions& o) {
  STRATA_CHECK(static_cast<bool>(representation), "factor_vae_score: the representation function is empty");
  STRATA_CHECK(
      o.batch_size >= 2 && o.num_train >= 1 && o.num_eval >= 1 && o.num_variance_estimate >= 2 &&
          o.votes_per_call >= 1,
      "factor_vae_score: batch_size and num_variance_estimate must be at least 2 and num_train, num_eval, "
      "votes_per_call at least 1, got ",
      o.batch_size, ", ", o.num_variance_estimate, ", ", o.num_train, ", ", o.num_eval, ", ",
      o.votes_per_call);
  const std::vector<int64_t> sizes = dataset.factor_sizes();
  const int64_t k = static_cast<int64_t>(sizes.size());
  STRATA_CHECK(k >= 1, "factor_vae_score: ", dataset.name(), " has no factors");
  for (int64_t f = 0; f < k; ++f)
    STRATA_CHECK(sizes[static_cast<size_t>(f)] >= 1, "factor_vae_score: ", dataset.name(), " factor ", f,
                 " has ", sizes[static_cast<size_t>(f)], " values");

  FactorVaeResult r;
  // 1. Global variances, encoded 1,000 rows at a time.
  std::vector<double> all;
  int64_t l = -1;
  {
    const std::vector<int64_t> rows = detail::random_factor_rows(sizes, o.num_variance_estimate, gen);
    for (int64_t s = 0; s < o.num_variance_estimate; s += 1000) {
      const int64_t b = std::min<int64_t>(1000, o.num_variance_estimate - s);
      const detail::Matrix z = detail::encode_rows(
          dataset, representation, std::vector<int64_t>(rows.begin() + s * k, rows.begin() + (s + b) * k), b,
          "factor_vae_score", l);
      l = z.cols;
      all.insert(all.end(), z.v.begin(), z.v.end());
    }
  }
  const detail::Matrix codes{o.num_variance_estimate, l, std::move(all)};
  r.global_variances = column_variances(codes, 0, codes.rows);
  for (int64_t j = 0; j < l; ++j)
    if (std::sqrt(r.global_variances[static_cast<size_t>(j)]) >= o.prune_threshold)
      r.active_dims.push_back(j);
  r.num_active_dims = static_cast<int64_t>(r.active_dims.size());
  r.dim_to_factor.assign(static_cast<size_t>(l), -1);
  r.training_votes.assign(static_cast<size_t>(l * k), 0);
  if (r.active_dims.empty()) return r;

  // 2. Votes, votes_per_call at a time.
  auto votes = [&](int64_t count) {
    std::vector<int64_t> v(static_cast<size_t>(l * k), 0);
    for (int64_t done = 0; done < count; done += o.votes_per_call) {
      const int64_t g = std::min(o.votes_per_call, count - done);
      std::vector<int64_t> fixed(static_cast<size_t>(g)), rows;
      for (int64_t t = 0; t < g; ++t) {
        const int64_t f = randint(0, k, {1}, {DType::Int64}, gen).item<int64_t>();
        std::vector<int64_t> batch = detail::random_factor_rows(sizes, o.batch_size, gen);
        for (int64_t i = 1; i < o.batch_size; ++i)
          batch[static_cast<size_t>(i * k + f)] = batch[static_cast<size_t>(f)];
        fixed[static_cast<size_t>(t)] = f;
        rows.insert(rows.end(), batch.begin(), batch.end());
      }
      const detail::Matrix z =
          detail::encode_rows(dataset, representation, rows, g * o.batch_size, "factor_vae_score", l);
      for (int64_t t = 0; t < g; ++t) {
        const std::vector<double> local = column_variances(z, t * o.batch_size, o.batch_size);
        int64_t best = -1;
        double best_ratio = 0;
        for (const int64_t j : r.active_dims) {
          const double ratio = local[static_cast<size_t>(j)] / r.global_variances[static_cast<size_t>(j)];
          if (best < 0 || ratio < best_ratio) best = j, best_ratio = ratio;
        }
        ++v[static_cast<size_t>(best * k + fixed[static_cast<size_t>(t)])];
      }
    }
    return v;
  };
  r.training_votes = votes(o.num_train);
  // 3. Majority vote per code, and its accuracies.
  auto accuracy = [&](const std::vector<int64_t>& v) {
    int64_t hit = 0, total = 0;
    for (int64_t j = 0; j < l; ++j)
      for (int64_t f = 0; f < k; ++f) {
        total += v[static_cast<size_t>(j * k + f)];
        if (r.dim_to_factor[static_cast<size_t>(j)] == f) hit += v[static_cast<size_t>(j * k + f)];
      }
    return total == 0 ? 0.0 : static_cast<double>(hit) / static_cast<double>(total);
  };
  // np.argmax over the factors: an active code without training votes predicts factor 0.
  for (const int64_t j : r.active_dims) {
    int64_t best = 0, most = r.training_votes[static_cast<size_t>(j * k)];
    for (int64_t f = 1; f < k; ++f)
      if (r.training_votes[static_cast<size_t>(j * k + f)] > most)
        best = f, most = r.training_votes[static_cast<size_t>(j * k + f)];
    r.dim_to_factor[static_cast<size_t>(j)] = best;
  }
  r.train_accuracy = accuracy(r.training_votes);
  r.eval_accuracy = accuracy(votes(o.num_eval));
  return r;
}

}  // namespace strata::analysis
