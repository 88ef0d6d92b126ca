#include "analysis/disentanglement/metric_utils.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "engine/creation.h"
#include "engine/shape.h"

namespace strata::analysis::detail {

Matrix codes_matrix(const Tensor& codes, const std::string& metric, const std::string& what) {
  STRATA_CHECK(codes.defined(), metric, ": ", what, " are undefined");
  STRATA_CHECK(codes.dim() == 2, metric, ": ", what, " must be [N, L], got ", shape_str(codes.shape()));
  STRATA_CHECK(codes.dtype() == DType::Float32 || codes.dtype() == DType::Float64, metric, ": ", what,
               " must be float32 or float64, got ", dtype_name(codes.dtype()));
  Matrix m{codes.size(0), codes.size(1), codes.to_vector<double>()};
  for (size_t i = 0; i < m.v.size(); ++i)
    STRATA_CHECK(std::isfinite(m.v[i]), metric, ": ", what, " ", shape_str(codes.shape()),
                 " hold a non-finite value (", m.v[i], ") at row ", static_cast<int64_t>(i) / m.cols,
                 ", column ", static_cast<int64_t>(i) % m.cols);
  return m;
}

Labels factor_matrix(const Tensor& factors, const std::string& metric, const std::string& what) {
  STRATA_CHECK(factors.defined(), metric, ": ", what, " are undefined");
  STRATA_CHECK(factors.dim() == 2, metric, ": ", what, " must be int64 [N, K], got ",
               shape_str(factors.shape()));
  STRATA_CHECK(factors.dtype() == DType::Int64, metric, ": ", what, " must be int64 classes, got ",
               dtype_name(factors.dtype()));
  Labels m{factors.size(0), factors.size(1), factors.to_vector<int64_t>()};
  for (size_t i = 0; i < m.v.size(); ++i)
    STRATA_CHECK(m.v[i] >= 0, metric, ": ", what, " ", shape_str(factors.shape()), " hold a negative class (",
                 m.v[i], ") at row ", static_cast<int64_t>(i) / m.cols, ", column ",
                 static_cast<int64_t>(i) % m.cols);
  return m;
}

void check_pair(const Matrix& codes, const Labels& factors, const std::string& metric, int64_t min_rows,
                const std::string& which) {
  const std::string of = which.empty() ? "" : " (" + which + ")";
  STRATA_CHECK(codes.rows == factors.rows, metric, ": codes [", codes.rows, ", ", codes.cols,
               "] and factors [", factors.rows, ", ", factors.cols, "]", of,
               " have different numbers of rows");
  STRATA_CHECK(codes.rows >= min_rows, metric, ": needs at least ", min_rows, " points", of, ", got ",
               codes.rows);
  STRATA_CHECK(codes.cols >= 1, metric, ": codes have no columns", of);
  STRATA_CHECK(factors.cols >= 1, metric, ": factors have no columns", of);
}

std::vector<int64_t> histogram_discretize(const Matrix& codes, int64_t j, int64_t bins) {
  double lo = codes(0, j), hi = codes(0, j);
  for (int64_t i = 1; i < codes.rows; ++i) lo = std::min(lo, codes(i, j)), hi = std::max(hi, codes(i, j));
  std::vector<int64_t> out(static_cast<size_t>(codes.rows), 0);
  if (!(hi > lo)) return out;
  // np.histogram's edges are np.linspace(lo, hi, bins + 1): lo + i * step, the last one exactly hi.
  std::vector<double> left(static_cast<size_t>(bins));
  const double step = (hi - lo) / static_cast<double>(bins);
  for (int64_t b = 0; b < bins; ++b) left[static_cast<size_t>(b)] = lo + static_cast<double>(b) * step;
  // np.digitize(z, left) counts the left edges <= z; minus one gives bins 0 .. bins - 1.
  for (int64_t i = 0; i < codes.rows; ++i) {
    const auto it = std::upper_bound(left.begin(), left.end(), codes(i, j));
    out[static_cast<size_t>(i)] = static_cast<int64_t>(it - left.begin()) - 1;
  }
  return out;
}

double discrete_mutual_information(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const double n = static_cast<double>(a.size());
  std::map<int64_t, double> ca, cb;
  std::map<std::pair<int64_t, int64_t>, double> cab;
  for (size_t i = 0; i < a.size(); ++i) ca[a[i]] += 1, cb[b[i]] += 1, cab[{a[i], b[i]}] += 1;
  double mi = 0;
  for (const auto& [key, c] : cab) mi += c / n * std::log(c * n / (ca[key.first] * cb[key.second]));
  return std::max(mi, 0.0);
}

double discrete_entropy(const std::vector<int64_t>& a) {
  const double n = static_cast<double>(a.size());
  std::map<int64_t, double> ca;
  for (const int64_t x : a) ca[x] += 1;
  double h = 0;
  for (const auto& [key, c] : ca) h -= c / n * std::log(c / n);
  return std::max(h, 0.0);
}

std::vector<int64_t> column(const Labels& factors, int64_t k) {
  std::vector<int64_t> out(static_cast<size_t>(factors.rows));
  for (int64_t i = 0; i < factors.rows; ++i) out[static_cast<size_t>(i)] = factors(i, k);
  return out;
}

std::vector<double> mutual_information_matrix(const Matrix& codes, const Labels& factors, int64_t bins) {
  std::vector<double> m(static_cast<size_t>(codes.cols * factors.cols));
  std::vector<std::vector<int64_t>> f(static_cast<size_t>(factors.cols));
  for (int64_t k = 0; k < factors.cols; ++k) f[static_cast<size_t>(k)] = column(factors, k);
  for (int64_t j = 0; j < codes.cols; ++j) {
    const std::vector<int64_t> z = histogram_discretize(codes, j, bins);
    for (int64_t k = 0; k < factors.cols; ++k)
      m[static_cast<size_t>(j * factors.cols + k)] =
          discrete_mutual_information(z, f[static_cast<size_t>(k)]);
  }
  return m;
}

std::vector<int64_t> random_factor_rows(const std::vector<int64_t>& sizes, int64_t n, Generator* gen) {
  const int64_t k = static_cast<int64_t>(sizes.size());
  std::vector<int64_t> rows(static_cast<size_t>(n * k));
  for (int64_t f = 0; f < k; ++f) {
    const std::vector<int64_t> c =
        randint(0, sizes[static_cast<size_t>(f)], {n}, {DType::Int64}, gen).to_vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i * k + f)] = c[static_cast<size_t>(i)];
  }
  return rows;
}

