// The estimators of `strata analyze two-step` on inputs with known answers: the exact Wasserstein
// distance (analysis/wasserstein.h), decoder Jacobians, their spectra, the density on a decoder's
// manifold and the secant bound on Lip(g) (analysis/decoder_geometry.h).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "analysis/decoder_geometry.h"
#include "analysis/wasserstein.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

Tensor points(const std::vector<double>& values, int64_t dim) {
  return from_vector(values, {static_cast<int64_t>(values.size()) / dim, dim});
}

// A = [a1 a2] [5, 2] with orthogonal columns of lengths 3 and 0.5: singular values 3 and 0.5, the
// top right singular vector e1.
Tensor linear_map() {
  const double r = 1 / std::sqrt(2.0);
  return from_vector(std::vector<double>{3 * r, 0, 3 * r, 0, 0, 0.5 * 0.6, 0, 0.5 * 0.8, 0, 0}, {5, 2});
}

}  // namespace

TEST_CASE("exact W1 and W2 of 1-D sets are those of the sorted matching", "[decoder-geometry]") {
  // Sorted: a = 0, 1, 3 and b = -1, 2, 5: W1 = (1 + 1 + 2) / 3, W2 = sqrt((1 + 1 + 4) / 3).
  const Tensor a = points({3, 0, 1}, 1), b = points({5, 2, -1}, 1);
  const analysis::ExactWasserstein w1 = analysis::exact_wasserstein(a, b);
  CHECK(w1.distance == Approx(4.0 / 3.0).epsilon(1e-12));
  CHECK(w1.matching == std::vector<int64_t>{0, 2, 1});  // 3 -> 5, 0 -> -1, 1 -> 2
  CHECK(analysis::exact_wasserstein(a, b, 2).distance == Approx(std::sqrt(2.0)).epsilon(1e-12));
  // 60 random points: the mean gap between the sorted sets.
  Generator gen(3);
  std::vector<double> x = randn({60}, {DType::Float64}, &gen).to_vector<double>();
  std::vector<double> y = add(mul(randn({60}, {DType::Float64}, &gen), 2.0), 0.5).to_vector<double>();
  const double w = analysis::exact_wasserstein(points(x, 1), points(y, 1)).distance;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  double expected = 0;
  for (size_t i = 0; i < x.size(); ++i) expected += std::fabs(x[i] - y[i]) / 60.0;
  CHECK(w == Approx(expected).epsilon(1e-9));
}

TEST_CASE("exact W1 of a shifted set is the shift's length, and of a permuted set 0", "[decoder-geometry]") {
  Generator gen(5);
  const Tensor a = randn({40, 6}, {DType::Float64}, &gen);
  // W1(mu, mu + c) = ||c||: the identity matching costs ||c||, and the 1-Lipschitz function
  // <x, c / ||c||> shows no plan costs less (Kantorovich-Rubinstein duality). W2 as well.
  const Tensor c = from_vector(std::vector<double>{0.3, -1.2, 0.0, 2.0, 0.5, -0.1}, {1, 6});
  const double length = std::sqrt(0.09 + 1.44 + 4.0 + 0.25 + 0.01);
  CHECK(analysis::exact_wasserstein(a, add(a, c)).distance == Approx(length).epsilon(1e-9));
  CHECK(analysis::exact_wasserstein(a, add(a, c), 2).distance == Approx(length).epsilon(1e-9));
  // b_j = a_perm[j]: distance 0, and a_i is sent to the j with perm[j] = i.
  std::vector<int64_t> perm(40);
  std::iota(perm.begin(), perm.end(), 0);
  std::reverse(perm.begin(), perm.begin() + 25);
  std::rotate(perm.begin() + 10, perm.begin() + 17, perm.end());
  const Tensor b = index_select(a, 0, from_vector(perm, {40}));
  const analysis::ExactWasserstein w = analysis::exact_wasserstein(a, b);
  CHECK(w.distance < 1e-6);
  for (int64_t j = 0; j < 40; ++j) CHECK(w.matching[static_cast<size_t>(perm[static_cast<size_t>(j)])] == j);
  // float32 input is accepted (the report passes images).
  CHECK(analysis::exact_wasserstein(to_dtype(a, DType::Float32), to_dtype(b, DType::Float32)).distance <
        1e-3);
}

