// The Vendi score (Friedman & Dieng, TMLR 2023, "The Vendi Score: A Diversity Evaluation Metric for
// Machine Learning", Definition 3.1, eq. 2): for n samples and a positive semi-definite similarity
// kernel with k(x, x) = 1, K_ij = k(x_i, x_j), lambda = the eigenvalues of K / n, and
//   VS = exp( - sum_i lambda_i log lambda_i )          (0 log 0 = 0),
// the exponential of the Shannon entropy of the eigenvalues: 1 for n identical samples, n for n
// mutually orthogonal ones ("the effective number of distinct samples"). Order q != 1 gives the
// paper's VS_q = exp( log(sum_i lambda_i^q) / (1 - q) ) (Section 3, Pasarkar & Dieng 2023).
//
// Kernels (VendiOptions::kernel), on the feature vectors given (raw pixels, codes, or a
// classifier's features: the caller states which):
//  - cosine: k(x, y) = <x, y> / (|x| |y|) (rows must be non-zero); K = X X^T of the unit rows, so the
//    eigenvalues are those of X^T X / n when the feature dimension is smaller than n (the paper's
//    Section 3 "computational cost" remark).
//  - gaussian: k(x, y) = exp(-|x - y|^2 / (2 sigma^2)), sigma = VendiOptions::bandwidth, or, when it
//    is 0, the median of the pairwise distances (the median heuristic).
// Eigenvalues by LAPACK (analysis/linear_algebra.h); those below 0 from rounding are taken as 0.
// Deterministic; no sampling (the score is of the n samples given).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

enum class VendiKernel { Cosine, Gaussian };

struct VendiOptions {
  VendiKernel kernel = VendiKernel::Cosine;
  double bandwidth = 0;  // Gaussian sigma; 0: median pairwise distance
  double order = 1;      // q; 1: the Shannon (default) Vendi score
};

struct VendiResult {
  double score = 0;
  double bandwidth = 0;  // the Gaussian sigma used (0 for cosine)
  int64_t n = 0;
  std::vector<double> eigenvalues;  // of K / n, descending, clamped at 0
};

// samples: float32/float64 [n, d] (an image batch [n, C, H, W] is flattened to [n, C*H*W]).
VendiResult vendi_score(const Tensor& samples, const VendiOptions& options = {});
// From a similarity matrix K (n x n row-major; symmetric, PSD, unit diagonal: the diagonal is checked
// to 1e-6), for kernels computed elsewhere.
VendiResult vendi_score_from_kernel(const std::vector<double>& kernel, int64_t n, double order = 1);

}  // namespace strata::analysis
