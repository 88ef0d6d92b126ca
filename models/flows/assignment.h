// The linear assignment problem: given an n x n cost matrix, the permutation sigma minimising
// sum_i cost[i][sigma(i)]. Exact in O(n^3) by shortest augmenting paths with dual potentials
// (Kuhn's Hungarian method in the form of Jonker & Volgenant 1987, "A shortest augmenting path
// algorithm for dense and sparse linear assignment problems"): each row is inserted by a Dijkstra
// search over reduced costs, which the potentials keep non-negative.
// Plain doubles, no tensors: minibatch optimal-transport coupling (coupling.h) uses it, and so can
// anything else that needs a matching.
#pragma once

#include <cstdint>
#include <vector>

namespace strata::models {

// cost: n x n, row-major, finite. Returns sigma with sigma[i] the column assigned to row i.
std::vector<int64_t> linear_sum_assignment(const std::vector<double>& cost, int64_t n);

// sum_i cost[i][sigma[i]].
double assignment_cost(const std::vector<double>& cost, int64_t n, const std::vector<int64_t>& sigma);

}  // namespace strata::models
