// Latent geometry (analysis/latent_geometry.h, linear_algebra.h's spd_log / spd_inverse_sqrt), the
// spatial-latent autoencoders (models/autoencoders/spatial_autoencoder.h), the PNG panels and
// `strata analyze latent-geometry` end to end at toy size. Every estimator against a value worked
// out by hand or in closed form.
#include <cmath>
#include <filesystem>
#include <numbers>
#include <sstream>

#include "analysis/latent_geometry.h"
#include "analysis/linear_algebra.h"
#include "cli/command_line.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/spatial_autoencoder.h"
#include "test_helpers.h"
#include "training/latent_geometry_figures.h"
#include "training/latent_geometry_report.h"

using namespace strata;
using namespace strata::test;
using namespace strata::analysis;

namespace {

Matrix diagonal(const std::vector<double>& d) {
  const int64_t n = static_cast<int64_t>(d.size());
  Matrix m{n, n, std::vector<double>(static_cast<size_t>(n * n), 0.0)};
  for (int64_t i = 0; i < n; ++i) m.values[static_cast<size_t>(i * n + i)] = d[static_cast<size_t>(i)];
  return m;
}

Matrix product(const Matrix& a, const Matrix& b) {
  Matrix c{a.rows, b.cols, std::vector<double>(static_cast<size_t>(a.rows * b.cols), 0.0)};
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < b.cols; ++j)
      for (int64_t k = 0; k < a.cols; ++k) c.values[static_cast<size_t>(i * b.cols + j)] += a.at(i, k) * b.at(k, j);
  return c;
}

Matrix transposed(const Matrix& a) {
  Matrix t{a.cols, a.rows, std::vector<double>(a.values.size())};
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j) t.values[static_cast<size_t>(j * a.rows + i)] = a.at(i, j);
  return t;
}

// The rotation by theta in the (0, 1) plane of R^3.
Matrix rotation(double theta) {
  return {3, 3, {std::cos(theta), -std::sin(theta), 0, std::sin(theta), std::cos(theta), 0, 0, 0, 1}};
}

}  // namespace

TEST_CASE("mode unfoldings and Gram matrices of a hand-made 2 x 3 x 2 tensor", "[latent-geometry]") {
  // z[a][b][c] = 100 a + 10 b + c, stored row-major.
  std::vector<double> z;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 2; ++c) z.push_back(100 * a + 10 * b + c);
  const std::array<int64_t, 3> shape{2, 3, 2};
  const Matrix m1 = mode_unfolding(z, shape, 1), m2 = mode_unfolding(z, shape, 2), m3 = mode_unfolding(z, shape, 3);
  // Kolda & Bader: Z_(1) columns i2 + I2 i3; Z_(2) columns i1 + I1 i3; Z_(3) columns i1 + I1 i2.
  REQUIRE(m1.rows == 2);
  REQUIRE(m1.cols == 6);
  REQUIRE(m1.values == std::vector<double>{0, 10, 20, 1, 11, 21, 100, 110, 120, 101, 111, 121});
  REQUIRE(m2.rows == 3);
  REQUIRE(m2.cols == 4);
  REQUIRE(m2.values == std::vector<double>{0, 100, 1, 101, 10, 110, 11, 111, 20, 120, 21, 121});
  REQUIRE(m3.rows == 2);
  REQUIRE(m3.cols == 6);
  REQUIRE(m3.values == std::vector<double>{0, 100, 10, 110, 20, 120, 1, 101, 11, 111, 21, 121});
  const std::array<Matrix, 3> s = mode_grams(z, shape);
  // S_1[0][0] = 0 + 100 + 400 + 1 + 121 + 441; S_1[0][1] = sum_j row0_j row1_j.
  REQUIRE(s[0].values[0] == 1063);
  REQUIRE(s[0].values[1] == 0 * 100 + 10 * 110 + 20 * 120 + 1 * 101 + 11 * 111 + 21 * 121);
  REQUIRE(s[0].values[2] == s[0].values[1]);
  REQUIRE(s[1].rows == 3);
  REQUIRE(s[1].values[0] == 0 + 10000 + 1 + 10201);
  REQUIRE(s[2].values[3] == 1 + 101 * 101 + 121 + 111 * 111 + 441 + 121 * 121);
  require_error([&] { mode_unfolding(z, {2, 3, 3}, 1); }, {"mode_unfolding", "2 x 3 x 3", "18", "got 12"});
  require_error([&] { mode_unfolding(z, shape, 4); }, {"mode_unfolding", "mode must be 1, 2 or 3, got 4"});
}

