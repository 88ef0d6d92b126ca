#include "analysis/disentanglement/sap.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "analysis/disentanglement/metric_utils.h"

namespace strata::analysis {

double nearest_class_mean_accuracy(const std::vector<double>& z_train, const std::vector<int64_t>& y_train,
                                   const std::vector<double>& z_test, const std::vector<int64_t>& y_test) {
  std::map<int64_t, std::pair<double, double>> sums;  // class -> (sum, count), classes ascending
  for (size_t i = 0; i < z_train.size(); ++i) {
    auto& s = sums[y_train[i]];
    s.first += z_train[i], s.second += 1;
  }
  std::vector<std::pair<int64_t, double>> means;
  for (const auto& [c, s] : sums) means.emplace_back(c, s.first / s.second);
  int64_t correct = 0;
  for (size_t i = 0; i < z_test.size(); ++i) {
    int64_t best = -1;
    double best_d = 0;
    for (const auto& [c, mu] : means) {
      const double d = std::abs(z_test[i] - mu);
      if (best < 0 || d < best_d) best = c, best_d = d;
    }
    correct += best == y_test[i];
  }
  return z_test.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(z_test.size());
}

SapResult sap(const Tensor& train_codes, const Tensor& train_factors, const Tensor& test_codes,
              const Tensor& test_factors, const SapOptions& options) {
  const detail::Matrix z = detail::codes_matrix(train_codes, "sap", "training codes");
  const detail::Labels v = detail::factor_matrix(train_factors, "sap", "training factors");
  detail::check_pair(z, v, "sap", 2, "training");
  STRATA_CHECK(z.cols >= 2, "sap: needs at least 2 code dimensions for a gap, got codes [", z.rows, ", ",
               z.cols, "]");
  detail::Matrix zt;
  detail::Labels vt;
  if (!options.continuous_factors) {
    zt = detail::codes_matrix(test_codes, "sap", "test codes");
    vt = detail::factor_matrix(test_factors, "sap", "test factors");
    detail::check_pair(zt, vt, "sap", 1, "test");
    STRATA_CHECK(zt.cols == z.cols && vt.cols == v.cols, "sap: test codes [", zt.rows, ", ", zt.cols,
                 "] and factors [", vt.rows, ", ", vt.cols, "] do not match the training ones' widths [",
                 z.rows, ", ", z.cols, "] and [", v.rows, ", ", v.cols, "]");
  }
  SapResult r;
  r.num_codes = z.cols;
  r.num_factors = v.cols;
  r.score_matrix.assign(static_cast<size_t>(z.cols * v.cols), 0.0);
  for (int64_t j = 0; j < z.cols; ++j) {
    std::vector<double> zj(static_cast<size_t>(z.rows)), zj_test(static_cast<size_t>(zt.rows));
    for (int64_t i = 0; i < z.rows; ++i) zj[static_cast<size_t>(i)] = z(i, j);
    for (int64_t i = 0; i < zt.rows; ++i) zj_test[static_cast<size_t>(i)] = zt(i, j);
    for (int64_t k = 0; k < v.cols; ++k) {
      double s = 0;
      if (options.continuous_factors) {
        // np.cov with ddof = 1; the ddof cancels in the squared correlation.
        double mz = 0, mv = 0;
        for (int64_t i = 0; i < z.rows; ++i) mz += z(i, j), mv += static_cast<double>(v(i, k));
        mz /= static_cast<double>(z.rows), mv /= static_cast<double>(z.rows);
        double czz = 0, cvv = 0, czv = 0;
        for (int64_t i = 0; i < z.rows; ++i) {
          const double a = z(i, j) - mz, b = static_cast<double>(v(i, k)) - mv;
          czz += a * a, cvv += b * b, czv += a * b;
        }
        const double d = static_cast<double>(z.rows - 1);
        czz /= d, cvv /= d, czv /= d;
        s = czz > 1e-12 && cvv > 0 ? czv * czv / (czz * cvv) : 0.0;
      } else {
        s = nearest_class_mean_accuracy(zj, detail::column(v, k), zj_test, detail::column(vt, k));
      }
      r.score_matrix[static_cast<size_t>(j * v.cols + k)] = s;
    }
  }
  double sum = 0;
  for (int64_t k = 0; k < v.cols; ++k) {
    std::vector<double> col(static_cast<size_t>(z.cols));
    for (int64_t j = 0; j < z.cols; ++j)
      col[static_cast<size_t>(j)] = r.score_matrix[static_cast<size_t>(j * v.cols + k)];
    std::partial_sort(col.begin(), col.begin() + 2, col.end(), std::greater<double>());
    r.per_factor.push_back(col[0] - col[1]);
    sum += col[0] - col[1];
  }
  r.score = sum / static_cast<double>(v.cols);
  return r;
}

}  // namespace strata::analysis
