// How the pairs (x0, x1) of a flow-matching minibatch are formed.
//  - independent: as drawn (the product coupling of Lipman et al. 2023).
//  - exact-ot: x1 reordered by the assignment minimising sum_i ||x0_i - x1_sigma(i)||^2 over the
//    minibatch (minibatch optimal transport: Pooladian et al. 2023, "Multisample flow matching";
//    Tong et al. 2024, "Improving and generalizing flow-based generative models with minibatch
//    optimal transport", sec. 3.2), exact by assignment.h in O(n^3).
//  - sinkhorn: the entropic plan of the same cost (sinkhorn.h, O(n^2) per iteration), for batches
//    too large for the exact one; x0_i is paired with x1_j drawn from the plan's row i (P_ij / (1/n)),
//    so every x0 is used once and the pairs follow the plan.
#pragma once

#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

enum class Coupling { Independent, ExactOt, Sinkhorn };

// "independent", "exact-ot", "sinkhorn".
std::string coupling_name(Coupling kind);
Coupling parse_coupling(const std::string& name);

// ||a_i - b_j||^2 for rows of a [n, D] and b [m, D], as an n x m row-major matrix (computed in double).
std::vector<double> squared_distances(const Tensor& a, const Tensor& b);

// x1's rows reordered (exact-ot) or resampled (sinkhorn) to pair with x0's rows; x1 itself for
// independent. `gen` is used by sinkhorn only; sinkhorn_epsilon is relative to the largest cost.
Tensor couple(Coupling kind, const Tensor& x0, const Tensor& x1, Generator* gen, double sinkhorn_epsilon = 0.05);

}  // namespace strata::models
