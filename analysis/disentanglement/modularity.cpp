#include "analysis/disentanglement/modularity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "analysis/disentanglement/metric_utils.h"

namespace strata::analysis {

double modularity_from_mutual_information(const std::vector<double>& mi, int64_t num_codes,
                                          int64_t num_factors, std::vector<double>* per_code) {
  STRATA_CHECK(
      num_codes >= 1 && num_factors >= 2 && static_cast<int64_t>(mi.size()) == num_codes * num_factors,
      "modularity: mutual information matrix has ", mi.size(), " values for ", num_codes, " codes x ",
      num_factors, " factors (needs at least 2 factors)");
  double sum = 0;
  if (per_code) per_code->clear();
  for (int64_t j = 0; j < num_codes; ++j) {
    double total = 0, top = 0;
    for (int64_t k = 0; k < num_factors; ++k) {
      const double s =
          mi[static_cast<size_t>(j * num_factors + k)] * mi[static_cast<size_t>(j * num_factors + k)];
      total += s, top = std::max(top, s);
    }
    const double m = top == 0 ? 0.0 : 1.0 - (total - top) / (top * static_cast<double>(num_factors - 1));
    if (per_code) per_code->push_back(m);
    sum += m;
  }
  return sum / static_cast<double>(num_codes);
}

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t s = 0; s < n;) {
    size_t e = s;
    while (e < n && scores[idx[e]] == scores[idx[s]]) ++e;
    const double mid = (static_cast<double>(s) + static_cast<double>(e - 1)) / 2 + 1;  // average 1-based rank
    for (size_t t = s; t < e; ++t)
      if (positive[idx[t]]) rank_sum += mid, pos += 1;
    s = e;
  }
  const double neg = static_cast<double>(n) - pos;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

ModularityResult modularity(const Tensor& codes, const Tensor& factors, const ModularityOptions& options) {
  STRATA_CHECK(options.num_bins >= 2, "modularity: num_bins must be at least 2, got ", options.num_bins);
  const detail::Matrix z = detail::codes_matrix(codes, "modularity");
  const detail::Labels v = detail::factor_matrix(factors, "modularity");
  detail::check_pair(z, v, "modularity", 2);
  STRATA_CHECK(v.cols >= 2, "modularity: needs at least 2 factors, got factors [", v.rows, ", ", v.cols, "]");
  ModularityResult r;
  r.mutual_information = detail::mutual_information_matrix(z, v, options.num_bins);
  r.modularity = modularity_from_mutual_information(r.mutual_information, z.cols, v.cols, &r.per_code);
  return r;
}

ModularityResult modularity_explicitness(const Tensor& train_codes, const Tensor& train_factors,
                                         const Tensor& test_codes, const Tensor& test_factors,
                                         const ModularityOptions& options) {
  ModularityResult r = modularity(train_codes, train_factors, options);
  detail::Matrix z = detail::codes_matrix(train_codes, "modularity", "training codes");
  const detail::Labels v = detail::factor_matrix(train_factors, "modularity", "training factors");
  detail::Matrix zt = detail::codes_matrix(test_codes, "modularity", "test codes");
  const detail::Labels vt = detail::factor_matrix(test_factors, "modularity", "test factors");
  detail::check_pair(zt, vt, "modularity", 1, "test");
  STRATA_CHECK(zt.cols == z.cols && vt.cols == v.cols, "modularity: test codes [", zt.rows, ", ", zt.cols,
               "] and factors [", vt.rows, ", ", vt.cols, "] do not match the training ones' widths [",
               z.rows, ", ", z.cols, "] and [", v.rows, ", ", v.cols, "]");
  // Standardise with the training statistics (utils.normalize_data).
  for (int64_t j = 0; j < z.cols; ++j) {
    double mean = 0, ss = 0;
    for (int64_t i = 0; i < z.rows; ++i) mean += z(i, j);
    mean /= static_cast<double>(z.rows);
    for (int64_t i = 0; i < z.rows; ++i) ss += (z(i, j) - mean) * (z(i, j) - mean);
    double sd = std::sqrt(ss / static_cast<double>(z.rows));
    if (!(sd > 0)) sd = 1;
    for (int64_t i = 0; i < z.rows; ++i) z(i, j) = (z(i, j) - mean) / sd;
    for (int64_t i = 0; i < zt.rows; ++i) zt(i, j) = (zt(i, j) - mean) / sd;
  }
  auto macro_auc = [](const std::vector<double>& p, const std::vector<int64_t>& classes,
                      const std::vector<int64_t>& labels) {
    const size_t c = classes.size();
    double sum = 0;
    int64_t count = 0;
    for (size_t k = 0; k < c; ++k) {
      std::vector<double> s(labels.size());
      std::vector<bool> pos(labels.size());
      for (size_t i = 0; i < labels.size(); ++i) s[i] = p[i * c + k], pos[i] = labels[i] == classes[k];
      const double a = roc_auc(s, pos);
      if (!std::isnan(a)) sum += a, ++count;
    }
    return count == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(count);
  };
  double train_sum = 0, test_sum = 0;
  for (int64_t k = 0; k < v.cols; ++k) {
    const std::vector<int64_t> y = detail::column(v, k), yt = detail::column(vt, k);
    bool varies = false;
    for (const int64_t c : y) varies = varies || c != y[0];
    STRATA_CHECK(varies, "modularity: factor ", k, " takes a single value (", y[0], ") in the ", v.rows,
                 " training points; explicitness needs two or more");
    LogisticRegression model(options.classifier);
    model.fit(z.v, z.rows, z.cols, y);
    const double train = macro_auc(model.predict_proba(z.v, z.rows), model.classes(), y);
    const double test = macro_auc(model.predict_proba(zt.v, zt.rows), model.classes(), yt);
    r.explicitness_per_factor.push_back(test);
    train_sum += train, test_sum += test;
  }
  r.explicitness_train = train_sum / static_cast<double>(v.cols);
  r.explicitness_test = test_sum / static_cast<double>(v.cols);
  return r;
}

}  // namespace strata::analysis