TEST_CASE("numerical rank of matrices of known rank", "[latent-geometry]") {
  REQUIRE(numerical_rank({3, 2, 1e-3}, 1e-5) == 3);
  REQUIRE(numerical_rank({3, 2, 1e-3}, 1e-2) == 2);
  REQUIRE(numerical_rank({0, 0}, 1e-5) == 0);
  // A 6 x 9 matrix of rank 2: the sum of two random outer products.
  Generator gen(3);
  const std::vector<double> g = randn({6 + 9 + 6 + 9}, {DType::Float64}, &gen).to_vector<double>();
  Matrix a{6, 9, std::vector<double>(54, 0.0)};
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 9; ++j)
      a.values[static_cast<size_t>(i * 9 + j)] = g[i] * g[6 + j] + g[15 + i] * g[21 + j];
  REQUIRE(numerical_rank(singular_values(a.values, 6, 9), 1e-8) == 2);
  // Its Gram matrix through psd_factor: rank 2 (counted on sqrt of the eigenvalues), a 6 x 2 orthonormal basis, no log.
  const PsdFactor f = psd_factor(gram(a), 1e-5);
  REQUIRE(f.rank == 2);
  REQUIRE_FALSE(f.full_rank());
  REQUIRE(f.basis.size() == 12);
  REQUIRE(f.log.empty());
  // diag(4, 1, 0): rank 2, basis e1 then e2 (descending eigenvalues, up to sign), and at a loose
  // tolerance of 0.6 on singular values (2, 1, 0) only the first counts.
  const PsdFactor d = psd_factor(diagonal({1, 4, 0}), 1e-5);
  REQUIRE(d.rank == 2);
  REQUIRE(std::abs(d.basis[1 * 2 + 0]) == Approx(1));  // column 0 is e2 (eigenvalue 4)
  REQUIRE(std::abs(d.basis[0 * 2 + 1]) == Approx(1));  // column 1 is e1 (eigenvalue 1)
  REQUIRE(psd_factor(diagonal({1, 4, 0}), 0.6).rank == 1);
  require_error([] { numerical_rank({1, 0.5}, 0); }, {"numerical_rank", "(0, 1)", "got 0"});
}

TEST_CASE("log-Euclidean and affine-invariant distances against closed forms", "[latent-geometry]") {
  const Matrix a = diagonal({1, 2, 4}), b = diagonal({2, 2, 1});
  // Diagonal (commuting) matrices: both distances are sqrt(sum (log a_i - log b_i)^2).
  const double expected = std::sqrt(std::pow(std::log(0.5), 2) + 0 + std::pow(std::log(4.0), 2));
  REQUIRE(log_euclidean_distance(a, b) == Approx(expected).epsilon(1e-12));
  REQUIRE(affine_invariant_distance(a, b) == Approx(expected).epsilon(1e-12));
  REQUIRE(log_euclidean_distance(psd_factor(a, 1e-5), psd_factor(b, 1e-5)) == Approx(expected).epsilon(1e-12));
  // Both are invariant under a rotation Q: Q A Q^T against Q B Q^T.
  const Matrix q = rotation(0.7);
  const Matrix qa = product(product(q, a), transposed(q)), qb = product(product(q, b), transposed(q));
  REQUIRE(log_euclidean_distance(qa, qb) == Approx(expected).epsilon(1e-10));
  // The affine-invariant one also under any invertible M (the log-Euclidean one is not).
  const Matrix m{3, 3, {2, 1, 0, 0, 1, 3, 1, 0, 1}};
  const Matrix ma = product(product(m, qa), transposed(m)), mb = product(product(m, b), transposed(m));
  REQUIRE(affine_invariant_distance(ma, mb) == Approx(affine_invariant_distance(qa, b)).epsilon(1e-9));
  REQUIRE(affine_invariant_distance(a, a) == Approx(0).margin(1e-12));
  // spd_log of diag(e, e^2) is diag(1, 2).
  const std::vector<double> l = spd_log({std::exp(1.0), 0, 0, std::exp(2.0)}, 2);
  REQUIRE(l[0] == Approx(1));
  REQUIRE(l[1] == Approx(0).margin(1e-14));
  REQUIRE(l[3] == Approx(2));
  const std::vector<double> w = spd_inverse_sqrt({4, 0, 0, 9}, 2);
  REQUIRE(w[0] == Approx(0.5));
  REQUIRE(w[3] == Approx(1.0 / 3));
  require_error([&] { log_euclidean_distance(diagonal({1, 0}), diagonal({1, 1})); },
                {"spd_log", "not positive definite", "eigenvalue 0"});
  require_error([&] { log_euclidean_distance(psd_factor(diagonal({1, 0}), 1e-5), psd_factor(diagonal({1, 1}), 1e-5)); },
                {"log_euclidean_distance", "full-rank", "ranks 1 and 2"});
  require_error([&] { affine_invariant_distance(a, diagonal({1, 1})); }, {"affine_invariant_distance", "3 x 3", "2 x 2"});
}

