// The Vendi score (analysis/diversity/vendi.h) and the LAPACK symmetric eigendecompositions under it
// (analysis/linear_algebra.h), on matrices and sample sets whose answers are known in closed form.
#include <cmath>

#include "analysis/diversity/vendi.h"
#include "analysis/linear_algebra.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::analysis;
using namespace strata::test;

namespace {

// H diag(d) H with the Householder reflection H = I - 2 v v^T / (v^T v): spectrum d, eigenvectors
// the columns of H.
std::vector<double> with_spectrum(const std::vector<double>& d, const std::vector<double>& v) {
  const size_t n = d.size();
  double vv = 0;
  for (const double x : v) vv += x * x;
  std::vector<double> h(n * n), a(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) h[i * n + j] = (i == j ? 1.0 : 0.0) - 2 * v[i] * v[j] / vv;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      for (size_t k = 0; k < n; ++k) a[i * n + j] += h[i * n + k] * d[k] * h[j * n + k];
  return a;
}

}  // namespace

TEST_CASE("symmetric eigenvalues of matrices with known spectra", "[vendi]") {
  REQUIRE(symmetric_eigenvalues({3, 0, 0, 0, -1, 0, 0, 0, 2}, 3) == std::vector<double>{-1, 2, 3});
  const std::vector<double> two = symmetric_eigenvalues(tensor64({2, 1, 1, 2}, {2, 2}));
  REQUIRE(two[0] == Approx(1.0).epsilon(1e-14));
  REQUIRE(two[1] == Approx(3.0).epsilon(1e-14));
  REQUIRE(symmetric_eigenvalues({}, 0).empty());

  const std::vector<double> d = {7, -2, 0.5, 3, 1e-3}, v = {1, -2, 0.5, 3, 1};
  const std::vector<double> a = with_spectrum(d, v);
  const std::vector<double> ev = symmetric_eigenvalues(a, 5);
  const std::vector<double> sorted = {-2, 1e-3, 0.5, 3, 7};
  for (size_t i = 0; i < 5; ++i) REQUIRE(ev[i] == Approx(sorted[i]).margin(1e-12));

  const SymmetricEigen e = symmetric_eigen(a, 5);
  for (size_t i = 0; i < 5; ++i) REQUIRE(e.values[i] == Approx(sorted[i]).margin(1e-12));
  for (size_t c = 0; c < 5; ++c) {
    // A v_c = lambda_c v_c, and the columns are orthonormal.
    for (size_t i = 0; i < 5; ++i) {
      double av = 0;
      for (size_t k = 0; k < 5; ++k) av += a[i * 5 + k] * e.vectors[k * 5 + c];
      REQUIRE(av == Approx(e.values[c] * e.vectors[i * 5 + c]).margin(1e-12));
    }
    for (size_t c2 = 0; c2 < 5; ++c2) {
      double dot = 0;
      for (size_t k = 0; k < 5; ++k) dot += e.vectors[k * 5 + c] * e.vectors[k * 5 + c2];
      REQUIRE(dot == Approx(c == c2 ? 1.0 : 0.0).margin(1e-12));
    }
  }
  // float32 tensors are read as float64.
  REQUIRE(symmetric_eigen(tensor32({2, 0, 0, 5}, {2, 2})).values == std::vector<double>{2, 5});
}

TEST_CASE("symmetric eigenvalues reject bad input", "[vendi]") {
  require_error(
      [] {
        symmetric_eigenvalues({1, 2, 3}, 2);
      },
      {"symmetric_eigenvalues", "2 x 2 = 4 values, got 3"});
  require_error(
      [] {
        symmetric_eigenvalues(tensor64({1, 2, 3, 4, 5, 6}, {2, 3}));
      },
      {"symmetric_eigenvalues", "square", "[2, 3]"});
  require_error(
      [] {
        symmetric_eigen({1, std::nan(""), 0, 1}, 2);
      },
      {"symmetric_eigen", "element 0,1", "not finite"});
  require_error(
      [] {
        symmetric_eigenvalues({1, 2, 2.5, 1}, 2);
      },
      {"symmetric_eigenvalues", "not symmetric", "element 0,1 is 2 but 1,0 is 2.5"});
}

