#include "analysis/linear_algebra.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>

#include "engine/shape.h"

namespace strata::analysis {

namespace {

void check_square(const std::vector<double>& a, int64_t n, const char* what) {
  STRATA_CHECK(n >= 0, what, ": matrix size must be non-negative, got ", n);
  STRATA_CHECK(static_cast<int64_t>(a.size()) == n * n, what, ": expected ", n, " x ", n, " = ", n * n,
               " values, got ", a.size());
  double scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    STRATA_CHECK(std::isfinite(a[i]), what, ": element ", i / static_cast<size_t>(n), ",",
                 i % static_cast<size_t>(n), " is not finite (", a[i], ")");
    scale = std::max(scale, std::abs(a[i]));
  }
  // Symmetric up to rounding: |a_ij - a_ji| <= 1e-10 max |a|.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double u = a[static_cast<size_t>(i * n + j)], l = a[static_cast<size_t>(j * n + i)];
      STRATA_CHECK(std::abs(u - l) <= 1e-10 * scale, what, ": the matrix is not symmetric: element ", i, ",",
                   j, " is ", u, " but ", j, ",", i, " is ", l);
    }
}

std::vector<double> square_values(const Tensor& a, const char* what, int64_t* n) {
  STRATA_CHECK(a.defined(), what, ": the matrix is undefined");
  STRATA_CHECK(a.dim() == 2 && a.size(0) == a.size(1), what, ": expected a square matrix [n, n], got ",
               shape_str(a.shape()));
  STRATA_CHECK(a.dtype() == DType::Float32 || a.dtype() == DType::Float64, what,
               ": expected float32 or float64, got ", dtype_name(a.dtype()));
  *n = a.size(0);
  return a.to_vector<double>();
}

// Runs dsyevd in place on `a`; jobz 'V' leaves the eigenvectors in a's columns.
std::vector<double> run_dsyevd(std::vector<double>& a, int64_t n, char jobz, const char* what) {
  std::vector<double> w(static_cast<size_t>(n));
  if (n == 0) return w;
  const lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, jobz, 'U', static_cast<lapack_int>(n), a.data(),
                                         static_cast<lapack_int>(n), w.data());
  STRATA_CHECK(info == 0, what, ": LAPACK dsyevd failed on a ", n, " x ", n, " matrix (info ", info, ")");
  return w;
}

}  // namespace

std::vector<double> symmetric_eigenvalues(const std::vector<double>& a, int64_t n) {
  check_square(a, n, "symmetric_eigenvalues");
  std::vector<double> work = a;
  return run_dsyevd(work, n, 'N', "symmetric_eigenvalues");
}

std::vector<double> symmetric_eigenvalues(const Tensor& a) {
  int64_t n = 0;
  const std::vector<double> values = square_values(a, "symmetric_eigenvalues", &n);
  return symmetric_eigenvalues(values, n);
}

SymmetricEigen symmetric_eigen(const std::vector<double>& a, int64_t n) {
  check_square(a, n, "symmetric_eigen");
  SymmetricEigen e;
  e.n = n;
  e.vectors = a;
  e.values = run_dsyevd(e.vectors, n, 'V', "symmetric_eigen");
  return e;
}

SymmetricEigen symmetric_eigen(const Tensor& a) {
  int64_t n = 0;
  const std::vector<double> values = square_values(a, "symmetric_eigen", &n);
  return symmetric_eigen(values, n);
}

