#include "analysis/intrinsic_dimension.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "engine/shape.h"

namespace strata::analysis {

namespace {

void check_neighbors(const Neighbors& nb, const char* op) {
  STRATA_CHECK(nb.points >= 1 && nb.k >= 1 &&
                   static_cast<int64_t>(nb.squared_distances.size()) == nb.points * nb.k &&
                   static_cast<int64_t>(nb.indices.size()) == nb.points * nb.k,
               op, ": the neighbours are empty or inconsistent (", nb.points, " points, k = ", nb.k, ")");
}

void check_k(const Neighbors& nb, int64_t k, int64_t least, const char* op) {
  STRATA_CHECK(k >= least, op, ": k must be at least ", least, ", got ", k);
  STRATA_CHECK(k <= nb.k, op, ": k = ", k, " needs at least k neighbours per point, the search kept ", nb.k,
               " (of ", nb.points, " points)");
}

// mu = T_2 / T_1 of every point whose T_1 > 0 (the others are counted in `skipped`).
std::vector<double> twonn_ratios(const Neighbors& nb, int64_t* skipped, const char* op) {
  check_neighbors(nb, op);
  check_k(nb, 2, 2, op);
  std::vector<double> mu;
  mu.reserve(static_cast<size_t>(nb.points));
  *skipped = 0;
  for (int64_t i = 0; i < nb.points; ++i) {
    const double* d2 = nb.squared_distances_of(i);
    if (d2[0] <= 0) {
      ++*skipped;
      continue;
    }
    mu.push_back(std::sqrt(d2[1] / d2[0]));
  }
  STRATA_CHECK(!mu.empty(), op, ": every one of the ", nb.points,
               " points has a duplicate (T_1 = 0), so no ratio T_2 / T_1 is defined");
  return mu;
}

// Eigenvalues of the small symmetric p x p matrix a (row-major, overwritten) by cyclic Jacobi
// rotations (Golub & Van Loan, Algorithm 8.5.3). Local PCA calls this for every point inside a
// oneTBB loop, where LAPACK would run on OpenBLAS's threads nested in oneTBB's (slow).
std::vector<double> jacobi_eigenvalues(std::vector<double>& a, int64_t p) {
  auto at = [&](int64_t r, int64_t c) -> double& { return a[static_cast<size_t>(r * p + c)]; };
  double total = 0;
  for (double v : a) total += v * v;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t r = 0; r < p; ++r)
      for (int64_t c = r + 1; c < p; ++c) off += at(r, c) * at(r, c);
    if (off <= 1e-30 * total) break;
    for (int64_t r = 0; r < p; ++r)
      for (int64_t c = r + 1; c < p; ++c) {
        if (at(r, c) == 0) continue;
        const double theta = (at(c, c) - at(r, r)) / (2 * at(r, c));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (int64_t q = 0; q < p; ++q) {  // columns r and c
          const double ar = at(q, r), ac = at(q, c);
          at(q, r) = cs * ar - sn * ac;
          at(q, c) = sn * ar + cs * ac;
        }
        for (int64_t q = 0; q < p; ++q) {  // rows r and c
          const double ar = at(r, q), ac = at(c, q);
          at(r, q) = cs * ar - sn * ac;
          at(c, q) = sn * ar + cs * ac;
        }
      }
  }
  std::vector<double> values(static_cast<size_t>(p));
  for (int64_t r = 0; r < p; ++r) values[static_cast<size_t>(r)] = at(r, r);
  return values;
}

}  // namespace

std::vector<double> mle_inverse_local_estimates(const Neighbors& nb, int64_t k, std::vector<char>* skipped,
                                                MleNormaliser normaliser) {
  check_neighbors(nb, "mle_dimension");
  const bool k2 = normaliser == MleNormaliser::KMinus2;
  check_k(nb, k, k2 ? 3 : 2, k2 ? "mle_dimension (normaliser k - 2)" : "mle_dimension");
  const auto denominator = static_cast<double>(k2 ? k - 2 : k - 1);
  std::vector<double> m(static_cast<size_t>(nb.points), 0.0);
  if (skipped) skipped->assign(static_cast<size_t>(nb.points), 0);
  for (int64_t i = 0; i < nb.points; ++i) {
    const double* d2 = nb.squared_distances_of(i);
    if (d2[0] <= 0) {  // a duplicate: log(T_k / T_1) is infinite
      if (skipped) (*skipped)[static_cast<size_t>(i)] = 1;
      continue;
    }
    double s = 0;
    // log(T_k / T_j) = 0.5 log(T_k^2 / T_j^2)
    for (int64_t j = 0; j < k - 1; ++j) s += 0.5 * std::log(d2[k - 1] / d2[j]);
    m[static_cast<size_t>(i)] = s / denominator;
  }
  return m;
}

