// Intrinsic dimension (analysis/intrinsic_dimension.h) and the exact k-NN search under it
// (analysis/nearest_neighbors.h): k-NN against brute force with ties and duplicates, the MLE and
// TwoNN by hand on four points, and every estimator on synthetic manifolds of known dimension
// (d-spheres, flat d-tori, d-cubes in a random d-dimensional subspace of R^D, with and without noise).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "analysis/intrinsic_dimension.h"
#include "analysis/nearest_neighbors.h"
#include "cli/command_line.h"
#include "test_helpers.h"
#include "training/intrinsic_dimension_report.h"

using namespace strata;
using namespace strata::test;
using namespace strata::analysis;

namespace {

std::vector<double> normals(int64_t n, uint64_t seed) {
  Generator gen(seed);
  const Tensor t = contiguous(randn({n}, {DType::Float64}, &gen));
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + n);
}

// The n x m points `p` (row-major) through a random isometry R^m -> R^D (orthonormal columns by
// Gram-Schmidt), plus N(0, noise^2) in every one of the D coordinates: float64 [n, D].
Tensor embed(const std::vector<double>& p, int64_t n, int64_t m, int64_t dims, double noise, uint64_t seed) {
  std::vector<double> q = normals(dims * m, seed);  // columns c: q[r * m + c]
  for (int64_t c = 0; c < m; ++c) {
    for (int64_t prev = 0; prev < c; ++prev) {
      double dot = 0;
      for (int64_t r = 0; r < dims; ++r) dot += q[r * m + c] * q[r * m + prev];
      for (int64_t r = 0; r < dims; ++r) q[r * m + c] -= dot * q[r * m + prev];
    }
    double norm = 0;
    for (int64_t r = 0; r < dims; ++r) norm += q[r * m + c] * q[r * m + c];
    for (int64_t r = 0; r < dims; ++r) q[r * m + c] /= std::sqrt(norm);
  }
  const std::vector<double> eps = normals(n * dims, seed + 1);
  std::vector<double> out(static_cast<size_t>(n * dims));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < dims; ++r) {
      double s = noise * eps[i * dims + r];
      for (int64_t c = 0; c < m; ++c) s += q[r * m + c] * p[i * m + c];
      out[i * dims + r] = s;
    }
  return tensor64(out, {n, dims});
}

// Uniform on the unit d-sphere S^d in R^{d+1}.
Tensor sphere(int64_t d, int64_t n, int64_t dims, double noise, uint64_t seed) {
  std::vector<double> p = normals(n * (d + 1), seed + 100);
  for (int64_t i = 0; i < n; ++i) {
    double norm = 0;
    for (int64_t c = 0; c <= d; ++c) norm += p[i * (d + 1) + c] * p[i * (d + 1) + c];
    for (int64_t c = 0; c <= d; ++c) p[i * (d + 1) + c] /= std::sqrt(norm);
  }
  return embed(p, n, d + 1, dims, noise, seed);
}

// The flat d-torus: d angles, each circle of radius 1 in its own plane of R^{2d}.
Tensor torus(int64_t d, int64_t n, int64_t dims, double noise, uint64_t seed) {
  Generator gen(seed + 200);
  const Tensor u = contiguous(rand({n * d}, {DType::Float64}, &gen));
  std::vector<double> p(static_cast<size_t>(n * 2 * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c) {
      const double theta = 2 * std::numbers::pi * u.data_ptr<double>()[i * d + c];
      p[i * 2 * d + 2 * c] = std::cos(theta);
      p[i * 2 * d + 2 * c + 1] = std::sin(theta);
    }
  return embed(p, n, 2 * d, dims, noise, seed);
}

// Uniform on the cube [0, 1]^d in a random d-dimensional linear subspace of R^D.
Tensor cube(int64_t d, int64_t n, int64_t dims, double noise, uint64_t seed) {
  Generator gen(seed + 300);
  const Tensor u = contiguous(rand({n * d}, {DType::Float64}, &gen));
  return embed(std::vector<double>(u.data_ptr<double>(), u.data_ptr<double>() + n * d), n, d, dims, noise,
               seed);
}

}  // namespace

