#include "models/flows/coupling.h"

#include "models/flows/assignment.h"
#include "models/flows/sinkhorn.h"
#include "ops/ops.h"

namespace strata::models {

std::string coupling_name(Coupling kind) {
  switch (kind) {
    case Coupling::Independent: return "independent";
    case Coupling::ExactOt: return "exact-ot";
    case Coupling::Sinkhorn: return "sinkhorn";
  }
  return "?";
}

Coupling parse_coupling(const std::string& name) {
  for (Coupling c : {Coupling::Independent, Coupling::ExactOt, Coupling::Sinkhorn})
    if (coupling_name(c) == name) return c;
  throw Error("unknown coupling \"" + name + "\" (valid: independent, exact-ot, sinkhorn)");
}

std::vector<double> squared_distances(const Tensor& a, const Tensor& b) {
  STRATA_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
               "squared_distances: expected [n, D] and [m, D], got ", shape_str(a.shape()), " and ", shape_str(b.shape()));
  const int64_t n = a.size(0), m = b.size(0), d = a.size(1);
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> out(static_cast<size_t>(n * m));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double diff = av[i * d + k] - bv[j * d + k];
        s += diff * diff;
      }
      out[i * m + j] = s;
    }
  return out;
}

Tensor couple(Coupling kind, const Tensor& x0, const Tensor& x1, Generator* gen, double sinkhorn_epsilon) {
  STRATA_CHECK(x0.dim() == 2 && x0.shape() == x1.shape(), "couple (", coupling_name(kind),
               "): x0 and x1 must be [N, D] of one shape, got ", shape_str(x0.shape()), " and ", shape_str(x1.shape()));
  if (kind == Coupling::Independent) return x1;
  const int64_t n = x0.size(0);
  const std::vector<double> cost = squared_distances(x0, x1);
  std::vector<int64_t> index(static_cast<size_t>(n));
  if (kind == Coupling::ExactOt) {
    index = linear_sum_assignment(cost, n);
  } else {
    const SinkhornResult plan = sinkhorn_plan(cost, n, n, {.epsilon = sinkhorn_epsilon});
    const std::vector<double> u = rand({n}, {DType::Float64}, gen).to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
      // Inverse CDF of row i, normalised by its sum (1/n up to the solver's tolerance).
      double row = 0;
      for (int64_t j = 0; j < n; ++j) row += plan.plan[i * n + j];
      double target = u[i] * row, acc = 0;
      int64_t j = 0;
      for (; j < n - 1; ++j) {
        acc += plan.plan[i * n + j];
        if (acc > target) break;
      }
      index[i] = j;
    }
  }
  return index_select(x1, 0, from_vector(index, {n}, x1.device()));
}

}  // namespace strata::models