TEST_CASE("Vendi score: identical samples 1, orthogonal samples n", "[vendi]") {
  // n identical samples: K = all ones, eigenvalues of K / n are (1, 0, ..., 0): VS = 1.
  const Tensor same = tensor64({0.3, -1, 2, 0.3, -1, 2, 0.3, -1, 2, 0.3, -1, 2, 0.3, -1, 2}, {5, 3});
  REQUIRE(vendi_score(same).score == Approx(1.0).margin(1e-9));
  VendiOptions gaussian{VendiKernel::Gaussian, 1.0};
  REQUIRE(vendi_score(same, gaussian).score == Approx(1.0).margin(1e-9));
  // n orthogonal samples (scaled rows of the identity): K = I, eigenvalues 1/n: VS = exp(log n) = n.
  const Tensor orthogonal = tensor64({2, 0, 0, 0, 0, -1, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0.1}, {4, 4});
  REQUIRE(vendi_score(orthogonal).score == Approx(4.0).margin(1e-9));
  // Orthogonal rows in more dimensions than samples, and the identity of 6 in 6 dimensions padded.
  const Tensor wide = tensor64({0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0, 0}, {3, 6});
  REQUIRE(vendi_score(wide).score == Approx(3.0).margin(1e-9));
  // Gaussian kernel with samples far apart relative to the bandwidth: K = I up to exp(-50): VS = n.
  REQUIRE(vendi_score(tensor64({0, 0, 10, 0, 0, 10, 10, 10}, {4, 2}), gaussian).score ==
          Approx(4.0).margin(1e-9));
}

TEST_CASE("Vendi score in closed form for two samples, orders and the n > d path", "[vendi]") {
  // Two unit vectors at 60 degrees: cosine c = 1/2, K = [[1, c], [c, 1]], eigenvalues of K / 2:
  // (1 +- c) / 2 = 0.75, 0.25; VS = exp(-(0.75 ln 0.75 + 0.25 ln 0.25)) = exp(0.562335) = 1.754765.
  const Tensor pair = tensor64({1, 0, 0.5, std::sqrt(3.0) / 2}, {2, 2});
  const double h = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  const VendiResult r = vendi_score(pair);
  REQUIRE(r.score == Approx(std::exp(h)).epsilon(1e-12));
  REQUIRE(r.score == Approx(1.754765).epsilon(1e-6));
  REQUIRE(r.eigenvalues[0] == Approx(0.75).epsilon(1e-12));
  // Order 2: 1 / sum lambda^2 = 1 / 0.625 = 1.6; order infinity: 1 / max lambda = 4/3.
  REQUIRE(vendi_score(pair, {VendiKernel::Cosine, 0, 2}).score == Approx(1.6).epsilon(1e-12));
  REQUIRE(vendi_score(pair, {VendiKernel::Cosine, 0, INFINITY}).score == Approx(4.0 / 3).epsilon(1e-12));
  // More samples than dimensions: the d x d Gram path equals the n x n kernel computed here.
  Generator gen(3);
  const Tensor x = randn({9, 3}, {DType::Float64}, &gen);
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> k(81);
  for (size_t a = 0; a < 9; ++a)
    for (size_t b = 0; b < 9; ++b) {
      double ab = 0, aa = 0, bb = 0;
      for (size_t j = 0; j < 3; ++j)
        ab += v[a * 3 + j] * v[b * 3 + j], aa += v[a * 3 + j] * v[a * 3 + j],
            bb += v[b * 3 + j] * v[b * 3 + j];
      k[a * 9 + b] = ab / std::sqrt(aa * bb);
    }
  REQUIRE(vendi_score(x).score == Approx(vendi_score_from_kernel(k, 9).score).epsilon(1e-10));
  const double s = vendi_score(x).score;
  REQUIRE(s > 1.0);
  REQUIRE(s < 3.0 + 1e-9);  // at most the feature dimension for the cosine kernel
  // The median heuristic is reported; images [n, C, H, W] are flattened.
  const VendiResult g = vendi_score(x, {VendiKernel::Gaussian, 0});
  REQUIRE(g.bandwidth > 0);
  REQUIRE(vendi_score(randn({4, 1, 2, 2}, {DType::Float32}, &gen)).n == 4);
}

TEST_CASE("Vendi score rejects bad input", "[vendi]") {
  require_error(
      [] {
        vendi_score(tensor64({1, 0, 0, 0}, {2, 2}));
      },
      {"vendi_score", "sample 1", "zero vector"});
  require_error([] { vendi_score(tensor64({1, 2}, {2})); }, {"vendi_score", "[n, d]", "[2]"});
  require_error(
      [] {
        vendi_score_from_kernel({1, 0.5, 0.5, 2}, 2);
      },
      {"vendi_score", "K[1, 1] = 2", "k(x, x) = 1"});
  require_error(
      [] {
        vendi_score(tensor64({1, 1, 1, 1}, {2, 2}), {VendiKernel::Gaussian, 0});
      },
      {"vendi_score", "median pairwise distance", "is 0"});
  require_error(
      [] {
        vendi_score(tensor64({1, 0, 0, 1}, {2, 2}), {VendiKernel::Cosine, 0, -1});
      },
      {"vendi_score", "order q must be >= 0"});
}