TEST_CASE("nearest_neighbors matches brute force, ties by index and duplicates at 0", "[intrinsic-dim]") {
  // Small integer coordinates: many equal distances, two duplicated points, and every squared
  // distance exact in float64 (so the blocked expansion and brute force agree exactly).
  Generator gen(5);
  Tensor x = contiguous(uniform({60, 3}, 0, 4, {DType::Float64}, &gen));
  double* p = x.data_ptr<double>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = std::floor(p[i]);
  for (int64_t c = 0; c < 3; ++c)
    p[10 * 3 + c] = p[3 * 3 + c], p[40 * 3 + c] = p[3 * 3 + c], p[20 * 3 + c] = p[7 * 3 + c];
  const int64_t n = 60, k = 7;
  for (const int64_t block : {int64_t{1} << 24, int64_t{7}, int64_t{130}}) {
    const Neighbors nb = nearest_neighbors(to_dtype(x, DType::Float32), k, {.block_values = block});
    REQUIRE(nb.points == n);
    REQUIRE(nb.k == k);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<std::pair<double, int64_t>> all;
      for (int64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        double s = 0;
        for (int64_t c = 0; c < 3; ++c) s += (p[i * 3 + c] - p[j * 3 + c]) * (p[i * 3 + c] - p[j * 3 + c]);
        all.emplace_back(s, j);
      }
      std::sort(all.begin(), all.end());
      for (int64_t j = 0; j < k; ++j) {
        REQUIRE(nb.indices_of(i)[j] == all[j].second);
        REQUIRE(nb.squared_distances_of(i)[j] == all[j].first);
      }
    }
  }
  const Neighbors nb = nearest_neighbors(x, 2);
  REQUIRE(nb.squared_distances_of(3)[0] == 0.0);  // copies of row 3 (10 and 40, and any the grid made)
  REQUIRE(nb.squared_distances_of(3)[1] == 0.0);
  REQUIRE(nb.indices_of(3)[0] < nb.indices_of(3)[1]);  // equal distances: the lower index first
  REQUIRE(nb.squared_distances_of(20)[0] == 0.0);

  // Large offsets make ||a||^2 + ||b||^2 - 2 a.b cancel; the kept distances are recomputed directly.
  const Tensor far = add(x, 1e6);
  const Neighbors nf = nearest_neighbors(far, 3);
  REQUIRE(nf.squared_distances_of(3)[0] == 0.0);
  for (double v : nf.squared_distances) REQUIRE(v == std::round(v));
}

TEST_CASE("nearest_neighbors and the estimators refuse bad input, naming the op and values",
          "[intrinsic-dim]") {
  const Tensor x = tensor64({0, 1, 3, 7}, {4, 1});
  require_error([&] { nearest_neighbors(x, 4); },
                {"nearest_neighbors", "k = 4", "at least k + 1 = 5 points", "[4, 1]"});
  require_error([&] { nearest_neighbors(x, 0); }, {"nearest_neighbors", "k must be at least 1, got 0"});
  require_error(
      [&] {
        nearest_neighbors(tensor64({0, NAN}, {2, 1}), 1);
      },
      {"nearest_neighbors", "non-finite", "row 1"});
  require_error([&] { nearest_neighbors(tensor64({0, 1}, {2}), 1); }, {"nearest_neighbors", "[N, F]", "[2]"});
  const Neighbors nb = nearest_neighbors(x, 2);
  require_error([&] { mle_dimension(nb, 1); }, {"mle_dimension", "k must be at least 2, got 1"});
  require_error([&] { mle_dimension(nb, 3); }, {"mle_dimension", "k = 3", "kept 2"});
  require_error([&] { local_pca_dimensions(x, nb, {5}); }, {"local_pca_dimensions", "k = 5"});
  require_error([&] { local_pca_dimensions(x, nb, {2}, 1.5); },
                {"local_pca_dimensions", "variance_fraction", "1.5"});
  require_error([&] { twonn_dimension(nearest_neighbors(x, 1)); }, {"twonn_dimension", "k = 2"});
  require_error(
      [&] {
        mle_dimension(nearest_neighbors(tensor64({0, 0, 0, 1, 1, 1}, {6, 1}), 2), 2);
      },
      {"mle_dimension", "every one of the 6 points has a duplicate"});
}

