// The divergence div v = tr(dv/dx) of a velocity field at a batch of points, which the
// instantaneous change of variables integrates (Chen et al. 2018, "Neural Ordinary Differential
// Equations", Theorem 1: d log p(x(t)) / dt = -tr(dv/dx)).
//  - exact: one vector-Jacobian product per dimension, e_i^T (dv/dx) read at component i, summed;
//    D backward passes, so for low dimensions.
//  - Hutchinson: tr(J) = E[eps^T J eps] for any probe with E[eps eps^T] = I (Hutchinson 1989; used
//    for flows by Grathwohl et al. 2019, "FFJORD", eq. 7): one vector-Jacobian product per probe,
//    unbiased, for high dimensions.
// Each row's divergence comes from that row's Jacobian because rows are independent examples.
#pragma once

#include <functional>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

// x [N, D] (differentiable) and t [N] -> v [N, D].
using VelocityFunction = std::function<Tensor(const Tensor& x, const Tensor& t)>;

struct VelocityAndDivergence {
  Tensor velocity;    // [N, D], detached
  Tensor divergence;  // [N], detached
};

// Works with grad mode on or off (it turns recording on for its own graph).
VelocityAndDivergence exact_divergence(const VelocityFunction& v, const Tensor& x, const Tensor& t);
// probes [K, N, D]: the estimate is the mean of eps_k^T J eps_k over the K probes.
VelocityAndDivergence hutchinson_divergence(const VelocityFunction& v, const Tensor& x, const Tensor& t,
                                            const Tensor& probes);

enum class ProbeKind { Rademacher, Gaussian };
// K probes of shape [K, N, D] and x's dtype: Rademacher (+-1 with probability 1/2, the lower-variance
// choice) or standard normal.
Tensor divergence_probes(ProbeKind kind, int64_t k, const Shape& shape, DType dtype, Generator* gen,
                         Device device = Device::cpu());

}  // namespace strata::models
