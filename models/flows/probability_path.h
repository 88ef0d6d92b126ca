// Probability paths between two samples x0 ~ p0 and x1 ~ p1 and the velocity a flow is regressed
// on (flow matching: Lipman et al. 2023, "Flow Matching for Generative Modeling"; rectified flow:
// Liu et al. 2023; stochastic interpolants: Albergo & Vanden-Eijnden 2023). For pairs (x0, x1) and
// t ~ U(0, 1), the velocity network minimises E || v(I_t, t) - dI_t/dt ||^2, whose minimiser
// transports p0 to p1 along dx/dt = v(x, t).
//  - linear (rectified flow):  I_t = (1 - t) x0 + t x1,                    dI_t/dt = x1 - x0
//  - trig (variance preserving, the LFM paper's default, its notes' "trigonometric interpolant"):
//      I_t = cos(pi t / 2) x0 + sin(pi t / 2) x1,  dI_t/dt = (pi / 2) (cos(pi t / 2) x1 - sin(pi t / 2) x0)
//    cos^2 + sin^2 = 1, so for independent unit-variance x0, x1 every I_t has unit variance.
// And the Ornstein-Uhlenbeck process dX = -X dt + sqrt(2) dW that carries any p0 to N(0, I), whose
// transition over a time h is exact (Local Flow Matching, Xu, Cheng & Xie 2024, sec. 3):
//      OU_h(x) = e^{-h} x + sqrt(1 - e^{-2h}) z,  z ~ N(0, I).
#pragma once

#include <string>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

enum class Interpolant { Linear, Trig };

// "linear", "trig".
std::string interpolant_name(Interpolant kind);
Interpolant parse_interpolant(const std::string& name);

struct PathPoint {
  Tensor x;         // I_t [N, D]
  Tensor velocity;  // dI_t/dt [N, D], the regression target
};

// x0, x1 [N, D] and t [N] (one time per row).
PathPoint interpolate(Interpolant kind, const Tensor& x0, const Tensor& x1, const Tensor& t);

// One exact OU transition of length h > 0 from x, z drawn from `gen`.
Tensor ou_step(const Tensor& x, double h, Generator* gen);

}  // namespace strata::models