TEST_CASE("MLE and TwoNN by hand on four points of a line", "[intrinsic-dim]") {
  // x = 0, 1, 3, 7. k = 2: T_2 / T_1 = 3/1, 2/1, 3/2, 6/4, so with the k - 1 normaliser
  // m(x) = log 3, log 2, log 1.5, log 1.5 and d = 4 / (3 log 3 - log 2). TwoNN's mu are the same ratios.
  const Tensor x = tensor64({0, 1, 3, 7}, {4, 1});
  const Neighbors nb = nearest_neighbors(x, 3);
  const double expected = 4.0 / (3 * std::log(3.0) - std::log(2.0));
  const DimensionEstimate mle = mle_dimension(nb, 2);
  REQUIRE(mle.estimate == Approx(expected).epsilon(1e-12));
  REQUIRE(mle.points == 4);
  REQUIRE(mle.skipped == 0);
  REQUIRE(twonn_dimension(nb).estimate == Approx(expected).epsilon(1e-12));
  // k = 3 at x = 0: T = 1, 3, 7 and m = (log 7 + log 7/3) / 2; at 1: 1, 2, 6; at 3: 2, 3, 4; at 7: 4, 6, 7.
  const double m3 = (std::log(7.0) + std::log(7.0 / 3)) / 2 + (std::log(6.0) + std::log(3.0)) / 2 +
                    (std::log(2.0) + std::log(4.0 / 3)) / 2 + (std::log(7.0 / 4) + std::log(7.0 / 6)) / 2;
  REQUIRE(mle_dimension(nb, 3).estimate == Approx(4.0 / m3).epsilon(1e-12));
  // Pope et al.'s normaliser k - 2 doubles every inverse at k = 3, halving the estimate.
  REQUIRE(mle_dimension(nb, 3, MleNormaliser::KMinus2).estimate == Approx(2.0 / m3).epsilon(1e-12));
  require_error([&] { mle_dimension(nb, 2, MleNormaliser::KMinus2); },
                {"normaliser k - 2", "at least 3, got 2"});
  std::vector<char> skipped;
  const std::vector<double> m = mle_inverse_local_estimates(nb, 2, &skipped);
  REQUIRE(m[1] == Approx(std::log(2.0)));
  // Local PCA of 1-D data: one direction explains everything.
  REQUIRE(local_pca_dimensions(x, nb, {2, 3})[1].estimate == 1.0);
}

TEST_CASE("duplicated points are skipped by MLE and TwoNN, not turned into infinities", "[intrinsic-dim]") {
  Tensor x = contiguous(cube(2, 400, 5, 0.0, 11));
  double* p = x.data_ptr<double>();
  for (int64_t i = 0; i < 20; ++i)  // rows 0..19 copied onto rows 20..39
    for (int64_t c = 0; c < 5; ++c) p[(20 + i) * 5 + c] = p[i * 5 + c];
  const Neighbors nb = nearest_neighbors(x, 10);
  const DimensionEstimate mle = mle_dimension(nb, 10);
  REQUIRE(mle.skipped == 40);
  REQUIRE(mle.points == 360);
  REQUIRE(std::isfinite(mle.estimate));
  REQUIRE(mle.estimate == Approx(2).margin(0.35));
  const DimensionEstimate two = twonn_dimension(nb);
  REQUIRE(two.skipped == 40);
  REQUIRE(two.estimate == Approx(2).margin(0.35));
}

