#include "models/flows/sample_distances.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/creation.h"
#include "ops/ops.h"

namespace strata::models {

namespace {

void check_set(const char* what, const Tensor& t, int64_t min_rows) {
  STRATA_CHECK(t.defined() && t.dim() == 2 && t.size(0) >= min_rows && t.size(1) >= 1, what,
               ": samples must be [n, D] with n >= ", min_rows, ", got ",
               t.defined() ? shape_str(t.shape()) : "an undefined tensor");
}

}  // namespace

double sliced_wasserstein2(const Tensor& a, const Tensor& b, int64_t directions, Generator* gen) {
  check_set("sliced_wasserstein2", a, 1);
  check_set("sliced_wasserstein2", b, 1);
  STRATA_CHECK(a.shape() == b.shape(), "sliced_wasserstein2: the two sets must have one shape, got ",
               shape_str(a.shape()), " and ", shape_str(b.shape()));
  STRATA_CHECK(directions >= 1, "sliced_wasserstein2: directions must be at least 1, got ", directions);
  const int64_t n = a.size(0), d = a.size(1);
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  const std::vector<double> w = randn({directions, d}, {DType::Float64}, gen).to_vector<double>();
  std::vector<double> pa(n), pb(n);
  double total = 0;
  for (int64_t k = 0; k < directions; ++k) {
    double norm = 0;
    for (int64_t j = 0; j < d; ++j) norm += w[k * d + j] * w[k * d + j];
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < n; ++i) {
      double sa = 0, sb = 0;
      for (int64_t j = 0; j < d; ++j) sa += av[i * d + j] * w[k * d + j], sb += bv[i * d + j] * w[k * d + j];
      pa[i] = sa / norm, pb[i] = sb / norm;
    }
    std::sort(pa.begin(), pa.end());
    std::sort(pb.begin(), pb.end());
    double w2 = 0;
    for (int64_t i = 0; i < n; ++i) w2 += (pa[i] - pb[i]) * (pa[i] - pb[i]);
    total += w2 / static_cast<double>(n);
  }
  return std::sqrt(total / static_cast<double>(directions));
}

double mmd_squared(const Tensor& a, const Tensor& b, const std::vector<double>& bandwidths) {
  check_set("mmd_squared", a, 2);
  check_set("mmd_squared", b, 2);
  STRATA_CHECK(a.size(1) == b.size(1), "mmd_squared: the sets have different dimensions: ", shape_str(a.shape()),
               " and ", shape_str(b.shape()));
  STRATA_CHECK(!bandwidths.empty(), "mmd_squared: needs at least one bandwidth");
  for (double s : bandwidths) STRATA_CHECK(s > 0 && std::isfinite(s), "mmd_squared: bandwidths must be positive, got ", s);
  // The estimator of ops/mmd (written once, shared with WAE/InfoVAE), in float64 for the figure;
  // its Gaussian kernel exp(-d^2 / C) is this one with C = 2 s^2.
  std::vector<double> scales;
  for (double s : bandwidths) scales.push_back(2 * s * s);
  NoGradGuard no_grad;
  return mmd_biased(to_dtype(a, DType::Float64), to_dtype(b, DType::Float64), MmdKernel::Gaussian, scales)
      .item<double>();
}

}  // namespace strata::models
