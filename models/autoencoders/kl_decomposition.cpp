#include "models/autoencoders/kl_decomposition.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

std::string tc_estimator_name(TcEstimator estimator) { return estimator == TcEstimator::Mws ? "mws" : "mss"; }

TcEstimator parse_tc_estimator(const std::string& name) {
  for (TcEstimator e : {TcEstimator::Mws, TcEstimator::Mss})
    if (tc_estimator_name(e) == name) return e;
  throw Error(detail::concat("unknown tc_estimator \"", name, "\" (valid: mws, mss)"));
}

Tensor mss_log_weights(int64_t batch, int64_t dataset_size, Device device) {
  STRATA_CHECK(batch >= 2 && dataset_size >= batch,
               "mss_log_weights: needs batch >= 2 and dataset size >= batch, got batch ", batch,
               " and dataset size ", dataset_size);
  const double n = static_cast<double>(dataset_size), m = static_cast<double>(batch - 1);
  std::vector<double> w(static_cast<size_t>(batch * batch), std::log(1 / m));
  for (int64_t i = 0; i < batch; ++i) {
    w[static_cast<size_t>(i * batch + i)] = std::log(1 / n);
    w[static_cast<size_t>(i * batch + (i + 1) % batch)] = std::log((n - m) / (n * m));
  }
  return from_vector(w, {batch, batch}, device);
}

KlDecomposition decompose_kl(const Tensor& z, const Tensor& mu, const Tensor& log_var, int64_t dataset_size,
                             TcEstimator estimator, const std::string& model) {
  STRATA_CHECK(z.defined() && z.dim() == 2 && z.size(0) >= 1 && mu.defined() && log_var.defined() &&
                   mu.shape() == z.shape() && log_var.shape() == z.shape(),
               model,
               ": the KL decomposition needs z, mean and log_var of one shape [B, L] with B >= 1, got ",
               z.defined() ? shape_str(z.shape()) : "undefined", ", ",
               mu.defined() ? shape_str(mu.shape()) : "undefined", ", ",
               log_var.defined() ? shape_str(log_var.shape()) : "undefined");
  const int64_t b = z.size(0);
  STRATA_CHECK(dataset_size >= 1, model,
               ": the dataset size N, which the estimate of q(z) needs, is not set (got ", dataset_size,
               "); call set_dataset_size(N) (the trainer does)");
  const bool stratified = estimator == TcEstimator::Mss && b >= 2;
  STRATA_CHECK(!stratified || dataset_size >= b, model,
               ": minibatch-stratified sampling needs the dataset size N = ", dataset_size,
               " to be at least the batch size B = ", b);

  KlDecomposition d;
  d.log_q_z_given_x = sum(gaussian_log_likelihood(z, mu, log_var), 1);
  d.log_p_z = sum(gaussian_log_likelihood(z, zeros_like(z), zeros_like(z)), 1);
  // Lq[i, j, d]: the draw of row i under the posterior of row j.
  const Tensor lq = gaussian_log_likelihood(unsqueeze(z, 1), unsqueeze(mu, 0), unsqueeze(log_var, 0));
  if (stratified) {
    const Tensor log_w = to_dtype(mss_log_weights(b, dataset_size, z.device()), z.dtype());
    d.log_q_z = logsumexp(add(sum(lq, 2), log_w), 1);
    d.log_prod_q_z_j = sum(logsumexp(add(lq, unsqueeze(log_w, 2)), 1), 1);
  } else {
    const double log_nb = std::log(static_cast<double>(dataset_size)) + std::log(static_cast<double>(b));
    d.log_q_z = sub(logsumexp(sum(lq, 2), 1), log_nb);
    d.log_prod_q_z_j = sum(sub(logsumexp(lq, 1), log_nb), 1);
  }
  d.mi = mean(sub(d.log_q_z_given_x, d.log_q_z));
  d.tc = mean(sub(d.log_q_z, d.log_prod_q_z_j));
  d.dwkl = mean(sub(d.log_prod_q_z_j, d.log_p_z));
  return d;
}

}  // namespace strata::models
