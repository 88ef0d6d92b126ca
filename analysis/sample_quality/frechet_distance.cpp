#include "analysis/sample_quality/frechet_distance.h"

#include <cmath>
#include <limits>

#include "analysis/linear_algebra.h"
#include "engine/creation.h"
#include "engine/shape.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata::analysis {

namespace {

constexpr double kRegularisation = 1e-6;  // added to both diagonals when S1 S2 is singular

bool is_float(const Tensor& t) { return t.dtype() == DType::Float32 || t.dtype() == DType::Float64; }

void check_features(const Tensor& f, const char* op, const char* what) {
  STRATA_CHECK(f.defined(), op, ": ", what, " are undefined");
  STRATA_CHECK(f.dim() == 2, op, ": ", what, " must be [N, F], got ", shape_str(f.shape()));
  STRATA_CHECK(is_float(f), op, ": ", what, " must be float32 or float64, got ", dtype_name(f.dtype()));
  STRATA_CHECK(f.size(0) >= 2 && f.size(1) >= 1, op, ": ", what,
               " need at least 2 vectors of at least 1 feature to fit a covariance, got ",
               shape_str(f.shape()));
}

std::vector<double> finite_values(const Tensor& t, const char* op, const char* what) {
  std::vector<double> v = t.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    STRATA_CHECK(std::isfinite(v[i]), op, ": ", what, " ", shape_str(t.shape()), " hold a non-finite value (",
                 v[i], ") at flat index ", i);
  return v;
}

double trace(const std::vector<double>& m, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += m[static_cast<size_t>(i * n + i)];
  return s;
}

// Tr((S1 S2)^{1/2}) as the nuclear norm of S2^{1/2} S1^{1/2}; sets *singular when its smallest
// singular value is at rounding level relative to its largest.
double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int64_t n,
                          bool* singular) {
  const Tensor r1 = from_vector(symmetric_psd_sqrt(s1, n), {n, n});
  const Tensor r2 = from_vector(symmetric_psd_sqrt(s2, n), {n, n});
  const std::vector<double> sv = singular_values(matmul(r2, r1).to_vector<double>(), n, n);
  double s = 0;
  for (const double v : sv) s += v;
  *singular = sv.back() <= static_cast<double>(n) * std::numeric_limits<double>::epsilon() * sv.front();
  return s;
}

FrechetResult frechet_from_values(const std::vector<double>& mu1, std::vector<double> s1,
                                  const std::vector<double>& mu2, std::vector<double> s2, int64_t n) {
  FrechetResult r;
  for (int64_t i = 0; i < n; ++i) {
    const double d = mu1[static_cast<size_t>(i)] - mu2[static_cast<size_t>(i)];
    r.mean_term += d * d;
  }
  bool singular = false;
  double root = trace_sqrt_product(s1, s2, n, &singular);
  if (singular) {
    for (int64_t i = 0; i < n; ++i) {
      s1[static_cast<size_t>(i * n + i)] += kRegularisation;
      s2[static_cast<size_t>(i * n + i)] += kRegularisation;
    }
    root = trace_sqrt_product(s1, s2, n, &singular);
    r.regularised = true;
  }
  r.trace_term = trace(s1, n) + trace(s2, n) - 2 * root;
  r.distance = r.mean_term + r.trace_term;
  return r;
}

}  // namespace

GaussianFit fit_gaussian(const Tensor& features) {
  check_features(features, "fit_gaussian", "features");
  const Tensor x = contiguous(to_dtype(features, DType::Float64));
  finite_values(x, "fit_gaussian", "features");
  const int64_t n = x.size(0), f = x.size(1);
  const Tensor mu = mean(x, 0, true);
  const Tensor centred = sub(x, mu);
  const std::vector<double> cov =
      div(matmul(t(centred), centred), static_cast<double>(n - 1)).to_vector<double>();
  GaussianFit g{n, f, mu.to_vector<double>(), std::vector<double>(static_cast<size_t>(f * f))};
  // Symmetric exactly (gemm need not sum c_ij and c_ji in the same order).
  for (int64_t i = 0; i < f; ++i)
    for (int64_t j = 0; j < f; ++j)
      g.covariance[static_cast<size_t>(i * f + j)] =
          0.5 * (cov[static_cast<size_t>(i * f + j)] + cov[static_cast<size_t>(j * f + i)]);
  return g;
}

FrechetResult frechet_distance(const GaussianFit& a, const GaussianFit& b) {
  STRATA_CHECK(a.dim >= 1 && a.dim == b.dim, "frechet_distance: the fits have ", a.dim, " and ", b.dim,
               " features; they must agree (and be at least 1)");
  const auto f = static_cast<size_t>(a.dim);
  STRATA_CHECK(a.mean.size() == f && b.mean.size() == f && a.covariance.size() == f * f &&
                   b.covariance.size() == f * f,
               "frechet_distance: a fit of ", a.dim, " features needs a mean of ", f, " and a covariance of ",
               f * f, " values, got ", a.mean.size(), " / ", a.covariance.size(), " and ", b.mean.size(),
               " / ", b.covariance.size());
  return frechet_from_values(a.mean, a.covariance, b.mean, b.covariance, a.dim);
}

FrechetResult frechet_distance(const Tensor& mean1, const Tensor& cov1, const Tensor& mean2,
                               const Tensor& cov2) {
  for (const Tensor* t : {&mean1, &cov1, &mean2, &cov2}) {
    STRATA_CHECK(t->defined(), "frechet_distance: a mean or covariance is undefined");
    STRATA_CHECK(is_float(*t), "frechet_distance: means and covariances must be float32 or float64, got ",
                 dtype_name(t->dtype()));
  }
  const int64_t f = mean1.dim() == 1 ? mean1.size(0) : -1;
  const Shape square{f, f};
  STRATA_CHECK(
      f >= 1 && mean2.dim() == 1 && mean2.size(0) == f && cov1.shape() == square && cov2.shape() == square,
      "frechet_distance: expected means [F] and covariances [F, F] of one F, got mean1 ",
      shape_str(mean1.shape()), ", cov1 ", shape_str(cov1.shape()), ", mean2 ", shape_str(mean2.shape()),
      ", cov2 ", shape_str(cov2.shape()));
  return frechet_from_values(
      finite_values(mean1, "frechet_distance", "mean1"), finite_values(cov1, "frechet_distance", "cov1"),
      finite_values(mean2, "frechet_distance", "mean2"), finite_values(cov2, "frechet_distance", "cov2"), f);
}

FrechetResult frechet_distance(const Tensor& features1, const Tensor& features2) {
  check_features(features1, "frechet_distance", "features1");
  check_features(features2, "frechet_distance", "features2");
  STRATA_CHECK(features1.size(1) == features2.size(1), "frechet_distance: features1 ",
               shape_str(features1.shape()), " and features2 ", shape_str(features2.shape()),
               " have different feature counts");
  return frechet_distance(fit_gaussian(features1), fit_gaussian(features2));
}

}  // namespace strata::analysis
