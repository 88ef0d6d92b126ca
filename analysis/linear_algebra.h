// Dense float64 linear algebra the analysis tools need and the engine's ops do not give: symmetric
// eigendecompositions through LAPACK (LAPACKE_dsyevd, the divide-and-conquer driver), used by the
// Vendi score (analysis/diversity/vendi.h), the Frechet distance (analysis/sample_quality/) and by
// latent-manifold analysis (covariance spectra, matrix square roots), and singular values (dgesdd).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

// Eigenvalues of the symmetric n x n matrix `a` (row-major, n * n values), in ascending order. The
// upper triangle is what LAPACK reads (uplo = 'U' on the row-major matrix). Errors: a.size() != n * n,
// non-finite values, an asymmetry beyond rounding (|a_ij - a_ji| > 1e-10 max |a|), or LAPACK failing
// to converge.
std::vector<double> symmetric_eigenvalues(const std::vector<double>& a, int64_t n);
// The same for a square float32/float64 CPU tensor [n, n].
std::vector<double> symmetric_eigenvalues(const Tensor& a);

struct SymmetricEigen {
  int64_t n = 0;
  std::vector<double> values;   // ascending
  std::vector<double> vectors;  // n x n row-major; column i is the unit eigenvector of values[i]
};
// Eigenvalues and orthonormal eigenvectors: a = V diag(values) V^T.
SymmetricEigen symmetric_eigen(const std::vector<double>& a, int64_t n);
SymmetricEigen symmetric_eigen(const Tensor& a);

// The symmetric positive semi-definite square root of the symmetric PSD n x n matrix `a`:
// V diag(sqrt(lambda)) V^T from symmetric_eigen (the Frechet distance needs it). Eigenvalues below 0
// by rounding (down to -1e-9 max |lambda|) are taken as 0; more negative ones are refused as not PSD.
std::vector<double> symmetric_psd_sqrt(const std::vector<double>& a, int64_t n);
// Singular values of the rows x cols row-major matrix `a`, descending (LAPACKE_dgesdd, no vectors).
// Errors: a.size() != rows * cols, non-finite values, LAPACK failing to converge.
std::vector<double> singular_values(const std::vector<double>& a, int64_t rows, int64_t cols);
// The matrix logarithm V diag(log lambda) V^T of the symmetric positive-definite n x n matrix `a`
// (the log-Euclidean metric needs it); an eigenvalue <= 0 is an error naming it.
std::vector<double> spd_log(const std::vector<double>& a, int64_t n);
// V diag(lambda^-1/2) V^T of the symmetric positive-definite `a` (the affine-invariant metric's whitening).
std::vector<double> spd_inverse_sqrt(const std::vector<double>& a, int64_t n);

}  // namespace strata::analysis
