// Helpers shared by the disentanglement metrics (not a public interface): input checks that name
// the metric, histogram discretisation and discrete information measures as disentanglement_lib's
// utils.py computes them, and drawing/encoding factor rows for the intervention metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/disentanglement/factor_codes.h"

namespace strata::analysis::detail {

// A row-major float64 matrix.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double operator()(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
  double& operator()(int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }
};

// A row-major int64 matrix of class labels.
struct Labels {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> v;
  int64_t operator()(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
};

// Codes: a defined 2-D float32/float64 tensor with finite values ("<metric>: codes must be ...").
Matrix codes_matrix(const Tensor& codes, const std::string& metric, const std::string& what = "codes");
// Factor classes: a defined int64 [N, K] tensor with non-negative values.
Labels factor_matrix(const Tensor& factors, const std::string& metric, const std::string& what = "factors");
// Codes and factors must have the same number of rows, at least `min_rows`.
void check_pair(const Matrix& codes, const Labels& factors, const std::string& metric, int64_t min_rows,
                const std::string& which = "");

// The distinct labels of a classifier's training set, sorted, and each label's index among them;
// fewer than two distinct labels is an error naming `classifier`.
struct EncodedLabels {
  std::vector<int64_t> classes;
  std::vector<int64_t> index;
};
EncodedLabels encode_labels(const std::vector<int64_t>& y, const std::string& classifier);

// Column j of the codes put into `bins` equal-width bins over its own observed range, as
// disentanglement_lib's _histogram_discretize: np.digitize(z, np.histogram(z, bins)[1][:-1]) (bins
// numbered from 0 here; the maximum goes into the last bin; a constant column into one bin).
std::vector<int64_t> histogram_discretize(const Matrix& codes, int64_t j, int64_t bins);
// Discrete mutual information I(a; b) in nats between two label sequences of equal length (as
// sklearn.metrics.mutual_info_score), and the entropy H(a) = I(a; a).
double discrete_mutual_information(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
double discrete_entropy(const std::vector<int64_t>& a);
// Column k of the factor classes.
std::vector<int64_t> column(const Labels& factors, int64_t k);
// Mutual information matrix m[j, k] (L x K, row-major) between each discretised code and factor.
std::vector<double> mutual_information_matrix(const Matrix& codes, const Labels& factors, int64_t bins);

// n rows of factor classes, each factor uniform over its values and independent (int64 [n, K]
// row-major), drawn factor by factor with randint: the same draws as FactorDataset::sample_factors
// from the same generator (tested); the intervention metrics use it on the factor sizes alone.
std::vector<int64_t> random_factor_rows(const std::vector<int64_t>& sizes, int64_t n, Generator* gen);
// Renders the n rows and encodes them: [n, L] with L checked against `expected_codes` when >= 0.
Matrix encode_rows(const FactorDataset& dataset, const Representation& representation,
                   const std::vector<int64_t>& rows, int64_t n, const std::string& metric,
                   int64_t expected_codes = -1);

}  // namespace strata::analysis::detail
