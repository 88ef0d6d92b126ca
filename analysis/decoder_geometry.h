// The local geometry of a decoder g: R^d -> R^D (d < D), which two terms of the manifold-hypothesis
// survey's two-step model need (shared/papers/manifold_hypothesis.md):
//  - the density on the decoder's manifold M = g(R^d): for a latent density p_Z and z = f(x),
//        log p(x) = log p_Z(z) - 1/2 log det(J_g(z)^T J_g(z)),
//    the change of variables for an injective map onto a d-dimensional manifold (the area formula:
//    a volume element dz becomes sqrt(det J^T J) dz on M). It is a density with respect to the
//    d-dimensional volume on M, not to Lebesgue measure on R^D, so it does not compare with a
//    full-dimensional model's log p(x) (whose volume element is dx in D dimensions), and it is the
//    same for every x with the same code f(x): it says nothing about how far x is from M.
//  - the Lipschitz constant of g in the bound W(P, g#Q) <= E||X - g(f(X))|| + Lip(g) W(f#P, Q).
//    Lip(g) = sup_z ||J_g(z)||_2 for a differentiable g on a convex domain; every value found at a
//    finite set of codes is a LOWER bound on it, as is every secant ratio ||g(z) - g(z')|| / ||z - z'||.
//
// J_g(z) [D, d] comes from reverse mode: z repeated D times as a batch, the decoder run once on it,
// and one backward pass with output gradient I_D, so row i of the batch's gradient is dg_i/dz (the
// engine has no forward mode; the cost is one forward and backward pass of D rows per code).
// Singular values are the square roots of the eigenvalues of J^T J (d x d, float64, LAPACK).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

// A differentiable decoder: codes [N, d] -> outputs [N, D].
using DecoderFunction = std::function<Tensor(const Tensor& z)>;

// J_g at one code z ([d] or [1, d]): float64 [D, d]. Records its own graph whatever the grad mode;
// `rows_per_pass` (>= 1) bounds the batch of repeated codes (memory), not the result.
Tensor decoder_jacobian(const DecoderFunction& g, const Tensor& z, int64_t rows_per_pass = 1024);

struct JacobianSpectrum {
  std::vector<double> singular_values;  // of J [D, d], descending (d of them)
  double half_log_det = 0;              // 1/2 log det(J^T J) = sum_i log sigma_i (-inf when singular)
  double spectral_norm() const { return singular_values.empty() ? 0 : singular_values.front(); }
};

// jacobian: float32/float64 [D, d] with D >= d >= 1.
JacobianSpectrum jacobian_spectrum(const Tensor& jacobian);

// The spectrum of J_g at every row of codes [N, d]; progress(done, total) after each code when given.
std::vector<JacobianSpectrum> decoder_jacobian_spectra(
    const DecoderFunction& g, const Tensor& codes,
    const std::function<void(int64_t, int64_t)>& progress = {});

// log p_Z(z) - 1/2 log det(J^T J): the two-step density on the decoder's manifold (above).
inline double manifold_log_density(double latent_log_density, const JacobianSpectrum& spectrum) {
  return latent_log_density - spectrum.half_log_det;
}

// max over pairs i != j with z_i != z_j of ||decoded_i - decoded_j|| / ||z_i - z_j||: a lower bound
// on Lip(g) for decoded = g(z). codes [N, d], decoded [N, D], N >= 2 (some pair must differ).
double secant_lipschitz_lower_bound(const Tensor& codes, const Tensor& decoded);

}  // namespace strata::analysis