DimensionEstimate mle_dimension(const Neighbors& nb, int64_t k, MleNormaliser normaliser) {
  std::vector<char> skipped;
  const std::vector<double> m = mle_inverse_local_estimates(nb, k, &skipped, normaliser);
  DimensionEstimate out;
  double sum = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (skipped[i]) {
      ++out.skipped;
      continue;
    }
    sum += m[i];
    ++out.points;
  }
  STRATA_CHECK(out.points > 0, "mle_dimension: every one of the ", nb.points,
               " points has a duplicate (T_1 = 0), so no log ratio is defined");
  STRATA_CHECK(sum > 0, "mle_dimension: all ", out.points, " points have their k = ", k,
               " neighbours at one distance, so the estimate is infinite");
  out.estimate = static_cast<double>(out.points) / sum;
  return out;
}

DimensionEstimate twonn_dimension(const Neighbors& nb) {
  DimensionEstimate out;
  const std::vector<double> mu = twonn_ratios(nb, &out.skipped, "twonn_dimension");
  double sum = 0;
  for (double v : mu) sum += std::log(v);
  STRATA_CHECK(sum > 0, "twonn_dimension: every point's two nearest neighbours are equidistant (mu = 1)");
  out.points = static_cast<int64_t>(mu.size());
  out.estimate = static_cast<double>(mu.size()) / sum;
  return out;
}

DimensionEstimate twonn_fit_dimension(const Neighbors& nb, double discard_fraction) {
  STRATA_CHECK(discard_fraction >= 0 && discard_fraction < 1,
               "twonn_fit_dimension: discard_fraction must be in [0, 1), got ", discard_fraction);
  DimensionEstimate out;
  std::vector<double> mu = twonn_ratios(nb, &out.skipped, "twonn_fit_dimension");
  std::sort(mu.begin(), mu.end());
  const auto n = static_cast<int64_t>(mu.size());
  // F(mu_(i)) = i / n for i = 1..n; the last point (F = 1) is always left out.
  const int64_t kept = std::min<int64_t>(n - 1, static_cast<int64_t>(std::floor((1 - discard_fraction) * n)));
  STRATA_CHECK(kept >= 1, "twonn_fit_dimension: ", n, " ratios leave none to fit after discarding ",
               discard_fraction * 100, "%");
  double sxy = 0, sxx = 0;
  for (int64_t i = 0; i < kept; ++i) {
    const double x = std::log(mu[static_cast<size_t>(i)]);
    const double y = -std::log(1.0 - static_cast<double>(i + 1) / static_cast<double>(n));
    sxy += x * y;
    sxx += x * x;
  }
  STRATA_CHECK(sxx > 0, "twonn_fit_dimension: all kept ratios are 1 (equidistant neighbours)");
  out.points = kept;
  out.estimate = sxy / sxx;
  return out;
}

