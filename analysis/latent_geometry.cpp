#include "analysis/latent_geometry.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "analysis/linear_algebra.h"
#include "core/error.h"

namespace strata::analysis {

namespace {

size_t at(int64_t r, int64_t c, int64_t cols) { return static_cast<size_t>(r * cols + c); }

void check_matrix(const Matrix& m, const char* what) {
  STRATA_CHECK(m.rows >= 0 && m.cols >= 0 && static_cast<int64_t>(m.values.size()) == m.rows * m.cols, what,
               ": a ", m.rows, " x ", m.cols, " matrix needs ", m.rows * m.cols, " values, got ", m.values.size());
}

void check_same_square(const Matrix& a, const Matrix& b, const char* what) {
  check_matrix(a, what);
  check_matrix(b, what);
  STRATA_CHECK(a.rows == a.cols && b.rows == b.cols && a.rows == b.rows, what,
               ": expects two square matrices of one size, got ", a.rows, " x ", a.cols, " and ", b.rows, " x ",
               b.cols);
}

// H K H for a rows x cols kernel block: subtract row means and column means, add back the grand mean.
std::vector<double> double_centre(const std::vector<double>& k, int64_t rows, int64_t cols) {
  std::vector<double> row_mean(static_cast<size_t>(rows), 0.0), col_mean(static_cast<size_t>(cols), 0.0);
  double grand = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double v = k[at(i, j, cols)];
      row_mean[static_cast<size_t>(i)] += v / static_cast<double>(cols);
      col_mean[static_cast<size_t>(j)] += v / static_cast<double>(rows);
      grand += v;
    }
  grand /= static_cast<double>(rows * cols);
  std::vector<double> out(k.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[at(i, j, cols)] = k[at(i, j, cols)] - row_mean[static_cast<size_t>(i)] - col_mean[static_cast<size_t>(j)] + grand;
  return out;
}

}  // namespace

Matrix mode_unfolding(const std::vector<double>& z, const std::array<int64_t, 3>& shape, int mode) {
  const int64_t i1 = shape[0], i2 = shape[1], i3 = shape[2];
  STRATA_CHECK(i1 >= 1 && i2 >= 1 && i3 >= 1, "mode_unfolding: tensor sizes must be >= 1, got ", i1, " x ", i2,
               " x ", i3);
  STRATA_CHECK(static_cast<int64_t>(z.size()) == i1 * i2 * i3, "mode_unfolding: a ", i1, " x ", i2, " x ", i3,
               " tensor has ", i1 * i2 * i3, " values, got ", z.size());
  STRATA_CHECK(mode >= 1 && mode <= 3, "mode_unfolding: mode must be 1, 2 or 3, got ", mode);
  Matrix m;
  m.rows = shape[static_cast<size_t>(mode - 1)];
  m.cols = i1 * i2 * i3 / m.rows;
  m.values.resize(z.size());
  for (int64_t a = 0; a < i1; ++a)
    for (int64_t b = 0; b < i2; ++b)
      for (int64_t c = 0; c < i3; ++c) {
        const double v = z[static_cast<size_t>((a * i2 + b) * i3 + c)];
        if (mode == 1) m.values[at(a, b + i2 * c, m.cols)] = v;
        else if (mode == 2) m.values[at(b, a + i1 * c, m.cols)] = v;
        else m.values[at(c, a + i1 * b, m.cols)] = v;
      }
  return m;
}

Matrix gram(const Matrix& a) {
  check_matrix(a, "gram");
  Matrix s{a.rows, a.rows, std::vector<double>(static_cast<size_t>(a.rows * a.rows), 0.0)};
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = i; j < a.rows; ++j) {
      double v = 0;
      for (int64_t c = 0; c < a.cols; ++c) v += a.values[at(i, c, a.cols)] * a.values[at(j, c, a.cols)];
      s.values[at(i, j, a.rows)] = v;
      s.values[at(j, i, a.rows)] = v;
    }
  return s;
}

std::array<Matrix, 3> mode_grams(const std::vector<double>& z, const std::array<int64_t, 3>& shape) {
  return {gram(mode_unfolding(z, shape, 1)), gram(mode_unfolding(z, shape, 2)), gram(mode_unfolding(z, shape, 3))};
}

int64_t numerical_rank(const std::vector<double>& singular_values, double rtol) {
  STRATA_CHECK(rtol > 0 && rtol < 1, "numerical_rank: the relative tolerance must be in (0, 1), got ", rtol);
  double largest = 0;
  for (double s : singular_values) {
    STRATA_CHECK(s >= 0 && std::isfinite(s), "numerical_rank: singular values must be finite and >= 0, got ", s);
    largest = std::max(largest, s);
  }
  if (largest == 0) return 0;
  return std::count_if(singular_values.begin(), singular_values.end(), [&](double s) { return s > rtol * largest; });
}