TEST_CASE("intrinsic dimension of spheres, tori and linear subspaces of known dimension", "[intrinsic-dim]") {
  struct Case {
    const char* name;
    Tensor x;
    double d;
    double mle_tol, twonn_tol, lpca_tol;
  };
  const int64_t n = 2000;
  // Tolerances from seeded runs (measured value in the comment's order MLE k=10/20, TwoNN, fit, local
  // PCA k=20). The MLE and local PCA read low on cubes (the boundary: a point near a face has
  // fewer neighbours on one side), more so at d = 6 with only 2,000 points; TwoNN, working at the
  // nearest-neighbour scale, is the one the noise (0.003 in every one of the D coordinates) lifts.
  const std::vector<Case> cases = {
      {"2-sphere in R^10", sphere(2, n, 10, 0.0, 1), 2, 0.1, 0.15, 0.1},  // 2.01/2.00, 1.98, 1.99, 2
      {"4-sphere in R^12", sphere(4, n, 12, 0.0, 2), 4, 0.25, 0.3, 0.2},  // 3.99/3.96, 3.97, 4.01, 4.00
      {"2-torus in R^10", torus(2, n, 10, 0.0, 3), 2, 0.1, 0.15, 0.1},    // 1.99/2.01, 2.01, 2.00, 2
      {"3-torus in R^12", torus(3, n, 12, 0.0, 4), 3, 0.15, 0.2, 0.2},    // 3.03/3.06, 2.95, 2.98, 3.07
      {"3-cube in R^20", cube(3, n, 20, 0.0, 5), 3, 0.25, 0.2, 0.2},      // 2.87/2.84, 2.94, 2.87, 3.00
      {"6-cube in R^20", cube(6, n, 20, 0.0, 6), 6, 0.9, 0.4, 0.75},      // 5.38/5.25, 5.78, 5.78, 5.44
      {"2-sphere in R^10, noise 0.003", sphere(2, n, 10, 0.003, 7), 2, 0.15, 0.45,
       0.1},  // 2.06/2.03, 2.33, 2.24, 2
      {"3-cube in R^20, noise 0.003", cube(3, n, 20, 0.003, 8), 3, 0.25, 0.75,
       0.2},  // 3.01/2.93, 3.62, 3.55, 3
  };
  for (const Case& c : cases) {
    const Neighbors nb = nearest_neighbors(c.x, 20);
    const double mle10 = mle_dimension(nb, 10).estimate, mle20 = mle_dimension(nb, 20).estimate;
    const double twonn = twonn_dimension(nb).estimate, twonn_fit = twonn_fit_dimension(nb).estimate;
    const double lpca = local_pca_dimensions(c.x, nb, {20})[0].estimate;
    INFO(c.name << ": MLE k=10 " << mle10 << ", k=20 " << mle20 << "; TwoNN " << twonn << ", fit "
                << twonn_fit << "; local PCA k=20 " << lpca);
    CHECK(mle10 == Approx(c.d).margin(c.mle_tol));
    CHECK(mle20 == Approx(c.d).margin(c.mle_tol));
    CHECK(twonn == Approx(c.d).margin(c.twonn_tol));
    CHECK(twonn_fit == Approx(c.d).margin(c.twonn_tol));
    CHECK(lpca == Approx(c.d).margin(c.lpca_tol));
  }
}

TEST_CASE("strata analyze intrinsic-dim parses its flags and refuses bad ones", "[intrinsic-dim]") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "strata");
    cli::CommandLine command_line;
    return command_line.parse(static_cast<int>(args.size()), args.data());
  };
  const cli::Command c = parse({"analyze", "intrinsic-dim", "--k", "3,20", "--method", "mle,lpca", "--run",
                                "runs/x", "--out", "docs/x", "--threads", "1", "--no-per-class"});
  REQUIRE(c.action == cli::Action::AnalyzeIntrinsicDim);
  REQUIRE(c.intrinsic_dim.ks == std::vector<int64_t>{3, 20});
  REQUIRE(c.intrinsic_dim.methods == std::vector<std::string>{"mle", "lpca"});
  REQUIRE(c.intrinsic_dim.run == "runs/x");
  REQUIRE(c.intrinsic_dim.out == "docs/x");
  REQUIRE(c.intrinsic_dim.threads == 1);
  REQUIRE_FALSE(c.intrinsic_dim.per_class);
  REQUIRE(parse({"analyze", "intrinsic-dim"}).intrinsic_dim.ks == std::vector<int64_t>{3, 5, 10, 20});
  require_error([&] { parse({"analyze", "intrinsic-dim", "--k", "1,5"}); }, {"--k", "at least 2, got 1"});
  require_error([&] { parse({"analyze", "intrinsic-dim", "--k", "2.5"}); }, {"--k", "2.5"});
  require_error(
      [&] {
        parse({"analyze", "intrinsic-dim", "--method", "pca"});
      },
      {"--method", "unknown method \"pca\"", "mle, twonn, lpca"});
  // k >= N is refused by the report with the set's size.
  require_error(
      [&] {
        training::intrinsic_dimension_report({.data = "fashion-mnist",
                                              .ks = {80},
                                              .run = "",
                                              .out = "/nonexistent/x",
                                              .per_class = false,
                                              .limit = 50});
      },
      {"k = 80", "50"});
}