std::vector<DimensionEstimate> local_pca_dimensions(const Tensor& x, const Neighbors& nb,
                                                    const std::vector<int64_t>& ks,
                                                    double variance_fraction) {
  check_neighbors(nb, "local_pca_dimensions");
  STRATA_CHECK(variance_fraction > 0 && variance_fraction <= 1,
               "local_pca_dimensions: variance_fraction must be in (0, 1], got ", variance_fraction);
  STRATA_CHECK(!ks.empty(), "local_pca_dimensions: no k given");
  int64_t kmax = 0;
  for (int64_t k : ks) {
    check_k(nb, k, 1, "local_pca_dimensions");
    kmax = std::max(kmax, k);
  }
  const Tensor x64 = float64_matrix(x, "local_pca_dimensions", "points");
  STRATA_CHECK(x64.size(0) == nb.points, "local_pca_dimensions: ", shape_str(x.shape()),
               " points, but the neighbours are of ", nb.points);
  const int64_t f = x64.size(1);
  const double* px = x64.data_ptr<double>();
  // local[q * N + i]: the local dimension of point i at ks[q]; -1 when skipped.
  const auto nk = static_cast<int64_t>(ks.size());
  std::vector<int64_t> local(static_cast<size_t>(nk * nb.points), -1);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, nb.points), [&](const tbb::blocked_range<int64_t>& range) {
    const int64_t m = kmax + 1;
    std::vector<double> diff(static_cast<size_t>(m * f)), gram(static_cast<size_t>(m * m)), c;
    for (int64_t i = range.begin(); i < range.end(); ++i) {
      // The point (row 0, the origin) and its neighbours, translated to the point.
      const double* xi = px + i * f;
      std::fill(diff.begin(), diff.begin() + f, 0.0);
      for (int64_t a = 1; a < m; ++a) {
        const double* xa = px + nb.indices_of(i)[a - 1] * f;
        for (int64_t col = 0; col < f; ++col) diff[static_cast<size_t>(a * f + col)] = xa[col] - xi[col];
      }
      for (int64_t a = 0; a < m; ++a)
        for (int64_t b = a; b < m; ++b) {
          double s = 0;
          const double* da = diff.data() + a * f;
          const double* db = diff.data() + b * f;
          for (int64_t col = 0; col < f; ++col) s += da[col] * db[col];
          gram[static_cast<size_t>(a * m + b)] = gram[static_cast<size_t>(b * m + a)] = s;
        }
      for (int64_t q = 0; q < nk; ++q) {
        // The centred Gram matrix of the first p points: its eigenvalues are the scatter matrix's.
        const int64_t p = ks[static_cast<size_t>(q)] + 1;
        std::vector<double> row_mean(static_cast<size_t>(p), 0.0);
        double all_mean = 0;
        for (int64_t a = 0; a < p; ++a) {
          for (int64_t b = 0; b < p; ++b)
            row_mean[static_cast<size_t>(a)] += gram[static_cast<size_t>(a * m + b)];
          row_mean[static_cast<size_t>(a)] /= static_cast<double>(p);
          all_mean += row_mean[static_cast<size_t>(a)];
        }
        all_mean /= static_cast<double>(p);
        c.assign(static_cast<size_t>(p * p), 0.0);
        for (int64_t a = 0; a < p; ++a)
          for (int64_t b = 0; b < p; ++b)
            c[static_cast<size_t>(a * p + b)] = gram[static_cast<size_t>(a * m + b)] -
                                                row_mean[static_cast<size_t>(a)] -
                                                row_mean[static_cast<size_t>(b)] + all_mean;
        std::vector<double> lambda = jacobi_eigenvalues(c, p);
        double total = 0;
        for (double& l : lambda) total += (l = std::max(l, 0.0));
        if (!(total > 0)) continue;  // all k + 1 points coincide
        std::sort(lambda.begin(), lambda.end(), std::greater<>());
        double acc = 0;
        int64_t count = 0;
        while (count < p && acc < variance_fraction * total) acc += lambda[static_cast<size_t>(count++)];
        local[static_cast<size_t>(q * nb.points + i)] = count;
      }
    }
  });
  std::vector<DimensionEstimate> out(static_cast<size_t>(nk));
  for (int64_t q = 0; q < nk; ++q) {
    double sum = 0;
    DimensionEstimate& e = out[static_cast<size_t>(q)];
    for (int64_t i = 0; i < nb.points; ++i) {
      const int64_t v = local[static_cast<size_t>(q * nb.points + i)];
      if (v < 0) {
        ++e.skipped;
        continue;
      }
      sum += static_cast<double>(v);
      ++e.points;
    }
    STRATA_CHECK(e.points > 0, "local_pca_dimensions: every neighbourhood of the ", nb.points,
                 " points (k = ", ks[static_cast<size_t>(q)], ") is a single repeated point");
    e.estimate = sum / static_cast<double>(e.points);
  }
  return out;
}

}  // namespace strata::analysis
