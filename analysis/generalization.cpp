#include "analysis/generalization.h"

#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/optim/adam.h"
#include "engine/shape.h"
#include "ops/ops.h"

namespace strata::analysis {

namespace {

// rows [N, F] repeated `times` over: [times * N, F], copy k in rows k N .. (k + 1) N - 1 (differentiable).
Tensor repeat_rows(const Tensor& rows, int64_t times) {
  if (times == 1) return rows;
  const int64_t n = rows.size(0), f = rows.size(1);
  return reshape(expand(reshape(rows, {1, n, f}), {times, n, f}), {times * n, f});
}

// The reparameterised ELBO of each row with `samples` draws: mean_s log p(x | mu + sigma eps_s) - KL.
Tensor elbo_estimate(const DecoderLogLikelihood& log_likelihood, const Tensor& x, const Tensor& mu,
                     const Tensor& log_sigma, int64_t samples, Generator* gen) {
  const int64_t n = mu.size(0), l = mu.size(1);
  const Tensor eps = randn({samples * n, l}, {mu.dtype(), mu.device()}, gen);
  const Tensor z = add(repeat_rows(mu, samples), mul(repeat_rows(exp(log_sigma), samples), eps));
  const Tensor ll = log_likelihood(repeat_rows(x, samples), z);
  STRATA_CHECK(ll.defined() && ll.dim() == 1 && ll.size(0) == samples * n,
               "amortization gap: the decoder's log-likelihood must give one value per row, [", samples * n,
               "], got ", ll.defined() ? shape_str(ll.shape()) : "an undefined tensor");
  const Tensor expected_ll = mean(reshape(ll, {samples, n}), 0);
  return sub(expected_ll, sum(kl_standard_normal(mu, mul(log_sigma, 2.0)), 1));
}

void check_posterior(const char* op, const Tensor& x, const Tensor& mean, const Tensor& log_var) {
  STRATA_CHECK(x.defined() && mean.defined() && log_var.defined(), op, ": x, mean and log_var must be defined");
  STRATA_CHECK(x.dim() == 2 && mean.dim() == 2 && log_var.shape() == mean.shape() && x.size(0) == mean.size(0) &&
                   x.size(0) >= 1,
               op, ": expects x [N >= 1, D] and mean, log_var [N, L], got x ", shape_str(x.shape()), ", mean ",
               shape_str(mean.shape()), ", log_var ", shape_str(log_var.shape()));
  STRATA_CHECK(is_floating(mean.dtype()) && mean.dtype() == log_var.dtype(), op,
               ": mean and log_var must share a floating dtype");
}

}  // namespace

std::vector<double> generalization_gaps(const std::vector<double>& train, const std::vector<double>& test) {
  STRATA_CHECK(!train.empty() && train.size() == test.size(), "generalization gap: needs as many train as test values "
               "(at least one), got ", train.size(), " and ", test.size());
  std::vector<double> gaps(train.size());
  for (size_t i = 0; i < train.size(); ++i) gaps[i] = train[i] - test[i];
  return gaps;
}

double generalization_gap(const std::vector<double>& train_values, const std::vector<double>& test_values) {
  STRATA_CHECK(!train_values.empty() && !test_values.empty(),
               "generalization gap: needs at least one train and one test value, got ", train_values.size(), " and ",
               test_values.size());
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); };
  return mean(train_values) - mean(test_values);
}

Tensor gaussian_posterior_elbo(const DecoderLogLikelihood& log_likelihood, const Tensor& x, const Tensor& mu,
                               const Tensor& log_var, int64_t samples, Generator* gen) {
  check_posterior("gaussian_posterior_elbo", x, mu, log_var);
  STRATA_CHECK(samples >= 1, "gaussian_posterior_elbo: samples must be >= 1, got ", samples);
  NoGradGuard no_grad;
  return elbo_estimate(log_likelihood, x, mu, mul(log_var, 0.5), samples, gen);
}

PosteriorOptimisation optimise_gaussian_posteriors(const DecoderLogLikelihood& log_likelihood, const Tensor& x,
                                                   const Tensor& mean0, const Tensor& log_var0,
                                                   const PosteriorOptimisationOptions& o) {
  check_posterior("amortization gap", x, mean0, log_var0);
  STRATA_CHECK(o.steps >= 0 && o.samples_per_step >= 1 && o.eval_samples >= 1 && o.lr > 0 && std::isfinite(o.lr),
               "amortization gap: needs steps >= 0, samples_per_step >= 1, eval_samples >= 1 and lr > 0, got steps ",
               o.steps, ", samples_per_step ", o.samples_per_step, ", eval_samples ", o.eval_samples, ", lr ", o.lr);
  PosteriorOptimisation r;
  Generator draws(o.seed);
  // The reported ELBOs of q_phi and q* use one generator state each, so both see the same eps.
  const Generator eval_start(o.seed + 0x9E3779B97F4A7C15ull);
  {
    Generator eval = eval_start;
    r.initial_elbo = gaussian_posterior_elbo(log_likelihood, x, mean0, log_var0, o.eval_samples, &eval)
                         .to_vector<double>();
  }
  Tensor mu = clone(mean0.detach());
  mu.set_requires_grad(true);
  Tensor log_sigma = contiguous(mul(log_var0.detach(), 0.5));
  log_sigma.set_requires_grad(true);
  optim::Adam adam({mu, log_sigma}, {.lr = o.lr});
  for (int64_t step = 0; step < o.steps; ++step) {
    adam.zero_grad();
    const Tensor elbo = elbo_estimate(log_likelihood, x, mu, log_sigma, o.samples_per_step, &draws);
    // The sum, not the mean, so each example's gradient is that of its own ELBO whatever N is.
    neg(sum(elbo)).backward();
    adam.step();
    r.objective_per_step.push_back(mean(elbo.detach()).item<double>());
  }
  r.mean = mu.detach();
  r.log_var = mul(log_sigma.detach(), 2.0);
  Generator eval = eval_start;
  r.optimised_elbo =
      gaussian_posterior_elbo(log_likelihood, x, r.mean, r.log_var, o.eval_samples, &eval).to_vector<double>();
  double gap = 0;
  for (size_t i = 0; i < r.optimised_elbo.size(); ++i) gap += r.optimised_elbo[i] - r.initial_elbo[i];
  r.amortization_gap = gap / static_cast<double>(r.optimised_elbo.size());
  return r;
}

int64_t mlp_autoencoder_parameter_count(int64_t input_dim, const std::vector<int64_t>& widths, int64_t latent_dim,
                                        bool stochastic) {
  STRATA_CHECK(input_dim >= 1 && latent_dim >= 1 && !widths.empty(),
               "mlp_autoencoder_parameter_count: needs input_dim >= 1, latent_dim >= 1 and at least one width, got ",
               input_dim, ", ", latent_dim, " and ", widths.size(), " widths");
  auto linear = [](int64_t in, int64_t out) { return in * out + out; };
  int64_t count = 0, width = input_dim;
  for (int64_t w : widths) {
    STRATA_CHECK(w >= 1, "mlp_autoencoder_parameter_count: widths must be >= 1, got ", w);
    count += linear(width, w) + linear(w, width);  // the encoder layer and the decoder layer that mirrors it
    width = w;
  }
  return count + (stochastic ? 2 : 1) * linear(width, latent_dim) + linear(latent_dim, width);
}

}  // namespace strata::analysis
