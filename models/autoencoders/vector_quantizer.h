// The vector quantisation layer of VQ-VAE (van den Oord, Vinyals & Kavukcuoglu, NeurIPS 2017,
// "Neural Discrete Representation Learning"): a codebook e_1..e_K of code vectors [K, d]; each row
// of z_e [M, d] is replaced by its nearest code (eq. 1-2, squared Euclidean distance, the lowest
// index on ties), with the straight-through gradient (sec. 3.2) z_q = z_e + sg(e - z_e).
//
// The codebook is learned either by gradient (the codebook term of eq. 3; it is then a parameter)
// or, the default, by exponential moving averages (Appendix A.1, decay gamma = 0.99):
//   N_i <- gamma N_i + (1 - gamma) n_i,    m_i <- gamma m_i + (1 - gamma) sum_{j: code j = i} z_e,j,
//   e_i = m_i / N_i
// with the two details of the authors' Sonnet implementation (VectorQuantizerEMA): the averages are
// zero-debiased (divided by 1 - gamma^t after t updates, so the first update gives the batch
// statistics and the initial codebook is forgotten rather than lingering with weight gamma^t), and
// the cluster sizes are Laplace-smoothed, N_i <- (N_i + eps) / (sum N + K eps) * sum N, eps = 1e-5,
// so an unused code divides by a small positive count instead of 0. The codebook and the
// accumulators are buffers, so a checkpoint holds them and a resumed run continues exactly.
// The codebook starts N(0, 1) in both modes (Sonnet's EMA initialiser).
#pragma once

#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::models {

struct VectorQuantizerOptions {
  int64_t codebook_size = 512;  // K (the paper's K = 512)
  int64_t code_dim = 4;         // d
  bool ema = true;              // EMA codebook updates (Appendix A.1) instead of the codebook loss
  double decay = 0.99;          // gamma
  double epsilon = 1e-5;        // Laplace smoothing of the cluster sizes
};

class VectorQuantizer final : public nn::Module {
 public:
  // `model` prefixes error messages; the codebook is drawn from `init` (default generator when null).
  VectorQuantizer(VectorQuantizerOptions options, const std::string& model, Generator* init);

  // The index of the nearest code for each row of z [M, d], int64 [M].
  Tensor nearest(const Tensor& z) const;
  // The code vectors of `indices` [M], [M, d] (differentiable w.r.t. the codebook when it is a parameter).
  Tensor lookup(const Tensor& indices) const;
  // z + sg(e - z): the value of e with the gradient of z (the straight-through estimator).
  static Tensor straight_through(const Tensor& z, const Tensor& e);
  // exp(-sum_i p_i log p_i) of the code usage p over `indices` (0-dim, no gradient): K when every
  // code is used equally, 1 when one code takes every row.
  Tensor perplexity(const Tensor& indices) const;
  // One EMA step with rows z [M, d] assigned to `indices` [M]; updates the buffers in place, outside
  // the graph. Only in EMA mode.
  void ema_update(const Tensor& z, const Tensor& indices);

  const VectorQuantizerOptions& options() const { return options_; }

  Tensor codebook;          // [K, d]: a buffer with EMA, a parameter otherwise
  Tensor ema_cluster_size;  // [K]: the biased (not yet debiased) moving average of the counts n_i
  Tensor ema_code_sum;      // [K, d]: the biased moving average of the per-code sums of z_e
  Tensor ema_updates;       // int64 0-dim: t, the number of EMA updates so far

 private:
  void check_rows(const char* method, const Tensor& z) const;
  VectorQuantizerOptions options_;
  std::string model_;
};

}  // namespace strata::models