PsdFactor psd_factor(const Matrix& s, double rtol) {
  check_matrix(s, "psd_factor");
  STRATA_CHECK(s.rows == s.cols && s.rows >= 1, "psd_factor: expects a square matrix, got ", s.rows, " x ", s.cols);
  const int64_t n = s.rows;
  const SymmetricEigen e = symmetric_eigen(s.values, n);
  PsdFactor f;
  f.n = n;
  f.eigenvalues = e.values;
  std::vector<double> sv(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) sv[static_cast<size_t>(i)] = std::sqrt(std::max(e.values[static_cast<size_t>(i)], 0.0));
  f.rank = numerical_rank(sv, rtol);
  f.basis.resize(static_cast<size_t>(n * f.rank));
  for (int64_t j = 0; j < f.rank; ++j) {
    const int64_t col = n - 1 - j;  // eigenvalues ascend
    for (int64_t r = 0; r < n; ++r) f.basis[at(r, j, f.rank)] = e.vectors[at(r, col, n)];
  }
  const int64_t rest = n - f.rank;
  f.complement.resize(static_cast<size_t>(n * rest));
  for (int64_t j = 0; j < rest; ++j)
    for (int64_t r = 0; r < n; ++r) f.complement[at(r, j, rest)] = e.vectors[at(r, j, n)];
  if (f.full_rank()) {
    f.log.assign(static_cast<size_t>(n * n), 0.0);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double v = 0;
        for (int64_t i = 0; i < n; ++i) v += e.vectors[at(r, i, n)] * std::log(e.values[static_cast<size_t>(i)]) * e.vectors[at(c, i, n)];
        f.log[at(r, c, n)] = v;
      }
  }
  return f;
}

double log_euclidean_distance(const PsdFactor& a, const PsdFactor& b) {
  STRATA_CHECK(a.n == b.n, "log_euclidean_distance: factors of sizes ", a.n, " and ", b.n);
  STRATA_CHECK(a.full_rank() && b.full_rank(), "log_euclidean_distance: needs full-rank (SPD) factors, got ranks ",
               a.rank, " and ", b.rank, " of ", a.n);
  double s = 0;
  for (size_t i = 0; i < a.log.size(); ++i) s += (a.log[i] - b.log[i]) * (a.log[i] - b.log[i]);
  return std::sqrt(s);
}

double log_euclidean_distance(const Matrix& a, const Matrix& b) {
  check_same_square(a, b, "log_euclidean_distance");
  const std::vector<double> la = spd_log(a.values, a.rows), lb = spd_log(b.values, b.rows);
  double s = 0;
  for (size_t i = 0; i < la.size(); ++i) s += (la[i] - lb[i]) * (la[i] - lb[i]);
  return std::sqrt(s);
}

double affine_invariant_distance(const Matrix& a, const Matrix& b) {
  check_same_square(a, b, "affine_invariant_distance");
  const int64_t n = a.rows;
  const std::vector<double> w = spd_inverse_sqrt(a.values, n);
  // M = W B W, symmetrised against rounding.
  std::vector<double> wb(static_cast<size_t>(n * n), 0.0), m(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) wb[at(i, j, n)] += w[at(i, k, n)] * b.values[at(k, j, n)];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) m[at(i, j, n)] += wb[at(i, k, n)] * w[at(k, j, n)];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) m[at(i, j, n)] = m[at(j, i, n)] = 0.5 * (m[at(i, j, n)] + m[at(j, i, n)]);
  double s = 0;
  for (double l : symmetric_eigenvalues(m, n)) {
    STRATA_CHECK(l > 0, "affine_invariant_distance: B is not positive definite (generalised eigenvalue ", l, ")");
    s += std::log(l) * std::log(l);
  }
  return std::sqrt(s);
}

std::vector<double> principal_angles(const std::vector<double>& u, int64_t n, int64_t p, const std::vector<double>& v,
                                     int64_t q) {
  STRATA_CHECK(n >= 1 && p >= 0 && q >= 0 && p <= n && q <= n, "principal_angles: bases of ", p, " and ", q,
               " columns in R^", n);
  STRATA_CHECK(static_cast<int64_t>(u.size()) == n * p && static_cast<int64_t>(v.size()) == n * q,
               "principal_angles: an ", n, " x ", p, " and an ", n, " x ", q, " basis need ", n * p, " and ", n * q,
               " values, got ", u.size(), " and ", v.size());
  if (p == 0 || q == 0) return {};
  std::vector<double> c(static_cast<size_t>(p * q), 0.0);  // u^T v
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = 0; j < q; ++j)
      for (int64_t r = 0; r < n; ++r) c[at(i, j, q)] += u[at(r, i, p)] * v[at(r, j, q)];
  std::vector<double> angles;
  for (double s : singular_values(c, p, q)) angles.push_back(std::acos(std::clamp(s, 0.0, 1.0)));
  std::sort(angles.begin(), angles.end());
  return angles;
}