TEST_CASE("principal angles and Grassmann distances between known subspaces", "[latent-geometry]") {
  const double theta = 0.4;
  // span(e1, e2) and span(e1, cos t e2 + sin t e3) in R^3: angles 0 and t.
  const std::vector<double> u{1, 0, 0, 1, 0, 0};  // 3 x 2
  const std::vector<double> v{1, 0, 0, std::cos(theta), 0, std::sin(theta)};
  const std::vector<double> angles = principal_angles(u, 3, 2, v, 2);
  REQUIRE(angles.size() == 2);
  REQUIRE(angles[0] == Approx(0).margin(1e-7));
  REQUIRE(angles[1] == Approx(theta).epsilon(1e-12));
  REQUIRE(grassmann_distance(angles, 2, 2) == Approx(theta).epsilon(1e-7));
  // span(e1) against span(e1, e2): one angle 0, and one right angle for the extra dimension.
  const std::vector<double> one = principal_angles({1, 0, 0}, 3, 1, u, 2);
  REQUIRE(one.size() == 1);
  REQUIRE(one[0] == Approx(0).margin(1e-7));
  REQUIRE(grassmann_distance(one, 1, 2) == Approx(std::numbers::pi / 2));
  // Through PSD factors: diag(1, 1, 0) against a rotation of it by theta about e1 (e2 towards e3).
  const Matrix r{3, 3, {1, 0, 0, 0, std::cos(theta), -std::sin(theta), 0, std::sin(theta), std::cos(theta)}};
  const Matrix s = diagonal({1, 1, 0}), rs = product(product(r, s), transposed(r));
  REQUIRE(grassmann_distance(psd_factor(s, 1e-5), psd_factor(rs, 1e-5)) == Approx(theta).epsilon(1e-7));
  REQUIRE(grassmann_distance(psd_factor(diagonal({0, 0, 0}), 1e-5), psd_factor(s, 1e-5)) ==
          Approx(std::sqrt(2.0) * std::numbers::pi / 2));
  REQUIRE(grassmann_distance(psd_factor(diagonal({0, 0}), 1e-5), psd_factor(diagonal({0, 0}), 1e-5)) == 0);
  // Two random rank-4 factors in R^6: the complement path (2 x 2 angles) gives the direct distance.
  Generator gen(5);
  auto random_gram = [&] {
    Matrix a{6, 4, randn({24}, {DType::Float64}, &gen).to_vector<double>()};
    return gram(a);
  };
  const PsdFactor f1 = psd_factor(random_gram(), 1e-5), f2 = psd_factor(random_gram(), 1e-5);
  REQUIRE(f1.rank == 4);
  REQUIRE(f1.complement.size() == 12);
  const double direct = grassmann_distance(principal_angles(f1.basis, 6, 4, f2.basis, 4), 4, 4);
  REQUIRE(direct > 0.1);
  REQUIRE(grassmann_distance(f1, f2) == Approx(direct).epsilon(1e-6));
  require_error([&] { principal_angles(u, 3, 2, v, 3); }, {"principal_angles", "3 x 3", "got 6 and 6"});
}

