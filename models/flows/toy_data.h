// The 2-D toy distributions of the flow literature, sampled exactly from their definitions (those
// of FFJORD's toy_data.py, Grathwohl et al. 2019, which later papers, LFM's included, reuse), with
// one difference: where FFJORD lays points on evenly spaced angles and shuffles them (rings, moons,
// pinwheel classes), the angle or class is drawn at random, which samples the same distribution.
//  - 8gaussians: centres 4 (cos k pi/4, sin k pi/4), k = 0..7 (chosen uniformly), plus N(0, 0.5^2 I);
//                all divided by 1.414, so the components sit at radius 2.83 with sd 0.354.
//  - moons:      sklearn's two moons with noise 0.1: upper (cos a, sin a), lower (1 - cos a, 0.5 - sin a),
//                a ~ U(0, pi), each half the mass, plus N(0, 0.1^2 I); then 2 x + (-1, -0.2).
//  - checkerboard: x ~ U(-2, 2), y ~ U(0, 1) - 2 b (b uniform in {0, 1}) + (floor(x) mod 2); times 2:
//                uniform on the 8 dark squares of a 4 x 4 board of side 8.
//  - spirals:    r = sqrt(u) 540 deg (u ~ U(0, 1)) in radians; (-cos(r) r + U(0, 0.5), sin(r) r + U(0, 0.5)),
//                mirrored (negated) for half the points; divided by 3; plus N(0, 0.1^2 I).
//  - pinwheel:   5 arms: f = (1 + 0.3 n1, 0.1 n2), n ~ N(0, I); angle 2 pi c / 5 + 0.25 exp(f_0), c uniform
//                in 0..4; the point is 2 f rotated by that angle (x = f_0 cos - ... as FFJORD's einsum).
//  - rings:      radius 3 r, r uniform in {0.25, 0.5, 0.75, 1}, angle ~ U(0, 2 pi); plus N(0, 0.08^2 I).
#pragma once

#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

// The names above, in that order.
std::vector<std::string> toy_distribution_names();

// n points [n, 2] (float32) of distribution `name`, drawn from `gen`.
Tensor sample_toy_distribution(const std::string& name, int64_t n, Generator* gen);

}  // namespace strata::models