Matrix encode_rows(const FactorDataset& dataset, const Representation& representation,
                   const std::vector<int64_t>& rows, int64_t n, const std::string& metric,
                   int64_t expected_codes) {
  const int64_t k = dataset.num_factors();
  const Tensor observations = dataset.render(from_vector(rows, {n, k}));
  STRATA_CHECK(observations.dim() == 2 && observations.size(0) == n, metric, ": ", dataset.name(),
               ".render gave ", shape_str(observations.shape()), " for ", n, " factor rows, expected [", n,
               ", ", dataset.observation_dim(), "]");
  const Tensor z = representation(observations);
  STRATA_CHECK(z.defined() && z.dim() == 2 && z.size(0) == n, metric, ": the representation gave ",
               z.defined() ? shape_str(z.shape()) : std::string("an undefined tensor"), " for observations ",
               shape_str(observations.shape()), ", expected [", n, ", L]");
  STRATA_CHECK(expected_codes < 0 || z.size(1) == expected_codes, metric, ": the representation gave ",
               z.size(1), " codes per row, earlier batches ", expected_codes);
  return codes_matrix(z, metric, "the representation's codes");
}

EncodedLabels encode_labels(const std::vector<int64_t>& y, const std::string& classifier) {
  EncodedLabels out{y, {}};
  std::sort(out.classes.begin(), out.classes.end());
  out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
  STRATA_CHECK(out.classes.size() >= 2, classifier, ": the labels take a single value (",
               out.classes.empty() ? std::string("none") : std::to_string(out.classes[0]),
               "); a classifier needs at least two classes");
  out.index.reserve(y.size());
  for (int64_t label : y)
    out.index.push_back(std::lower_bound(out.classes.begin(), out.classes.end(), label) -
                        out.classes.begin());
  return out;
}

}  // namespace strata::analysis::detail