TEST_CASE("exact W1 equals the best of all matchings of a small set", "[decoder-geometry]") {
  Generator gen(11);
  const Tensor a = randn({6, 3}, {DType::Float64}, &gen), b = rand({6, 3}, {DType::Float64}, &gen);
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<int64_t> sigma = {0, 1, 2, 3, 4, 5};
  double best = INFINITY;
  do {  // all 720 permutations
    double cost = 0;
    for (int64_t i = 0; i < 6; ++i) {
      double d2 = 0;
      for (int64_t k = 0; k < 3; ++k) d2 += std::pow(av[i * 3 + k] - bv[sigma[i] * 3 + k], 2);
      cost += std::sqrt(d2) / 6;
    }
    best = std::min(best, cost);
  } while (std::next_permutation(sigma.begin(), sigma.end()));
  CHECK(analysis::exact_wasserstein(a, b).distance == Approx(best).epsilon(1e-9));
  // Two points by hand: {(0,0), (2,0)} against {(2,1), (0,1)}: each moves 1 straight up.
  CHECK(analysis::exact_wasserstein(points({0, 0, 2, 0}, 2), points({2, 1, 0, 1}, 2)).distance ==
        Approx(1.0).epsilon(1e-12));
}

TEST_CASE("exact_wasserstein refuses sets it cannot compare, naming them", "[decoder-geometry]") {
  require_error(
      [] {
        analysis::exact_wasserstein(zeros({3, 2}), zeros({4, 2}));
      },
      {"exact_wasserstein", "one shape", "[3, 2]", "[4, 2]"});
  require_error(
      [] {
        analysis::exact_wasserstein(zeros({3, 2}), zeros({3, 2}), 0.5);
      },
      {"exact_wasserstein", "p must"});
  require_error(
      [] {
        analysis::exact_wasserstein(full({2, 2}, NAN), zeros({2, 2}));
      },
      {"exact_wasserstein", "non-finite"});
}

TEST_CASE("decoder_jacobian recovers a linear map and a closed-form nonlinear Jacobian",
          "[decoder-geometry]") {
  const Tensor A = linear_map();
  const analysis::DecoderFunction linear = [&A](const Tensor& z) { return matmul(z, transpose(A, 0, 1)); };
  const Tensor z = from_vector(std::vector<double>{0.7, -1.3}, {2});
  require_values(analysis::decoder_jacobian(linear, z), A.to_vector<double>(), 1e-12);
  // Two rows per pass: the same Jacobian, assembled from three passes.
  require_values(analysis::decoder_jacobian(linear, z, 2), A.to_vector<double>(), 1e-12);
  // g(z) = (tanh z1, z1 z2, exp z2): J = [[1 - tanh^2 z1, 0], [z2, z1], [0, exp z2]].
  const analysis::DecoderFunction g = [](const Tensor& c) {
    const Tensor z1 = narrow(c, 1, 0, 1), z2 = narrow(c, 1, 1, 1);
    return cat({tanh(z1), mul(z1, z2), exp(z2)}, 1);
  };
  const double a = 0.3, b = -0.7;
  require_values(analysis::decoder_jacobian(g, from_vector(std::vector<double>{a, b}, {1, 2})),
                 {1 - std::tanh(a) * std::tanh(a), 0, b, a, 0, std::exp(b)}, 1e-12);
  // Under NoGradGuard too (the report evaluates under one).
  NoGradGuard no_grad;
  require_values(analysis::decoder_jacobian(linear, z), A.to_vector<double>(), 1e-12);
}

