#include "analysis/autoencoder_evaluation.h"

#include <cmath>
#include <numbers>
#include <optional>

#include "ops/ops.h"

namespace strata::analysis {

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Standard error of the mean: the sample standard deviation over sqrt(n) (0 for a single value).
double stderr_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
}

void append(std::vector<double>& to, const Tensor& values) {
  const std::vector<double> v = values.to_vector<double>();
  to.insert(to.end(), v.begin(), v.end());
}

}  // namespace

double bits_per_dim(double log_p_nats, int64_t dims) {
  STRATA_CHECK(dims >= 1, "bits_per_dim: dims must be >= 1, got ", dims);
  return -log_p_nats / (static_cast<double>(dims) * std::numbers::ln2);
}

AutoencoderEvaluation evaluate_autoencoder(models::Autoencoder& model, const Tensor& x, const EvaluationOptions& options) {
  const std::string& name = model.name();
  STRATA_CHECK(x.defined() && x.dim() == 2 && x.size(0) >= 1 && x.size(1) == model.options().input_dim, name,
               " evaluation: expects examples [N >= 1, ", model.options().input_dim, "], got ",
               x.defined() ? shape_str(x.shape()) : "an undefined tensor");
  STRATA_CHECK(!model.conditional() || (options.labels.defined() && options.labels.dim() == 1 &&
                                         options.labels.size(0) == x.size(0)),
               name, " evaluation: the model is class-conditional; give the labels of the ", x.size(0), " examples");
  STRATA_CHECK(options.batch_size >= 1, name, " evaluation: batch_size must be >= 1, got ", options.batch_size);
  AutoencoderEvaluation r;
  r.examples = x.size(0);
  r.dims = x.size(1);
  r.likelihood_model = model.has_prior() && model.stochastic();
  if (r.likelihood_model) {
    STRATA_CHECK(options.importance_samples >= 1, name, " evaluation: the number of importance samples K must be >= 1, got ",
                 options.importance_samples);
    r.importance_samples = options.importance_samples;
  }

  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  // Two generators of one seed: the ELBO's draw is the first importance sample's (see the header).
  Generator elbo_draws(options.seed), importance_draws(options.seed);
  ExampleScores& s = r.per_example;
  for (int64_t start = 0; start < r.examples; start += options.batch_size) {
    const int64_t size = std::min(options.batch_size, r.examples - start);
    const Tensor batch = narrow(x, 0, start, size);
    std::optional<models::GivenLabels> given;
    if (model.conditional()) given.emplace(model, narrow(options.labels, 0, start, size));
    const models::Encoding q = model.encode(batch);
    const Tensor params = model.decode(q.code);
    append(s.reconstruction_nll, neg(model.likelihood().log_prob(batch, params)));
    append(s.squared_error, mean(square(sub(batch, model.likelihood().mean(params))), 1));
    if (!r.likelihood_model) continue;
    const Tensor eps = randn(q.mean.shape(), {q.mean.dtype(), q.mean.device()}, &elbo_draws);
    const Tensor z = add(q.mean, mul(exp(mul(q.log_var, 0.5)), eps));
    append(s.elbo, sub(model.likelihood().log_prob(batch, model.decode(z)), sum(kl_standard_normal(q.mean, q.log_var), 1)));
    append(s.log_likelihood, model.log_prob(batch, options.importance_samples, &importance_draws));
  }
  if (was_training) model.train();

  r.reconstruction_nll = mean_of(s.reconstruction_nll);
  r.reconstruction_mse = mean_of(s.squared_error);
  if (r.likelihood_model) {
    r.elbo = mean_of(s.elbo);
    r.elbo_stderr = stderr_of(s.elbo);
    r.log_likelihood = mean_of(s.log_likelihood);
    r.log_likelihood_stderr = stderr_of(s.log_likelihood);
    r.elbo_bits_per_dim = bits_per_dim(r.elbo, r.dims);
    r.bits_per_dim = bits_per_dim(r.log_likelihood, r.dims);
  }
  return r;
}

}  // namespace strata::analysis