std::vector<double> symmetric_psd_sqrt(const std::vector<double>& a, int64_t n) {
  check_square(a, n, "symmetric_psd_sqrt");
  SymmetricEigen e;
  e.vectors = a;
  e.values = run_dsyevd(e.vectors, n, 'V', "symmetric_psd_sqrt");
  double scale = 0;
  for (const double l : e.values) scale = std::max(scale, std::abs(l));
  std::vector<double> root(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double l = e.values[static_cast<size_t>(i)];
    STRATA_CHECK(l >= -1e-9 * scale, "symmetric_psd_sqrt: the ", n, " x ", n,
                 " matrix is not positive semi-definite (eigenvalue ", l, ", largest magnitude ", scale, ")");
    root[static_cast<size_t>(i)] = std::sqrt(std::max(l, 0.0));
  }
  // V diag(root) V^T, column i of V being eigenvector i.
  std::vector<double> out(static_cast<size_t>(n * n), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = r; c < n; ++c) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i)
        s += e.vectors[static_cast<size_t>(r * n + i)] * root[static_cast<size_t>(i)] *
             e.vectors[static_cast<size_t>(c * n + i)];
      out[static_cast<size_t>(r * n + c)] = s;
      out[static_cast<size_t>(c * n + r)] = s;
    }
  return out;
}

std::vector<double> singular_values(const std::vector<double>& a, int64_t rows, int64_t cols) {
  STRATA_CHECK(rows >= 0 && cols >= 0, "singular_values: matrix sizes must be non-negative, got ", rows, " x ",
               cols);
  STRATA_CHECK(static_cast<int64_t>(a.size()) == rows * cols, "singular_values: expected ", rows, " x ", cols,
               " = ", rows * cols, " values, got ", a.size());
  for (size_t i = 0; i < a.size(); ++i)
    STRATA_CHECK(std::isfinite(a[i]), "singular_values: element ", i / static_cast<size_t>(cols), ",",
                 i % static_cast<size_t>(cols), " is not finite (", a[i], ")");
  std::vector<double> s(static_cast<size_t>(std::min(rows, cols)));
  if (s.empty()) return s;
  std::vector<double> work = a;
  // No vectors are computed (jobz 'N'), but LAPACKE checks the leading dimensions against the full sizes.
  double unused_u = 0, unused_vt = 0;
  const lapack_int info =
      LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', static_cast<lapack_int>(rows), static_cast<lapack_int>(cols), work.data(),
                     static_cast<lapack_int>(cols), s.data(), &unused_u, static_cast<lapack_int>(std::max<int64_t>(rows, 1)),
                     &unused_vt, static_cast<lapack_int>(std::max<int64_t>(cols, 1)));
  STRATA_CHECK(info == 0, "singular_values: LAPACK dgesdd failed on a ", rows, " x ", cols, " matrix (info ", info,
               ")");
  return s;
}

namespace {

// V diag(f(lambda)) V^T for a symmetric positive-definite `a`.
std::vector<double> spd_function(const std::vector<double>& a, int64_t n, double (*f)(double), const char* what) {
  check_square(a, n, what);
  std::vector<double> v = a;
  const std::vector<double> w = run_dsyevd(v, n, 'V', what);
  std::vector<double> fw(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double l = w[static_cast<size_t>(i)];
    STRATA_CHECK(l > 0, what, ": the ", n, " x ", n, " matrix is not positive definite (eigenvalue ", l, ")");
    fw[static_cast<size_t>(i)] = f(l);
  }
  std::vector<double> out(static_cast<size_t>(n * n), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = r; c < n; ++c) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i)
        s += v[static_cast<size_t>(r * n + i)] * fw[static_cast<size_t>(i)] * v[static_cast<size_t>(c * n + i)];
      out[static_cast<size_t>(r * n + c)] = s;
      out[static_cast<size_t>(c * n + r)] = s;
    }
  return out;
}

}  // namespace

std::vector<double> spd_log(const std::vector<double>& a, int64_t n) {
  return spd_function(a, n, [](double l) { return std::log(l); }, "spd_log");
}

std::vector<double> spd_inverse_sqrt(const std::vector<double>& a, int64_t n) {
  return spd_function(a, n, [](double l) { return 1.0 / std::sqrt(l); }, "spd_inverse_sqrt");
}

}  // namespace strata::analysis
