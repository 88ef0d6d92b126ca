#include "analysis/disentanglement/beta_vae_score.h"

#include <algorithm>
#include <cmath>

#include "analysis/disentanglement/metric_utils.h"
#include "engine/creation.h"

namespace strata::analysis {

BetaVaeResult beta_vae_score(const FactorDataset& dataset, const Representation& representation,
                             Generator* gen, const BetaVaeOptions& o) {
  STRATA_CHECK(static_cast<bool>(representation), "beta_vae_score: the representation function is empty");
  STRATA_CHECK(
      o.batch_size >= 1 && o.num_train >= 2 && o.num_eval >= 1 && o.points_per_call >= 1,
      "beta_vae_score: batch_size, num_eval and points_per_call must be at least 1 and num_train at least 2, "
      "got ",
      o.batch_size, ", ", o.num_eval, ", ", o.points_per_call, ", ", o.num_train);
  const std::vector<int64_t> sizes = dataset.factor_sizes();
  const int64_t k = static_cast<int64_t>(sizes.size());
  STRATA_CHECK(k >= 2, "beta_vae_score: ", dataset.name(), " has ", k,
               " factor(s); the classifier needs two or more");
  int64_t l = -1;
  auto points = [&](int64_t count, std::vector<double>& features, std::vector<int64_t>& labels) {
    for (int64_t done = 0; done < count; done += o.points_per_call) {
      const int64_t g = std::min(o.points_per_call, count - done);
      std::vector<int64_t> rows1, rows2;
      for (int64_t t = 0; t < g; ++t) {
        const int64_t f = randint(0, k, {1}, {DType::Int64}, gen).item<int64_t>();
        const std::vector<int64_t> a = detail::random_factor_rows(sizes, o.batch_size, gen);
        std::vector<int64_t> b = detail::random_factor_rows(sizes, o.batch_size, gen);
        for (int64_t i = 0; i < o.batch_size; ++i)
          b[static_cast<size_t>(i * k + f)] = a[static_cast<size_t>(i * k + f)];
        rows1.insert(rows1.end(), a.begin(), a.end());
        rows2.insert(rows2.end(), b.begin(), b.end());
        labels.push_back(f);
      }
      const detail::Matrix z1 =
          detail::encode_rows(dataset, representation, rows1, g * o.batch_size, "beta_vae_score", l);
      l = z1.cols;
      const detail::Matrix z2 =
          detail::encode_rows(dataset, representation, rows2, g * o.batch_size, "beta_vae_score", l);
      for (int64_t t = 0; t < g; ++t)
        for (int64_t j = 0; j < l; ++j) {
          double s = 0;
          for (int64_t i = t * o.batch_size; i < (t + 1) * o.batch_size; ++i)
            s += std::abs(z1(i, j) - z2(i, j));
          features.push_back(s / static_cast<double>(o.batch_size));
        }
    }
  };
  std::vector<double> x_train, x_eval;
  std::vector<int64_t> y_train, y_eval;
  points(o.num_train, x_train, y_train);
  bool varies = false;
  for (const int64_t y : y_train) varies = varies || y != y_train[0];
  STRATA_CHECK(varies, "beta_vae_score: all ", o.num_train, " training points drew factor ", y_train[0],
               "; use more training points");
  LogisticRegression model(o.classifier);
  model.fit(x_train, o.num_train, l, y_train);
  points(o.num_eval, x_eval, y_eval);
  auto accuracy = [&](const std::vector<double>& x, const std::vector<int64_t>& y) {
    const std::vector<int64_t> pred = model.predict(x, static_cast<int64_t>(y.size()));
    int64_t hit = 0;
    for (size_t i = 0; i < y.size(); ++i) hit += pred[i] == y[i];
    return static_cast<double>(hit) / static_cast<double>(y.size());
  };
  BetaVaeResult r;
  r.train_accuracy = accuracy(x_train, y_train);
  r.eval_accuracy = accuracy(x_eval, y_eval);
  r.iterations = model.iterations();
  return r;
}

}  // namespace strata::analysis
