#include "analysis/disentanglement/mig.h"

#include <algorithm>

#include "analysis/disentanglement/metric_utils.h"

namespace strata::analysis {

MigResult mig(const Tensor& codes, const Tensor& factors, const MigOptions& options) {
  STRATA_CHECK(options.num_bins >= 2, "mig: num_bins must be at least 2, got ", options.num_bins);
  const detail::Matrix z = detail::codes_matrix(codes, "mig");
  const detail::Labels v = detail::factor_matrix(factors, "mig");
  detail::check_pair(z, v, "mig", 2);
  STRATA_CHECK(z.cols >= 2, "mig: needs at least 2 code dimensions for a gap, got codes [", z.rows, ", ",
               z.cols, "]");
  MigResult r;
  r.num_codes = z.cols;
  r.num_factors = v.cols;
  r.mutual_information = detail::mutual_information_matrix(z, v, options.num_bins);
  double sum = 0;
  for (int64_t k = 0; k < v.cols; ++k) {
    const double h = detail::discrete_entropy(detail::column(v, k));
    STRATA_CHECK(h > 0, "mig: factor ", k, " takes a single value in the ", v.rows,
                 " sampled points (entropy 0), so its gap cannot be normalised");
    std::vector<double> m(static_cast<size_t>(z.cols));
    for (int64_t j = 0; j < z.cols; ++j)
      m[static_cast<size_t>(j)] = r.mutual_information[static_cast<size_t>(j * v.cols + k)];
    std::partial_sort(m.begin(), m.begin() + 2, m.end(), std::greater<double>());
    const double gap = (m[0] - m[1]) / h;
    r.factor_entropy.push_back(h);
    r.per_factor.push_back(gap);
    sum += gap;
  }
  r.score = sum / static_cast<double>(v.cols);
  return r;
}

}  // namespace strata::analysis