TEST_CASE("kernel PCA by hand: two points, and a linear kernel that is ordinary PCA", "[latent-geometry]") {
  // Two points with k(a, a) = k(b, b) = 1, k(a, b) = c: Kc = (1 - c)/2 [[1, -1], [-1, 1]],
  // eigenvalues 1 - c and 0; the direction is phi(a) - phi(b), alpha = (1, -1) / sqrt(2 (1 - c)).
  const double c = gaussian_kernel(1.0, 1.0);
  REQUIRE(c == Approx(std::exp(-0.5)));
  const KernelPca two = kernel_pca({1, c, c, 1}, 2, 1);
  REQUIRE(two.eigenvalues[0] == Approx(1 - c));
  REQUIRE(two.eigenvalues[1] == Approx(0).margin(1e-12));
  REQUIRE(std::abs(two.coefficients[0]) == Approx(1 / std::sqrt(2 * (1 - c))));
  REQUIRE(two.coefficients[1] == Approx(-two.coefficients[0]));
  REQUIRE(two.explained_fraction() == Approx(1));
  // The linear kernel k(x, y) = x.y on (+-2, 0), (0, +-1): PCA with variances 2 and 0.5 (lambda / n
  // = 8/4 and 2/4), first direction e1.
  const std::vector<std::array<double, 2>> p{{2, 0}, {-2, 0}, {0, 1}, {0, -1}};
  auto linear = [](const std::vector<std::array<double, 2>>& a, const std::vector<std::array<double, 2>>& b) {
    std::vector<double> k;
    for (const auto& x : a)
      for (const auto& y : b) k.push_back(x[0] * y[0] + x[1] * y[1]);
    return k;
  };
  const KernelPca pca = kernel_pca(linear(p, p), 4, 1);
  REQUIRE(pca.eigenvalues[0] == Approx(8));
  REQUIRE(pca.eigenvalues[1] == Approx(2));
  REQUIRE(pca.explained_fraction() == Approx(0.8));
  // The same points rotated by theta: the first principal directions are theta apart, the first
  // two span the same plane (angles 0, 0), and a set against itself is at distance 0.
  const double theta = 0.3;
  std::vector<std::array<double, 2>> rp;
  for (const auto& x : p)
    rp.push_back({std::cos(theta) * x[0] - std::sin(theta) * x[1], std::sin(theta) * x[0] + std::cos(theta) * x[1]});
  const KernelPca rpca = kernel_pca(linear(rp, rp), 4, 1);
  const std::vector<double> a1 = kernel_pca_principal_angles(pca, rpca, linear(p, rp));
  REQUIRE(a1.size() == 1);
  REQUIRE(a1[0] == Approx(theta).epsilon(1e-9));
  const std::vector<double> a2 =
      kernel_pca_principal_angles(kernel_pca(linear(p, p), 4, 2), kernel_pca(linear(rp, rp), 4, 2), linear(p, rp));
  REQUIRE(a2[0] == Approx(0).margin(1e-6));
  REQUIRE(a2[1] == Approx(0).margin(1e-6));
  REQUIRE(kernel_pca_principal_angles(pca, pca, linear(p, p))[0] == Approx(0).margin(1e-6));
  // Four points in the plane span two directions; a third component is refused.
  require_error([&] { kernel_pca(linear(p, p), 4, 3); }, {"kernel_pca", "component 3", "keep fewer"});
  require_error([&] { kernel_pca({1, 0, 0, 1}, 2, 2); }, {"kernel_pca", "components must be in 1..1"});
}

TEST_CASE("spatial autoencoders: C x 7 x 7 latents, and a few steps lower each loss", "[latent-geometry]") {
  // Eight 28 x 28 images of bright squares at different places: easy to reconstruct.
  std::vector<float> pixels(8 * 784, 0.f);
  for (int i = 0; i < 8; ++i)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) pixels[static_cast<size_t>(i * 784 + (4 + 2 * i + y) * 28 + 4 + x + 2 * i)] = 1.f;
  const Tensor images = from_vector(pixels, {8, 784});
  for (const char* name : {"cae", "dae", "vae"}) {
    INFO(name);
    Generator init(1), noise(2);
    models::SpatialAutoencoderOptions o;
    o.objective = models::parse_spatial_objective(name);
    o.latent_channels = 4;
    models::SpatialAutoencoder m(o, &init);
    const models::Encoding e = m.encode(images);
    REQUIRE(e.code.shape() == Shape{8, 4, 7, 7});
    REQUIRE(e.stochastic() == (std::string(name) == "vae"));
    if (e.stochastic()) REQUIRE(e.log_var.shape() == Shape{8, 4, 7, 7});
    if (!e.stochastic()) REQUIRE(min(e.code).to_vector<double>()[0] >= 0);  // the ReLU on the code
    REQUIRE(m.decode(e.code).shape() == Shape{8, 784});
    optim::Adam adam(m.parameters(), {.lr = 3e-3});
    double first = 0, last = 0;
    for (int step = 0; step < 12; ++step) {
      adam.zero_grad();
      const Tensor loss = models::term(m.loss(images, &noise), "loss");
      loss.backward();
      adam.step();
      (step == 0 ? first : last) = loss.to_vector<double>()[0];
    }
    INFO("first " << first << ", last " << last);
    REQUIRE(last < 0.8 * first);
  }
  models::SpatialAutoencoder cae({}, nullptr);
  require_error([&] { cae.encode(zeros({2, 100})); }, {"SPATIAL CAE::encode", "784", "[2, 100]"});
  require_error([&] { cae.decode(zeros({2, 16, 5, 5})); }, {"SPATIAL CAE::decode", "16, 7, 7", "[2, 16, 5, 5]"});
  require_error([] { models::parse_spatial_objective("gan"); }, {"unknown spatial autoencoder \"gan\"", "cae, dae, vae"});
}

