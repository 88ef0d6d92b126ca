#include "ops/mmd.h"

#include <cmath>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata {

std::string mmd_kernel_name(MmdKernel kernel) { return kernel == MmdKernel::InverseMultiquadric ? "imq" : "rbf"; }

MmdKernel parse_mmd_kernel(const std::string& name) {
  if (name == "imq") return MmdKernel::InverseMultiquadric;
  if (name == "rbf") return MmdKernel::Gaussian;
  throw Error(detail::concat("unknown MMD kernel \"", name, "\" (valid: imq, rbf)"));
}

namespace {

void check_samples(const char* op, const Tensor& x, const Tensor& y, int64_t min_rows) {
  detail::check_defined(op, x, "x");
  detail::check_defined(op, y, "y");
  STRATA_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1), op,
               ": expects samples [n, d] and [m, d] with the same d, got ", shape_str(x.shape()), " and ",
               shape_str(y.shape()));
  STRATA_CHECK(x.size(0) >= min_rows && y.size(0) >= min_rows, op, ": needs at least ", min_rows,
               " points in each sample, got ", x.size(0), " and ", y.size(0));
  detail::check_floating(op, x);
  detail::check_same_dtype(op, x, y);
}

void check_scales(const char* op, const std::vector<double>& scales) {
  STRATA_CHECK(!scales.empty(), op, ": needs at least one kernel scale");
  for (double c : scales) STRATA_CHECK(c > 0 && std::isfinite(c), op, ": kernel scales must be positive, got ", c);
}

// The kernel matrix without argument checks.
Tensor kernel_matrix(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales) {
  const Tensor d2 = pairwise_squared_distances(x, y);
  Tensor k;
  for (double c : scales) {
    const Tensor kc = kernel == MmdKernel::InverseMultiquadric ? rdiv(c, add(d2, c)) : exp(mul(d2, -1.0 / c));
    k = k.defined() ? add(k, kc) : kc;
  }
  return k;
}

// Sum of the off-diagonal entries of a square matrix: the diagonal is masked out rather than
// subtracted, so rounding in k(x_i, x_i) cannot leak into the U-statistic.
Tensor off_diagonal_sum(const Tensor& k) {
  const Tensor mask = rsub(1.0, eye(k.size(0), {k.dtype(), k.device()}));
  return sum(mul(k, mask));
}

}  // namespace

Tensor pairwise_squared_distances(const Tensor& x, const Tensor& y) {
  check_samples("pairwise_squared_distances", x, y, 0);
  // ||x||^2 + ||y||^2 - 2 x.y: one gemm instead of an [n, m, d] difference tensor. Cancellation can
  // leave tiny negatives where points coincide; distances are >= 0.
  const Tensor xx = sum(square(x), 1, /*keepdim=*/true);           // [n, 1]
  const Tensor yy = reshape(sum(square(y), 1), {1, y.size(0)});    // [1, m]
  return clamp_min(sub(add(xx, yy), mul(matmul(x, t(y)), 2.0)), 0.0);
}

Tensor mmd_kernel_matrix(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales) {
  check_samples("mmd_kernel_matrix", x, y, 0);
  check_scales("mmd_kernel_matrix", scales);
  return kernel_matrix(x, y, kernel, scales);
}

Tensor mmd_unbiased(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales) {
  check_samples("mmd_unbiased", x, y, 2);
  check_scales("mmd_unbiased", scales);
  const double n = static_cast<double>(x.size(0)), m = static_cast<double>(y.size(0));
  const Tensor kxx = off_diagonal_sum(kernel_matrix(x, x, kernel, scales));
  const Tensor kyy = off_diagonal_sum(kernel_matrix(y, y, kernel, scales));
  const Tensor kxy = sum(kernel_matrix(x, y, kernel, scales));
  return sub(add(div(kxx, n * (n - 1)), div(kyy, m * (m - 1))), mul(div(kxy, n * m), 2.0));
}

Tensor mmd_biased(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales) {
  check_samples("mmd_biased", x, y, 1);
  check_scales("mmd_biased", scales);
  const double n = static_cast<double>(x.size(0)), m = static_cast<double>(y.size(0));
  const Tensor kxx = sum(kernel_matrix(x, x, kernel, scales));
  const Tensor kyy = sum(kernel_matrix(y, y, kernel, scales));
  const Tensor kxy = sum(kernel_matrix(x, y, kernel, scales));
  // Dividing before doubling makes the statistic of two identical samples exactly 0.
  return sub(add(div(kxx, n * n), div(kyy, m * m)), mul(div(kxy, n * m), 2.0));
}

std::vector<double> wae_kernel_scales(int64_t latent_dim, double sigma_z) {
  STRATA_CHECK(latent_dim >= 1 && sigma_z > 0 && std::isfinite(sigma_z),
               "wae_kernel_scales: needs latent_dim >= 1 and sigma_z > 0, got ", latent_dim, " and ", sigma_z);
  const double c = 2.0 * static_cast<double>(latent_dim) * sigma_z * sigma_z;
  std::vector<double> scales;
  for (double s : {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0}) scales.push_back(c * s);
  return scales;
}

}  // namespace strata
