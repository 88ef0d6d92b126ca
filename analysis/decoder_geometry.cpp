#include "analysis/decoder_geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/linear_algebra.h"
#include "analysis/nearest_neighbors.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/shape.h"
#include "ops/ops.h"

namespace strata::analysis {

Tensor decoder_jacobian(const DecoderFunction& g, const Tensor& z, int64_t rows_per_pass) {
  STRATA_CHECK(z.defined() && (z.dim() == 1 || (z.dim() == 2 && z.size(0) == 1)) && z.numel() >= 1,
               "decoder_jacobian: expected one code [d] or [1, d], got ",
               z.defined() ? shape_str(z.shape()) : "an undefined tensor");
  STRATA_CHECK(is_floating(z.dtype()), "decoder_jacobian: the code must be floating point, got ",
               dtype_name(z.dtype()));
  STRATA_CHECK(rows_per_pass >= 1, "decoder_jacobian: rows_per_pass must be at least 1, got ", rows_per_pass);
  const int64_t d = z.numel();
  const Tensor code = reshape(contiguous(z.detach()), {1, d});
  GradEnabledGuard grad_on;
  int64_t outputs = 0;
  {
    NoGradGuard no_grad;
    const Tensor probe = g(code);
    STRATA_CHECK(probe.dim() == 2 && probe.size(0) == 1 && probe.size(1) >= 1,
                 "decoder_jacobian: the decoder must map [N, d] to [N, D], got ", shape_str(probe.shape()),
                 " for one code");
    outputs = probe.size(1);
  }
  std::vector<double> jacobian(static_cast<size_t>(outputs * d));
  for (int64_t first = 0; first < outputs; first += rows_per_pass) {
    const int64_t rows = std::min(rows_per_pass, outputs - first);
    const Tensor leaf = contiguous(expand(code, {rows, d})).set_requires_grad(true);
    const Tensor out = g(leaf);
    STRATA_CHECK(out.dim() == 2 && out.size(0) == rows && out.size(1) == outputs,
                 "decoder_jacobian: the decoder gave ", shape_str(out.shape()), " for ", rows,
                 " codes, expected [", rows, ", ", outputs, "]");
    STRATA_CHECK(out.requires_grad(),
                 "decoder_jacobian: the decoder's output does not depend on the code through the graph");
    // Row k of the batch reads output first + k: its gradient is that output's row of J.
    std::vector<double> selector(static_cast<size_t>(rows * outputs), 0.0);
    for (int64_t k = 0; k < rows; ++k) selector[static_cast<size_t>(k * outputs + first + k)] = 1.0;
    const Tensor grad_output = to_dtype(from_vector(selector, {rows, outputs}), out.dtype());
    const std::vector<double> part =
        to_dtype(autograd::grad({out}, {leaf}, {grad_output})[0], DType::Float64).to_vector<double>();
    std::copy(part.begin(), part.end(), jacobian.begin() + first * d);
  }
  return from_vector(jacobian, {outputs, d});
}

JacobianSpectrum jacobian_spectrum(const Tensor& jacobian) {
  const Tensor j = float64_matrix(jacobian, "jacobian_spectrum", "the Jacobian");
  STRATA_CHECK(j.size(0) >= j.size(1),
               "jacobian_spectrum: expected a Jacobian [D, d] of a decoder with D >= d, got ",
               shape_str(jacobian.shape()));
  JacobianSpectrum s;
  s.singular_values = singular_values(j.to_vector<double>(), j.size(0), j.size(1));
  for (double sigma : s.singular_values)
    s.half_log_det += sigma > 0 ? std::log(sigma) : -std::numeric_limits<double>::infinity();
  return s;
}

std::vector<JacobianSpectrum> decoder_jacobian_spectra(
    const DecoderFunction& g, const Tensor& codes, const std::function<void(int64_t, int64_t)>& progress) {
  STRATA_CHECK(codes.defined() && codes.dim() == 2, "decoder_jacobian_spectra: expected codes [N, d], got ",
               codes.defined() ? shape_str(codes.shape()) : "an undefined tensor");
  std::vector<JacobianSpectrum> spectra;
  const int64_t n = codes.size(0);
  for (int64_t i = 0; i < n; ++i) {
    spectra.push_back(jacobian_spectrum(decoder_jacobian(g, narrow(codes, 0, i, 1))));
    if (progress) progress(i + 1, n);
  }
  return spectra;
}

double secant_lipschitz_lower_bound(const Tensor& codes, const Tensor& decoded) {
  const Tensor z = float64_matrix(codes, "secant_lipschitz_lower_bound", "codes");
  const Tensor x = float64_matrix(decoded, "secant_lipschitz_lower_bound", "decoded points");
  STRATA_CHECK(z.size(0) == x.size(0) && z.size(0) >= 2,
               "secant_lipschitz_lower_bound: needs N >= 2 codes and ", "their N decoded points, got ",
               shape_str(codes.shape()), " and ", shape_str(decoded.shape()));
  const int64_t n = z.size(0), d = z.size(1), big = x.size(1);
  const double* zp = z.data_ptr<double>();
  const double* xp = x.data_ptr<double>();
  // Direct sums (not the |a|^2 + |b|^2 - 2ab expansion): a pair of close codes would otherwise
  // divide by a rounding residue.
  auto squared = [](const double* a, const double* b, int64_t len) {
    double s = 0;
    for (int64_t k = 0; k < len; ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
    return s;
  };
  double best = -1;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double dz = squared(zp + i * d, zp + j * d, d);
      if (dz == 0) continue;
      best = std::max(best, std::sqrt(squared(xp + i * big, xp + j * big, big) / dz));
    }
  STRATA_CHECK(best >= 0, "secant_lipschitz_lower_bound: all ", n, " codes are equal; no ratio to take");
  return best;
}

}  // namespace strata::analysis
