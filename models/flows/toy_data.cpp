#include "models/flows/toy_data.h"

#include <cmath>
#include <numbers>

#include "engine/creation.h"

namespace strata::models {

namespace {

constexpr double kPi = std::numbers::pi;

// Independent draws from one generator, in a fixed order of calls (each a tensor of n values).
struct Draws {
  int64_t n;
  Generator* gen;
  std::vector<double> uniform() const { return rand({n}, {DType::Float64}, gen).to_vector<double>(); }
  std::vector<double> normal() const { return randn({n}, {DType::Float64}, gen).to_vector<double>(); }
  // Integers 0..k-1, uniformly.
  std::vector<int64_t> choice(int64_t k) const { return randint(0, k, {n}, {DType::Int64}, gen).to_vector<int64_t>(); }
};

Tensor points(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<float> xy(2 * x.size());
  for (size_t i = 0; i < x.size(); ++i) xy[2 * i] = static_cast<float>(x[i]), xy[2 * i + 1] = static_cast<float>(y[i]);
  return from_vector(xy, {static_cast<int64_t>(x.size()), 2});
}

Tensor eight_gaussians(const Draws& d) {
  const auto k = d.choice(8);
  const auto nx = d.normal(), ny = d.normal();
  std::vector<double> x(d.n), y(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    const double a = kPi / 4 * static_cast<double>(k[i]);
    x[i] = (4 * std::cos(a) + 0.5 * nx[i]) / 1.414;
    y[i] = (4 * std::sin(a) + 0.5 * ny[i]) / 1.414;
  }
  return points(x, y);
}

Tensor moons(const Draws& d) {
  const auto lower = d.choice(2);
  const auto a = d.uniform(), nx = d.normal(), ny = d.normal();
  std::vector<double> x(d.n), y(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    const double angle = kPi * a[i];
    const double mx = lower[i] ? 1 - std::cos(angle) : std::cos(angle);
    const double my = lower[i] ? 0.5 - std::sin(angle) : std::sin(angle);
    x[i] = 2 * (mx + 0.1 * nx[i]) - 1;
    y[i] = 2 * (my + 0.1 * ny[i]) - 0.2;
  }
  return points(x, y);
}

Tensor checkerboard(const Draws& d) {
  const auto u1 = d.uniform(), u2 = d.uniform();
  const auto b = d.choice(2);
  std::vector<double> x(d.n), y(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    const double x1 = 4 * u1[i] - 2;
    const double parity = std::fmod(std::floor(x1), 2.0);  // as NumPy's %: floor(x1) in {-2..1}
    const double x2 = u2[i] - 2.0 * static_cast<double>(b[i]) + (parity < 0 ? parity + 2 : parity);
    x[i] = 2 * x1;
    y[i] = 2 * x2;
  }
  return points(x, y);
}

Tensor spirals(const Draws& d) {
  const auto u = d.uniform(), ux = d.uniform(), uy = d.uniform();
  const auto mirrored = d.choice(2);
  const auto nx = d.normal(), ny = d.normal();
  std::vector<double> x(d.n), y(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    const double r = std::sqrt(u[i]) * 540 * (2 * kPi) / 360;
    double px = -std::cos(r) * r + 0.5 * ux[i], py = std::sin(r) * r + 0.5 * uy[i];
    if (mirrored[i]) px = -px, py = -py;
    x[i] = px / 3 + 0.1 * nx[i];
    y[i] = py / 3 + 0.1 * ny[i];
  }
  return points(x, y);
}

Tensor pinwheel(const Draws& d) {
  constexpr double radial_std = 0.3, tangential_std = 0.1, rate = 0.25;
  constexpr int64_t arms = 5;
  const auto n1 = d.normal(), n2 = d.normal();
  const auto arm = d.choice(arms);
  std::vector<double> x(d.n), y(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    const double f0 = 1 + radial_std * n1[i], f1 = tangential_std * n2[i];
    const double angle = 2 * kPi * static_cast<double>(arm[i]) / arms + rate * std::exp(f0);
    // FFJORD: rotations [[cos, -sin], [sin, cos]], point = 2 * f @ R.
    x[i] = 2 * (f0 * std::cos(angle) + f1 * std::sin(angle));
    y[i] = 2 * (-f0 * std::sin(angle) + f1 * std::cos(angle));
  }
  return points(x, y);
}

Tensor rings(const Draws& d) {
  const auto ring = d.choice(4);
  const auto a = d.uniform(), nx = d.normal(), ny = d.normal();
  std::vector<double> x(d.n), y(d.n);
  for (int64_t i = 0; i < d.n; ++i) {
    const double r = 3 * 0.25 * static_cast<double>(ring[i] + 1), angle = 2 * kPi * a[i];
    x[i] = r * std::cos(angle) + 0.08 * nx[i];
    y[i] = r * std::sin(angle) + 0.08 * ny[i];
  }
  return points(x, y);
}

}  // namespace

std::vector<std::string> toy_distribution_names() {
  return {"8gaussians", "moons", "checkerboard", "spirals", "pinwheel", "rings"};
}

Tensor sample_toy_distribution(const std::string& name, int64_t n, Generator* gen) {
  STRATA_CHECK(n >= 1, "toy data ", name, ": n must be at least 1, got ", n);
  const Draws d{n, gen};
  if (name == "8gaussians") return eight_gaussians(d);
  if (name == "moons") return moons(d);
  if (name == "checkerboard") return checkerboard(d);
  if (name == "spirals") return spirals(d);
  if (name == "pinwheel") return pinwheel(d);
  if (name == "rings") return rings(d);
  throw Error("unknown toy distribution \"" + name +
              "\" (valid: 8gaussians, moons, checkerboard, spirals, pinwheel, rings)");
}

}  // namespace strata::models
