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

}  // namespace strata::analysis
