#include "analysis/disentanglement/dci.h"

#include <cmath>

#include "analysis/disentanglement/metric_utils.h"

namespace strata::analysis {

namespace {

// 1 - entropy of p / sum p in base `base` (scipy.stats.entropy(p + 1e-11, base = base)).
double one_minus_entropy(std::vector<double> p, int64_t base) {
  double total = 0;
  for (double& x : p) total += (x += 1e-11);
  double h = 0;
  for (const double x : p) h -= x / total * std::log(x / total);
  return 1.0 - h / std::log(static_cast<double>(base));
}

}  // namespace

DciScores dci_from_importance(const std::vector<double>& r, int64_t num_codes, int64_t num_factors) {
  STRATA_CHECK(
      num_codes >= 1 && num_factors >= 1 && static_cast<int64_t>(r.size()) == num_codes * num_factors,
      "dci: importance matrix has ", r.size(), " values, expected ", num_codes, " x ", num_factors);
  for (size_t i = 0; i < r.size(); ++i)
    STRATA_CHECK(std::isfinite(r[i]) && r[i] >= 0, "dci: importance R[",
                 static_cast<int64_t>(i) / num_factors, ", ", static_cast<int64_t>(i) % num_factors,
                 "] = ", r[i], " is not a finite non-negative value");
  STRATA_CHECK(num_codes >= 2 || num_factors >= 2, "dci: a 1 x 1 importance matrix has no entropy base");
  DciScores s;
  double total = 0;
  for (const double x : r) total += x;
  const bool zero = total == 0;
  const double all = zero ? static_cast<double>(r.size()) : total;
  auto at = [&](int64_t j, int64_t k) { return zero ? 1.0 : r[static_cast<size_t>(j * num_factors + k)]; };
  for (int64_t j = 0; j < num_codes; ++j) {
    std::vector<double> row(static_cast<size_t>(num_factors));
    double w = 0;
    for (int64_t k = 0; k < num_factors; ++k)
      row[static_cast<size_t>(k)] = r[static_cast<size_t>(j * num_factors + k)], w += at(j, k);
    const double dj = num_factors >= 2 ? one_minus_entropy(row, num_factors) : 1.0;
    s.per_code.push_back(dj);
    s.disentanglement += dj * w / all;
  }
  for (int64_t k = 0; k < num_factors; ++k) {
    std::vector<double> col(static_cast<size_t>(num_codes));
    double w = 0;
    for (int64_t j = 0; j < num_codes; ++j)
      col[static_cast<size_t>(j)] = r[static_cast<size_t>(j * num_factors + k)], w += at(j, k);
    const double ck = num_codes >= 2 ? one_minus_entropy(col, num_codes) : 1.0;
    s.per_factor.push_back(ck);
    s.completeness += ck * w / all;
  }
  return s;
}

DciResult dci(const Tensor& train_codes, const Tensor& train_factors, const Tensor& test_codes,
              const Tensor& test_factors, const DciOptions& options) {
  const detail::Matrix z = detail::codes_matrix(train_codes, "dci", "training codes");
  const detail::Labels v = detail::factor_matrix(train_factors, "dci", "training factors");
  detail::check_pair(z, v, "dci", 2, "training");
  const detail::Matrix zt = detail::codes_matrix(test_codes, "dci", "test codes");
  const detail::Labels vt = detail::factor_matrix(test_factors, "dci", "test factors");
  detail::check_pair(zt, vt, "dci", 1, "test");
  STRATA_CHECK(zt.cols == z.cols && vt.cols == v.cols, "dci: test codes [", zt.rows, ", ", zt.cols,
               "] and factors [", vt.rows, ", ", vt.cols, "] do not match the training ones' widths [",
               z.rows, ", ", z.cols, "] and [", v.rows, ", ", v.cols, "]");
  STRATA_CHECK(z.cols >= 2 || v.cols >= 2, "dci: needs at least 2 codes or 2 factors, got codes [", z.rows,
               ", ", z.cols, "] and factors [", v.rows, ", ", v.cols, "]");
  DciResult r;
  r.num_codes = z.cols;
  r.num_factors = v.cols;
  r.importance.assign(static_cast<size_t>(z.cols * v.cols), 0.0);
  for (int64_t k = 0; k < v.cols; ++k) {
    const std::vector<int64_t> y = detail::column(v, k), yt = detail::column(vt, k);
    bool varies = false;
    for (const int64_t c : y) varies = varies || c != y[0];
    STRATA_CHECK(varies, "dci: factor ", k, " takes a single value (", y[0], ") in the ", v.rows,
                 " training points; its classifier needs two or more");
    GradientBoostingClassifier model(options.trees);
    model.fit(z.v, z.rows, z.cols, y);
    for (int64_t j = 0; j < z.cols; ++j)
      r.importance[static_cast<size_t>(j * v.cols + k)] =
          std::abs(model.feature_importances()[static_cast<size_t>(j)]);
    auto accuracy = [&](const detail::Matrix& m, const std::vector<int64_t>& labels) {
      const std::vector<int64_t> pred = model.predict(m.v, m.rows);
      int64_t hit = 0;
      for (size_t i = 0; i < pred.size(); ++i) hit += pred[i] == labels[i];
      return static_cast<double>(hit) / static_cast<double>(pred.size());
    };
    const double train = accuracy(z, y), test = accuracy(zt, yt);
    r.train_accuracy += train / static_cast<double>(v.cols);
    r.informativeness += test / static_cast<double>(v.cols);
    r.test_accuracy.push_back(test);
  }
  DciScores s = dci_from_importance(r.importance, z.cols, v.cols);
  r.disentanglement = s.disentanglement;
  r.completeness = s.completeness;
  r.per_code = std::move(s.per_code);
  r.per_factor = std::move(s.per_factor);
  return r;
}

}  // namespace strata::analysis
