// 2-D toy distributions against their definitions, and the sample distances (sliced W2, MMD)
// against closed forms.
#include <cmath>
#include <numbers>

#include "models/flows/sample_distances.h"
#include "models/flows/toy_data.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::models;
using namespace strata::test;

TEST_CASE("8 gaussians: the components' weights, means and spreads are those of the definition", "[flows]") {
  Generator gen(0);
  const int64_t n = 40000;
  const std::vector<float> p = sample_toy_distribution("8gaussians", n, &gen).to_vector<float>();
  std::vector<double> count(8), mx(8), my(8), sq(8);
  const double radius = 4 / 1.414;
  for (int64_t i = 0; i < n; ++i) {
    const double x = p[2 * i], y = p[2 * i + 1];
    // Nearest centre (components are 2.17 apart and have sd 0.354, so assignment errors are negligible).
    int k = static_cast<int>(std::lround(std::atan2(y, x) / (std::numbers::pi / 4))) % 8;
    if (k < 0) k += 8;
    count[k] += 1, mx[k] += x, my[k] += y;
    const double cx = radius * std::cos(k * std::numbers::pi / 4), cy = radius * std::sin(k * std::numbers::pi / 4);
    sq[k] += (x - cx) * (x - cx) + (y - cy) * (y - cy);
  }
  for (int k = 0; k < 8; ++k) {
    INFO("component " << k);
    REQUIRE(count[k] / n == Approx(0.125).margin(0.008));  // sd 0.0017
    REQUIRE(mx[k] / count[k] == Approx(radius * std::cos(k * std::numbers::pi / 4)).margin(0.02));  // sd 0.005
    REQUIRE(my[k] / count[k] == Approx(radius * std::sin(k * std::numbers::pi / 4)).margin(0.02));
    REQUIRE(std::sqrt(sq[k] / count[k] / 2) == Approx(0.5 / 1.414).margin(0.01));
  }
}

TEST_CASE("checkerboard points lie on the dark squares, rings on their radii", "[flows]") {
  Generator gen(1);
  const std::vector<float> c = sample_toy_distribution("checkerboard", 5000, &gen).to_vector<float>();
  for (size_t i = 0; i < c.size(); i += 2) {
    // Undo the scale 2: column floor(x1) in -2..1, and x2 - (floor(x1) mod 2) in [0, 1) or [-2, -1).
    const double x1 = c[i] / 2, x2 = c[i + 1] / 2;
    REQUIRE(x1 >= -2);
    REQUIRE(x1 < 2);
    const double parity = std::fmod(std::floor(x1) + 4, 2.0);
    const double base = x2 - parity;
    REQUIRE(((base >= -1e-6 && base < 1 + 1e-6) || (base >= -2 - 1e-6 && base < -1 + 1e-6)));
  }
  const std::vector<float> r = sample_toy_distribution("rings", 20000, &gen).to_vector<float>();
  double residual = 0, residual_sq = 0;
  std::vector<int> per_ring(4);
  for (size_t i = 0; i < r.size(); i += 2) {
    const double radius = std::hypot(r[i], r[i + 1]);
    const int ring = std::clamp(static_cast<int>(std::lround(radius / 0.75)) - 1, 0, 3);
    per_ring[ring] += 1;
    residual += radius - 0.75 * (ring + 1);
    residual_sq += std::pow(radius - 0.75 * (ring + 1), 2);
  }
  for (int k = 0; k < 4; ++k) REQUIRE(per_ring[k] / 20000.0 == Approx(0.25).margin(0.02));
  REQUIRE(residual / 20000 == Approx(0.0).margin(0.01));  // radial noise of sd 0.08 (curvature adds ~0.002)
  REQUIRE(std::sqrt(residual_sq / 20000) == Approx(0.08).margin(0.005));
}

