// The Frechet distance between Gaussians fitted to two sets of feature vectors (Dowson & Landau 1982,
// "The Frechet distance between multivariate normal distributions"; the statistic of Heusel et al.
// 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", eq. 6,
// known as FID when the features are Inception-v3's pool3). For N(mu1, S1) and N(mu2, S2):
//
//   d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}).
//
// Like FID, the value reported is d^2 itself (FrechetResult::distance). The features here are
// whatever the caller passes: strata's `eval --sample-quality` uses the penultimate layer of a
// classifier this project trains on the same data (models/classifier/), so its figures are NOT
// Inception FID and do not compare with published FIDs (shared/papers/metrics.md, "Sample quality
// without downloaded networks").
//
// Tr((S1 S2)^{1/2}) is the sum of the square roots of the eigenvalues of S1 S2, which are those of
// the symmetric PSD matrix S1^{1/2} S2 S1^{1/2}. Rather than forming that product (which squares the
// condition number, so eigenvalues near 0 lose half their digits), the sum is taken as the sum of the
// singular values of S2^{1/2} S1^{1/2} (its nuclear norm): sigma_i^2 = eig(S1^{1/2} S2 S1^{1/2}).
// Square roots are symmetric PSD roots from LAPACK eigendecompositions (analysis/linear_algebra.h).
// When S1 S2 is singular (its smallest singular value <= F * 2^-52 times its largest, as with fewer
// samples than features or a constant feature), 1e-6 is added to both diagonals, as the method notes
// say (and pytorch-fid does when its sqrtm fails), and FrechetResult::regularised says so.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

// The mean and covariance of N feature vectors (unbiased, 1 / (N - 1), as numpy.cov and pytorch-fid).
struct GaussianFit {
  int64_t n = 0;                   // feature vectors fitted
  int64_t dim = 0;                 // F
  std::vector<double> mean;        // [F]
  std::vector<double> covariance;  // F x F row-major
};

// features: float32/float64 [N, F], N >= 2, finite.
GaussianFit fit_gaussian(const Tensor& features);

struct FrechetResult {
  double distance = 0;       // d^2
  double mean_term = 0;      // ||mu1 - mu2||^2
  double trace_term = 0;     // Tr(S1 + S2 - 2 (S1 S2)^{1/2})
  bool regularised = false;  // 1e-6 was added to the diagonals (S1 S2 singular)
};

// From the moments: mean1, mean2 [F]; cov1, cov2 [F, F] symmetric PSD (float32/float64).
FrechetResult frechet_distance(const Tensor& mean1, const Tensor& cov1, const Tensor& mean2,
                               const Tensor& cov2);
FrechetResult frechet_distance(const GaussianFit& a, const GaussianFit& b);
// Between the Gaussians fitted to two sets of features [N, F] and [M, F] (N, M >= 2).
FrechetResult frechet_distance(const Tensor& features1, const Tensor& features2);

}  // namespace strata::analysis
