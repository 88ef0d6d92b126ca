// The maximum mean discrepancy between two samples (Gretton et al., JMLR 2012, "A Kernel
// Two-Sample Test"): for x_1..x_n ~ P and y_1..y_m ~ Q and a kernel k,
//   unbiased (U-statistic, their eq. 3):
//     MMD_u^2 = 1/(n(n-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
//               - 2/(nm) sum_{i, j} k(x_i, y_j)
//   biased (V-statistic, their eq. 5): the same with every pair, i = j included, and means over
//     n^2, m^2 and nm; it is >= 0 and exactly 0 for identical samples.
// The kernels are sums over a list of scales C (each > 0), both functions of ||x - y||^2:
//   imq: k(x, y) = sum_C C / (C + ||x - y||^2)   (inverse multiquadratics, Tolstikhin et al. 2018)
//   rbf: k(x, y) = sum_C exp(-||x - y||^2 / C)   (Gaussian; C = 2 h^2 for a bandwidth h)
// Written once and shared: WAE-MMD and InfoVAE (models/autoencoders/) and the sample-quality
// metrics. A composite of differentiable ops, so its gradient is theirs (checked in float64 in
// tests/test_generative_aes.cpp).
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata {

enum class MmdKernel { InverseMultiquadric, Gaussian };

// "imq", "rbf".
std::string mmd_kernel_name(MmdKernel kernel);
MmdKernel parse_mmd_kernel(const std::string& name);

// ||x_i - y_j||^2 for x [n, d] and y [m, d], as [n, m] (clamped at 0 against rounding).
Tensor pairwise_squared_distances(const Tensor& x, const Tensor& y);
// k(x_i, y_j) summed over the scales, [n, m].
Tensor mmd_kernel_matrix(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales);
// The U-statistic MMD_u^2 (0-dim); needs n, m >= 2.
Tensor mmd_unbiased(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales);
// The V-statistic MMD_b^2 (0-dim); needs n, m >= 1.
Tensor mmd_biased(const Tensor& x, const Tensor& y, MmdKernel kernel, const std::vector<double>& scales);

// The scales of the WAE authors' MMD for a prior N(0, sigma_z^2 I) in `latent_dim` dimensions:
// C = 2 * latent_dim * sigma_z^2 (the expected ||z - z'||^2 of two prior draws) times
// {0.1, 0.2, 0.5, 1, 2, 5, 10} (Tolstikhin et al., ICLR 2018, sec. 4; their code sums over these).
std::vector<double> wae_kernel_scales(int64_t latent_dim, double sigma_z = 1.0);

}  // namespace strata