TEST_CASE("every toy distribution is seeded, finite and of shape [n, 2]", "[flows]") {
  for (const std::string& name : toy_distribution_names()) {
    INFO(name);
    Generator a(3), b(3);
    const Tensor x = sample_toy_distribution(name, 500, &a);
    REQUIRE(x.shape() == Shape{500, 2});
    REQUIRE(x.dtype() == DType::Float32);
    REQUIRE(x.to_vector<float>() == sample_toy_distribution(name, 500, &b).to_vector<float>());
    for (float v : x.to_vector<float>()) REQUIRE(std::isfinite(v));
    // Every set spreads over a few units around the origin.
    const double spread = std::sqrt(mean(square(x)).item<double>());
    REQUIRE(spread > 0.8);
    REQUIRE(spread < 5.0);
  }
  Generator gen(0);
  require_error([&] { sample_toy_distribution("swissroll", 10, &gen); }, {"swissroll", "8gaussians, moons"});
}

TEST_CASE("sliced W2 and MMD match closed forms", "[flows]") {
  Generator gen(9);
  const Tensor a = randn({500, 2}, {}, &gen);
  REQUIRE(sliced_wasserstein2(a, a, 50, &gen) == 0.0);
  // A shift c moves every projection by c.w, so SW2^2 = mean_k (c.w_k)^2 -> |c|^2 / 2 in 2-D
  // (the mean of cos^2 over 4000 directions has relative sd 1.3%).
  const Tensor shifted = add(a, from_vector(std::vector<float>{0.6f, 0.8f}, {1, 2}));
  REQUIRE(sliced_wasserstein2(a, shifted, 4000, &gen) == Approx(std::sqrt(0.5)).epsilon(0.03));
  // The biased MMD^2 of {(0,0), (1,0)} against {(0,1), (1,1)} with one unit bandwidth, k(d2) = exp(-d2 / 2):
  // mean K_pp = mean K_qq = (1 + k(1)) / 2 (diagonals included), mean K_pq = (k(1) + k(2)) / 2, so
  // MMD^2 = 1 + k(1) - k(1) - k(2) = 1 - exp(-1).
  const Tensor p = from_vector(std::vector<double>{0, 0, 1, 0}, {2, 2});
  const Tensor q = from_vector(std::vector<double>{0, 1, 1, 1}, {2, 2});
  REQUIRE(mmd_squared(p, q, {1.0}) == Approx(1 - std::exp(-1.0)).margin(1e-14));
  // Two bandwidths add their kernels: k(d2) = exp(-d2 / 8) for s = 2.
  REQUIRE(mmd_squared(p, q, {1.0, 2.0}) == Approx(2 - std::exp(-1.0) - std::exp(-2.0 / 8)).margin(1e-14));
  // A set against itself: exactly 0. Same distribution: near 0 (the V-statistic's bias is about
  // 5 bandwidths x 2 / 500 = 0.02 at most); shifted by c, |c| = 1: near the population value
  // sum_s 2 (s^2 / (s^2 + 2))^(D/2) (1 - exp(-|c|^2 / (2 (s^2 + 2)))) of N(0, I) against N(c, I), D = 2,
  // ~0.115 (plus the estimator's bias and its noise at n = 500).
  REQUIRE(mmd_squared(a, a) == Approx(0.0).margin(1e-12));
  const Tensor b = randn({500, 2}, {}, &gen);
  const double same = mmd_squared(a, b);
  REQUIRE(same >= 0.0);
  REQUIRE(same < 0.03);
  double population = 0;
  for (double s : kSampleMmdBandwidths) population += 2 * (s * s / (s * s + 2)) * (1 - std::exp(-1.0 / (2 * (s * s + 2))));
  REQUIRE(mmd_squared(a, shifted) == Approx(population).margin(0.04));
  require_error([&] { sliced_wasserstein2(a, randn({400, 2}, {}, &gen), 10, &gen); }, {"sliced_wasserstein2", "[500, 2]", "[400, 2]"});
}
