#include "analysis/diversity/vendi.h"

#include <algorithm>
#include <cmath>

#include "analysis/linear_algebra.h"
#include "engine/creation.h"
#include "engine/shape.h"
#include "ops/linalg.h"
#include "ops/shape.h"

namespace strata::analysis {

namespace {

// VS_q of eigenvalues that sum to ~1 (clamped at 0 and sorted descending in place).
double score_of(std::vector<double>& lambda, double q) {
  for (double& l : lambda) l = std::max(l, 0.0);
  std::sort(lambda.begin(), lambda.end(), std::greater<double>());
  if (q == 1) {
    double h = 0;
    for (const double l : lambda)
      if (l > 0) h -= l * std::log(l);
    return std::exp(h);
  }
  if (std::isinf(q)) return 1.0 / lambda[0];
  double s = 0;
  for (const double l : lambda)
    if (l > 0) s += std::pow(l, q);
  return std::exp(std::log(s) / (1 - q));
}

void check_order(double q) {
  STRATA_CHECK(q >= 0 && !std::isnan(q), "vendi_score: order q must be >= 0, got ", q);
}

}  // namespace

VendiResult vendi_score_from_kernel(const std::vector<double>& kernel, int64_t n, double order) {
  check_order(order);
  STRATA_CHECK(n >= 1 && static_cast<int64_t>(kernel.size()) == n * n, "vendi_score: kernel matrix has ",
               kernel.size(), " values, expected ", n, " x ", n);
  for (int64_t i = 0; i < n; ++i)
    STRATA_CHECK(std::abs(kernel[static_cast<size_t>(i * n + i)] - 1) <= 1e-6, "vendi_score: kernel K[", i,
                 ", ", i, "] = ", kernel[static_cast<size_t>(i * n + i)],
                 "; a similarity kernel needs k(x, x) = 1");
  std::vector<double> k = kernel;
  for (double& v : k) v /= static_cast<double>(n);
  VendiResult r;
  r.n = n;
  r.eigenvalues = symmetric_eigenvalues(k, n);
  r.score = score_of(r.eigenvalues, order);
  return r;
}

VendiResult vendi_score(const Tensor& samples, const VendiOptions& o) {
  check_order(o.order);
  STRATA_CHECK(samples.defined(), "vendi_score: samples are undefined");
  STRATA_CHECK(samples.dim() >= 2 && samples.size(0) >= 1,
               "vendi_score: samples must be [n, d] (n >= 1), got ", shape_str(samples.shape()));
  STRATA_CHECK(samples.dtype() == DType::Float32 || samples.dtype() == DType::Float64,
               "vendi_score: samples must be float32 or float64, got ", dtype_name(samples.dtype()));
  STRATA_CHECK(o.bandwidth >= 0 && std::isfinite(o.bandwidth), "vendi_score: bandwidth must be >= 0, got ",
               o.bandwidth);
  const int64_t n = samples.size(0), d = samples.numel() / n;
  STRATA_CHECK(d >= 1, "vendi_score: samples ", shape_str(samples.shape()), " have no features");
  std::vector<double> x = samples.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i)
    STRATA_CHECK(std::isfinite(x[i]), "vendi_score: samples ", shape_str(samples.shape()),
                 " hold a non-finite value (", x[i], ") in row ", static_cast<int64_t>(i) / d);
  auto at = [&](int64_t i, int64_t j) -> double& { return x[static_cast<size_t>(i * d + j)]; };
  VendiResult r;
  r.n = n;
  if (o.kernel == VendiKernel::Cosine) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += at(i, j) * at(i, j);
      STRATA_CHECK(s > 0, "vendi_score: sample ", i, " of ", shape_str(samples.shape()),
                   " is the zero vector; the cosine kernel is undefined for it");
      const double inv = 1.0 / std::sqrt(s);
      for (int64_t j = 0; j < d; ++j) at(i, j) *= inv;
    }
    // The non-zero eigenvalues of X X^T / n and X^T X / n coincide: use the smaller matrix (one
    // BLAS product through ops/linalg).
    const int64_t m = std::min(n, d);
    const Tensor unit = from_vector(x, {n, d});
    const Tensor gram = n <= d ? matmul(unit, t(unit)) : matmul(t(unit), unit);
    std::vector<double> g = gram.to_vector<double>();
    for (int64_t a = 0; a < m; ++a)  // exactly symmetric, divided by n
      for (int64_t b = a; b < m; ++b)
        g[static_cast<size_t>(a * m + b)] = g[static_cast<size_t>(b * m + a)] =
            (g[static_cast<size_t>(a * m + b)] + g[static_cast<size_t>(b * m + a)]) /
            (2 * static_cast<double>(n));
    r.eigenvalues = symmetric_eigenvalues(g, m);
    r.score = score_of(r.eigenvalues, o.order);
    return r;
  }
  // Gaussian kernel.
  std::vector<double> sq(static_cast<size_t>(n * n), 0.0);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = a + 1; b < n; ++b) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += (at(a, j) - at(b, j)) * (at(a, j) - at(b, j));
      sq[static_cast<size_t>(a * n + b)] = sq[static_cast<size_t>(b * n + a)] = s;
    }
  double sigma = o.bandwidth;
  if (sigma == 0) {
    std::vector<double> dist;
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = a + 1; b < n; ++b) dist.push_back(std::sqrt(sq[static_cast<size_t>(a * n + b)]));
    if (!dist.empty()) {
      // The median (mean of the two middle values for an even count).
      const size_t h = dist.size() / 2;
      std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(h), dist.end());
      sigma = dist[h];
      if (dist.size() % 2 == 0)
        sigma = (sigma + *std::max_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(h))) / 2;
    }
    STRATA_CHECK(sigma > 0, "vendi_score: the median pairwise distance of samples ",
                 shape_str(samples.shape()),
                 " is 0, so the median-heuristic Gaussian bandwidth is 0; give a bandwidth");
  }
  std::vector<double> k(static_cast<size_t>(n * n));
  for (size_t i = 0; i < k.size(); ++i) k[i] = std::exp(-sq[i] / (2 * sigma * sigma));
  r = vendi_score_from_kernel(k, n, o.order);
  r.bandwidth = sigma;
  return r;
}

}  // namespace strata::analysis