double grassmann_distance(const std::vector<double>& angles, int64_t p, int64_t q) {
  STRATA_CHECK(static_cast<int64_t>(angles.size()) == std::min(p, q), "grassmann_distance: ", angles.size(),
               " angles for subspaces of dimensions ", p, " and ", q, " (expected ", std::min(p, q), ")");
  double s = 0;
  for (double t : angles) s += t * t;
  s += static_cast<double>(std::abs(p - q)) * (std::numbers::pi / 2) * (std::numbers::pi / 2);
  return std::sqrt(s);
}

double grassmann_distance(const PsdFactor& a, const PsdFactor& b) {
  STRATA_CHECK(a.n == b.n, "grassmann_distance: factors of sizes ", a.n, " and ", b.n);
  if (a.rank == b.rank && 2 * a.rank > a.n) {
    const int64_t rest = a.n - a.rank;
    return grassmann_distance(principal_angles(a.complement, a.n, rest, b.complement, rest), rest, rest);
  }
  return grassmann_distance(principal_angles(a.basis, a.n, a.rank, b.basis, b.rank), a.rank, b.rank);
}

double gaussian_kernel(double distance, double bandwidth) {
  STRATA_CHECK(bandwidth > 0 && std::isfinite(bandwidth), "gaussian_kernel: bandwidth must be > 0, got ", bandwidth);
  return std::exp(-distance * distance / (2 * bandwidth * bandwidth));
}

double KernelPca::explained_fraction() const {
  double total = 0, kept = 0;
  for (size_t j = 0; j < eigenvalues.size(); ++j) {
    const double l = std::max(eigenvalues[j], 0.0);
    total += l;
    if (static_cast<int64_t>(j) < components) kept += l;
  }
  return total > 0 ? kept / total : 0;
}

KernelPca kernel_pca(const std::vector<double>& k, int64_t n, int64_t components) {
  STRATA_CHECK(n >= 2 && static_cast<int64_t>(k.size()) == n * n, "kernel_pca: expects an n x n kernel with n >= 2, got ",
               k.size(), " values for n = ", n);
  STRATA_CHECK(components >= 1 && components < n, "kernel_pca: components must be in 1..", n - 1, " for ", n,
               " points, got ", components);
  const SymmetricEigen e = symmetric_eigen(double_centre(k, n, n), n);
  KernelPca pca;
  pca.n = n;
  pca.components = components;
  pca.eigenvalues.assign(e.values.rbegin(), e.values.rend());
  const double largest = pca.eigenvalues.front();
  pca.coefficients.resize(static_cast<size_t>(n * components));
  for (int64_t j = 0; j < components; ++j) {
    const double l = pca.eigenvalues[static_cast<size_t>(j)];
    STRATA_CHECK(l > 1e-12 * std::max(largest, 0.0) && l > 0, "kernel_pca: component ", j + 1, " of ", components,
                 " has centred eigenvalue ", l, " (largest ", largest, "); keep fewer components");
    const int64_t col = n - 1 - j;
    for (int64_t i = 0; i < n; ++i) pca.coefficients[at(i, j, components)] = e.vectors[at(i, col, n)] / std::sqrt(l);
  }
  return pca;
}

std::vector<double> kernel_pca_principal_angles(const KernelPca& a, const KernelPca& b,
                                                const std::vector<double>& k_ab) {
  STRATA_CHECK(static_cast<int64_t>(k_ab.size()) == a.n * b.n, "kernel_pca_principal_angles: the cross kernel of ",
               a.n, " and ", b.n, " points needs ", a.n * b.n, " values, got ", k_ab.size());
  const std::vector<double> kc = double_centre(k_ab, a.n, b.n);
  // alpha_a^T Kc alpha_b, p x q.
  const int64_t p = a.components, q = b.components;
  std::vector<double> kb(static_cast<size_t>(a.n * q), 0.0), c(static_cast<size_t>(p * q), 0.0);
  for (int64_t i = 0; i < a.n; ++i)
    for (int64_t m = 0; m < b.n; ++m) {
      const double v = kc[at(i, m, b.n)];
      for (int64_t j = 0; j < q; ++j) kb[at(i, j, q)] += v * b.coefficients[at(m, j, q)];
    }
  for (int64_t r = 0; r < p; ++r)
    for (int64_t i = 0; i < a.n; ++i) {
      const double v = a.coefficients[at(i, r, p)];
      for (int64_t j = 0; j < q; ++j) c[at(r, j, q)] += v * kb[at(i, j, q)];
    }
  std::vector<double> angles;
  for (double s : singular_values(c, p, q)) angles.push_back(std::acos(std::clamp(s, 0.0, 1.0)));
  std::sort(angles.begin(), angles.end());
  return angles;
}

}  // namespace strata::analysis
