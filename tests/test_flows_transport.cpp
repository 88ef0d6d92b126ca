// Optimal-transport couplings for flow matching: the exact assignment against brute force, the
// Sinkhorn plan's marginals, and the minibatch couplings on cases with a known answer.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/flows/assignment.h"
#include "models/flows/coupling.h"
#include "models/flows/sinkhorn.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::models;
using namespace strata::test;

namespace {

std::vector<double> random_costs(int64_t n, int64_t m, uint64_t seed) {
  Generator gen(seed);
  return rand({n * m}, {DType::Float64}, &gen).to_vector<double>();
}

double brute_force_min_cost(const std::vector<double>& cost, int64_t n) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do best = std::min(best, assignment_cost(cost, n, p));
  while (std::next_permutation(p.begin(), p.end()));
  return best;
}

}  // namespace

TEST_CASE("linear_sum_assignment finds the brute-force optimum for every n <= 6", "[flows]") {
  for (int64_t n = 1; n <= 6; ++n)
    for (uint64_t seed = 0; seed < 20; ++seed) {
      std::vector<double> cost = random_costs(n, n, 100 * n + seed);
      if (seed % 4 == 1)  // integer costs with many ties
        for (double& c : cost) c = std::floor(c * 4);
      if (seed % 4 == 2)  // negative costs
        for (double& c : cost) c -= 0.7;
      const std::vector<int64_t> sigma = linear_sum_assignment(cost, n);
      INFO("n " << n << " seed " << seed);
      std::vector<int64_t> sorted = sigma;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < n; ++i) REQUIRE(sorted[i] == i);  // a permutation
      REQUIRE(assignment_cost(cost, n, sigma) == Approx(brute_force_min_cost(cost, n)).margin(1e-12));
    }
  REQUIRE(linear_sum_assignment({}, 0).empty());
  require_error([] { linear_sum_assignment({1, 2, 3}, 2); }, {"linear_sum_assignment", "2 x 2", "4 values", "got 3"});
  require_error([] { linear_sum_assignment({1, NAN, 3, 4}, 2); }, {"finite"});
}

TEST_CASE("linear_sum_assignment solves a larger problem with a planted optimum", "[flows]") {
  // Cost 0 on a hidden permutation, >= 1 elsewhere: the only optimum is that permutation.
  const int64_t n = 60;
  Generator gen(3);
  const std::vector<int64_t> hidden = randperm(n, &gen).to_vector<int64_t>();
  std::vector<double> cost = random_costs(n, n, 4);
  for (double& c : cost) c += 1;
  for (int64_t i = 0; i < n; ++i) cost[i * n + hidden[i]] = 0;
  REQUIRE(linear_sum_assignment(cost, n) == hidden);
}

TEST_CASE("the Sinkhorn plan has uniform marginals and approaches the assignment as epsilon shrinks", "[flows]") {
  const int64_t n = 7, m = 5;
  const std::vector<double> cost = random_costs(n, m, 11);
  const SinkhornResult r = sinkhorn_plan(cost, n, m, {.epsilon = 0.1});
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    double row = 0;
    for (int64_t j = 0; j < m; ++j) {
      row += r.plan[i * m + j];
      REQUIRE(r.plan[i * m + j] > 0);
    }
    REQUIRE(row == Approx(1.0 / n).margin(1e-8));
    total += row;
  }
  for (int64_t j = 0; j < m; ++j) {
    double column = 0;
    for (int64_t i = 0; i < n; ++i) column += r.plan[i * m + j];
    REQUIRE(column == Approx(1.0 / m).margin(1e-8));
  }
  REQUIRE(total == Approx(1.0).margin(1e-12));
  REQUIRE(r.marginal_error < 1e-8);
  // Square, small epsilon: nearly all mass on the optimal permutation.
  const std::vector<double> square = random_costs(6, 6, 12);
  const std::vector<int64_t> sigma = linear_sum_assignment(square, 6);
  const SinkhornResult sharp = sinkhorn_plan(square, 6, 6, {.epsilon = 0.005, .max_iterations = 20000});
  double on_optimum = 0;
  for (int64_t i = 0; i < 6; ++i) on_optimum += sharp.plan[i * 6 + sigma[i]];
  REQUIRE(on_optimum > 0.95);
  require_error([] { sinkhorn_plan({1, 2}, 1, 2, {.epsilon = 0}); }, {"sinkhorn", "epsilon"});
}

TEST_CASE("minibatch OT couplings pair each x0 with its nearby x1", "[flows]") {
  // x1 is a shuffled copy of x0 shifted by 0.01: the exact coupling undoes the shuffle.
  Generator gen(5);
  const Tensor x0 = randn({32, 2}, {}, &gen);
  const Tensor perm = randperm(32, &gen);
  const Tensor x1 = add(index_select(x0, 0, perm), 0.01);
  REQUIRE(max(abs(sub(couple(Coupling::Independent, x0, x1, &gen), x1))).item<double>() == 0.0);
  const Tensor exact = couple(Coupling::ExactOt, x0, x1, &gen);
  REQUIRE(max(abs(sub(exact, add(x0, 0.01)))).item<double>() < 1e-6);
  // Sinkhorn with a small epsilon samples the same pairs almost always.
  const Tensor soft = couple(Coupling::Sinkhorn, x0, x1, &gen, 0.001);
  const std::vector<double> d = sum(square(sub(soft, add(x0, 0.01))), 1).to_vector<double>();
  REQUIRE(std::count_if(d.begin(), d.end(), [](double v) { return v < 1e-10; }) >= 30);
  // The exact coupling never costs more than the independent one.
  const Tensor y = randn({40, 2}, {}, &gen), z = randn({40, 2}, {}, &gen);
  const double independent_cost = sum(square(sub(y, z))).item<double>();
  const double ot_cost = sum(square(sub(y, couple(Coupling::ExactOt, y, z, &gen)))).item<double>();
  REQUIRE(ot_cost < 0.6 * independent_cost);
  require_error([&] { couple(Coupling::ExactOt, x0, zeros({31, 2}), &gen); }, {"exact-ot", "[32, 2]", "[31, 2]"});
  require_error([] { parse_coupling("greedy"); }, {"greedy", "independent, exact-ot, sinkhorn"});
}
