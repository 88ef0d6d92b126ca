// The decomposition of the VAE's KL term into index-code mutual information, total correlation
// and dimension-wise KL (Chen, Li, Grosse & Duvenaud, NeurIPS 2018, "Isolating Sources of
// Disentanglement in Variational Autoencoders", eq. 2):
//   E_p(n)[KL(q(z|n) || p(z))] = I_q(z; n) + KL(q(z) || prod_j q(z_j)) + sum_j KL(q(z_j) || p(z_j))
// estimated on a minibatch of B examples drawn from a dataset of N, one draw z_i ~ q(z | x_i) each.
// Everything rests on the [B, B, L] matrix of Gaussian log-densities
//   Lq[i, j, d] = log N(z_{i,d}; mu_{j,d}, sigma_{j,d}^2),
// which gives the aggregate posterior q(z) = (1/N) sum_n q(z | x_n) by one of two estimators:
//  - minibatch-weighted sampling, MWS (sec. 4.1 and Appendix C.1):
//      log q(z_i)           ~ logsumexp_j sum_d Lq[i,j,d] - log(N B)
//      sum_d log q(z_{i,d}) ~ sum_d (logsumexp_j Lq[i,j,d] - log(N B))
//    (as in the paper and its code). The weight 1/(N B) on every item makes the values biased by
//    constants: where the posteriors overlap (q(z|x) ~ p(z)) it gives mi ~ log N, tc ~ (L - 1) log N
//    and dwkl ~ -L log N instead of 0. Constants leave the gradients unchanged, but the logged terms
//    and the weighted loss carry them; MSS's estimates do not.
//  - minibatch-stratified sampling, MSS (Appendix C.2): log W[i, j] is added inside each logsumexp
//    instead of subtracting log(N B). With m = B - 1 other items, item i itself gets 1/N, one other
//    item ((i + 1) mod B) stands for a stratum of N/m - 1 examples and gets (N - m)/(N m), and the
//    remaining m - 1 items stand for strata of N/m and get 1/m; every row sums to 1 (each row is an
//    unbiased stratified estimate of q(z_i)).
//    The official code (rtqichen/beta-tcvae, _log_importance_weight_matrix) intends this matrix but
//    writes it with strides of B instead of B + 1, so it fills columns 0 and 1 rather than the
//    diagonal and the superdiagonal (reported there as pull request #1), and it puts the wrapped
//    entry in row B - 2 rather than B - 1; we implement the rows-sum-to-1 matrix the comments describe.
// Per example, then averaged over the batch:
//   mi   = log q(z_i | x_i) - log q(z_i)
//   tc   = log q(z_i) - sum_d log q(z_{i,d})
//   dwkl = sum_d log q(z_{i,d}) - log p(z_i),   p = N(0, I)
// so mi + tc + dwkl = log q(z_i | x_i) - log p(z_i), the one-sample estimate of the KL, exactly.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace strata::models {

enum class TcEstimator { Mws, Mss };

// "mws", "mss".
std::string tc_estimator_name(TcEstimator estimator);
TcEstimator parse_tc_estimator(const std::string& name);

// Per-example log-densities, each [B], and the batch means of the three terms.
struct KlDecomposition {
  Tensor log_q_z_given_x;  // log q(z_i | x_i)
  Tensor log_q_z;          // log q(z_i), estimated
  Tensor log_prod_q_z_j;   // sum_d log q(z_{i,d}), estimated
  Tensor log_p_z;          // log p(z_i)
  Tensor mi, tc, dwkl;     // 0-dim batch means
};

// The decomposition for draws z [B, L] from q(z | x) = N(mu, exp(log_var)) (each [B, L]), for a
// minibatch drawn from `dataset_size` examples. MSS needs dataset_size >= B; with B = 1 both
// estimators are log q(z | x) - log N (MSS has no other item to stratify with). Errors name `model`.
KlDecomposition decompose_kl(const Tensor& z, const Tensor& mu, const Tensor& log_var, int64_t dataset_size,
                             TcEstimator estimator, const std::string& model);

// MSS's log W, [B, B] of float64, for B >= 2 and dataset_size >= B.
Tensor mss_log_weights(int64_t batch, int64_t dataset_size, Device device = Device::cpu());

}  // namespace strata::models