TEST_CASE("latent-geometry panels are drawn in the series' colours", "[latent-geometry]") {
  training::Panel p{"t", "x", "y", {{"a", {0, 1, 2}, {1, 3, 2}, {0.5, 0.5, 0.5}, "#ff0000"}}, true};
  const Tensor img = training::render_panels({p, p}, 220, 180);
  REQUIRE(img.shape() == Shape{3, 180, 440});
  const std::vector<float> v = img.to_vector<float>();
  int64_t red = 0;
  for (int64_t i = 0; i < 180 * 440; ++i) red += v[i] == 1.f && v[180 * 440 + i] == 0.f && v[2 * 180 * 440 + i] == 0.f;
  REQUIRE(red > 50);
  training::Panel bad{"t", "x", "y", {{"a", {0, 1}, {1}, {}, "#ff0000"}}, false};
  require_error([&] { training::render_panels({bad}); }, {"series \"a\"", "2 x, 1 y"});
}

TEST_CASE("strata analyze latent-geometry: flags, and a toy run end to end", "[latent-geometry]") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "strata");
    cli::CommandLine command_line;
    return command_line.parse(static_cast<int>(args.size()), args.data());
  };
  const cli::Command c = parse({"analyze", "latent-geometry", "--models", "cae,vae", "--epochs", "3", "--limit-train",
                                "100", "--sigmas", "0,0.2", "--images", "20", "--no-code-relu", "--reuse"});
  REQUIRE(c.action == cli::Action::AnalyzeLatentGeometry);
  REQUIRE(c.latent_geometry.models == std::vector<std::string>{"cae", "vae"});
  REQUIRE(c.latent_geometry.epochs == 3);
  REQUIRE(c.latent_geometry.limit_train == 100);
  REQUIRE(c.latent_geometry.sigmas == std::vector<double>{0, 0.2});
  REQUIRE(c.latent_geometry.images == 20);
  REQUIRE_FALSE(c.latent_geometry.code_relu);
  REQUIRE(c.latent_geometry.reuse);
  REQUIRE(parse({"analyze", "latent-geometry"}).latent_geometry.sigmas.size() == 11);
  require_error([&] { parse({"analyze", "latent-geometry", "--models", "cae,gan"}); },
                {"--models", "unknown model \"gan\"", "cae, dae, vae"});

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "strata_latent_geometry_test";
  std::filesystem::remove_all(dir);
  std::ostringstream log;
  training::LatentGeometryOptions o;
  o.epochs = 1, o.limit_train = 64, o.batch_size = 32, o.latent_channels = 4, o.images = 8, o.sigmas = {0, 0.5};
  o.components = 2, o.runs = (dir / "runs").string(), o.out = (dir / "lg").string(), o.log = &log;
  const training::LatentGeometryReport r = training::latent_geometry_report(o);
  REQUIRE(r.models.size() == 3);
  REQUIRE(r.ranks.size() == 3 * 3 * 2);
  REQUIRE(r.subspaces.size() == 3 * 2);
  for (const auto& s : r.subspaces)
    if (s.sigma == 0) REQUIRE(s.grassmann == Approx(0).margin(1e-4));  // a level against itself
  for (const std::string& f : r.files) REQUIRE(std::filesystem::exists(f));
  REQUIRE(std::filesystem::exists(dir / "runs" / "vae.safetensors"));
  // --reuse loads the weights just written instead of training.
  o.reuse = true;
  REQUIRE(training::latent_geometry_report(o).models[2].reused);
  std::filesystem::remove_all(dir);
  o.sigmas = {0.1, 0.2};
  require_error([&] { training::latent_geometry_report(o); }, {"--sigmas must start at 0"});
}