TEST_CASE("jacobian_spectrum gives singular values and 1/2 log det J^T J by hand", "[decoder-geometry]") {
  const analysis::JacobianSpectrum s = analysis::jacobian_spectrum(linear_map());
  REQUIRE(s.singular_values.size() == 2);
  CHECK(s.singular_values[0] == Approx(3.0).epsilon(1e-12));
  CHECK(s.singular_values[1] == Approx(0.5).epsilon(1e-12));
  CHECK(s.spectral_norm() == Approx(3.0).epsilon(1e-12));
  CHECK(s.half_log_det == Approx(std::log(1.5)).epsilon(1e-12));  // det J^T J = 9 * 0.25
  // A rank-deficient Jacobian: the manifold degenerates there, log det = -inf.
  const analysis::JacobianSpectrum flat = analysis::jacobian_spectrum(points({1, 0, 2, 0, 3, 0}, 2));
  CHECK(flat.singular_values[0] == Approx(std::sqrt(14.0)).epsilon(1e-12));
  CHECK(std::isinf(flat.half_log_det));
  CHECK(flat.half_log_det < 0);
  require_error([] { analysis::jacobian_spectrum(zeros({2, 3})); }, {"jacobian_spectrum", "D >= d"});
}

TEST_CASE("the density on a scaled embedding's manifold is the pushed-forward Gaussian's",
          "[decoder-geometry]") {
  // g(z) = (s z, 0) embeds R^2 in R^4. With z ~ N(0, I_2), g(z) on the plane is N(0, s^2 I_2), whose
  // density at x = g(z) is exp(-|x|^2 / (2 s^2)) / (2 pi s^2): the manifold density must equal it.
  const double s = 2.5;
  const analysis::DecoderFunction g = [s](const Tensor& z) { return cat({mul(z, s), zeros_like(z)}, 1); };
  Generator gen(17);
  const Tensor codes = randn({5, 2}, {DType::Float64}, &gen);
  const std::vector<analysis::JacobianSpectrum> spectra = analysis::decoder_jacobian_spectra(g, codes);
  REQUIRE(spectra.size() == 5);
  const std::vector<double> zv = codes.to_vector<double>();
  for (size_t i = 0; i < 5; ++i) {
    const double z2 = zv[2 * i] * zv[2 * i] + zv[2 * i + 1] * zv[2 * i + 1];
    const double log_pz = -std::log(2 * std::numbers::pi) - z2 / 2;
    const double x2 = s * s * z2;
    const double expected = -std::log(2 * std::numbers::pi * s * s) - x2 / (2 * s * s);
    CHECK(spectra[i].half_log_det == Approx(2 * std::log(s)).epsilon(1e-12));
    CHECK(analysis::manifold_log_density(log_pz, spectra[i]) == Approx(expected).epsilon(1e-12));
  }
  int64_t calls = 0;
  analysis::decoder_jacobian_spectra(g, codes, [&calls](int64_t done, int64_t total) {
    ++calls;
    CHECK(total == 5);
    CHECK(done == calls);
  });
  CHECK(calls == 5);
}

TEST_CASE("secant ratios bound Lip(g) from below and reach it along the top singular vector",
          "[decoder-geometry]") {
  const Tensor A = linear_map();
  Generator gen(23);
  Tensor z = randn({30, 2}, {DType::Float64}, &gen);
  const double random_pairs = analysis::secant_lipschitz_lower_bound(z, matmul(z, transpose(A, 0, 1)));
  CHECK(random_pairs <= 3.0 + 1e-12);
  CHECK(random_pairs >= 0.5 - 1e-12);
  // Adding two codes a multiple of e1 apart: ratio exactly sigma_max = 3. Duplicated codes are skipped.
  z = cat({z, points({1, 1, -1, 1, 1, 1}, 2)}, 0);
  CHECK(analysis::secant_lipschitz_lower_bound(z, matmul(z, transpose(A, 0, 1))) ==
        Approx(3.0).epsilon(1e-12));
  require_error(
      [] {
        analysis::secant_lipschitz_lower_bound(ones({3, 2}), zeros({3, 5}));
      },
      {"secant_lipschitz_lower_bound", "all 3 codes are equal"});
  require_error(
      [] {
        analysis::secant_lipschitz_lower_bound(ones({3, 2}), zeros({4, 5}));
      },
      {"secant_lipschitz_lower_bound", "N >= 2"});
}
