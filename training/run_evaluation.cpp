#include "training/run_evaluation.h"

#include <cstdio>
#include <filesystem>

#include "engine/io/atomic_file.h"
#include "ops/ops.h"
#include "training/progress.h"
#include "training/trainer.h"

namespace strata::training {

namespace fs = std::filesystem;

namespace {

// The evaluation's own random stream (the trainer's are seed + 1, + 1000, + 2000).
uint64_t evaluation_seed(const RunConfig& c) { return c.seed + 3000; }

constexpr const char* kBitsPerDimNote =
    "bits/dim = -log p / (D ln 2) for the data as given, without dequantisation: a discrete "
    "log-likelihood for binarised data; for [0, 1] values under the Bernoulli likelihood the usual "
    "unnormalised Bernoulli score";

std::string fixed(double v, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

}  // namespace

EvalReport evaluate_run_report(const std::string& run_dir, const EvalOptions& options) {
  STRATA_CHECK(options.checkpoint == "best" || options.checkpoint == "latest", "eval: checkpoint must be best or latest, got \"",
               options.checkpoint, "\"");
  STRATA_CHECK(options.importance_samples >= 1, "eval: the number of importance samples must be >= 1, got ",
               options.importance_samples);
  STRATA_CHECK(options.limit >= 0, "eval: limit must be 0 (all) or more, got ", options.limit);
  LoadedRun r = load_run(run_dir, options.checkpoint);
  models::Autoencoder* ae = r.model->autoencoder();
  STRATA_CHECK(ae != nullptr, "eval: the model of ", run_dir, " (", r.config.model,
               ") is not an autoencoder; flows are evaluated with strata eval --nll");
  const TensorDataset& held_out = r.data->validation;
  const int64_t n = options.limit > 0 ? std::min(options.limit, held_out.size()) : held_out.size();
  const Tensor x = narrow(held_out.inputs(), 0, 0, n);
  const Tensor labels = held_out.labels().defined() ? narrow(held_out.labels(), 0, 0, n) : Tensor();

  EvalReport report;
  report.run = run_dir;
  report.checkpoint = options.checkpoint;
  report.model = r.config.model;
  report.likelihood = r.config.likelihood;
  report.split = r.data->validation_name;
  report.loss_terms = evaluate_loss_terms(*r.model, TensorDataset(x, labels), r.config);
  report.scores = analysis::evaluate_autoencoder(
      *ae, x, {.importance_samples = options.importance_samples, .seed = evaluation_seed(r.config), .labels = labels});

  io::write_file_atomically(fs::path(run_dir) / "eval.json", to_json(report).dump(2) + "\n");
  return report;
}

nlohmann::json to_json(const EvalReport& r) {
  const analysis::AutoencoderEvaluation& s = r.scores;
  nlohmann::json terms = nlohmann::json::object();
  for (const auto& [name, value] : r.loss_terms) terms[name] = value;
  nlohmann::json j{{"run", r.run},
                   {"checkpoint", r.checkpoint},
                   {"model", r.model},
                   {"likelihood", r.likelihood},
                   {"split", r.split},
                   {"examples", s.examples},
                   {"dims", s.dims},
                   {"loss_terms", terms},
                   {"reconstruction_nll", s.reconstruction_nll},
                   {"reconstruction_mse", s.reconstruction_mse},
                   {"units", "nats per example unless named otherwise; _stderr: standard error of the mean over examples"}};
  if (s.likelihood_model) {
    j["elbo"] = s.elbo;
    j["elbo_stderr"] = s.elbo_stderr;
    j["elbo_bits_per_dim"] = s.elbo_bits_per_dim;
    j["importance_samples"] = s.importance_samples;
    j["log_likelihood"] = s.log_likelihood;
    j["log_likelihood_stderr"] = s.log_likelihood_stderr;
    j["bits_per_dim"] = s.bits_per_dim;
    j["bits_per_dim_note"] = kBitsPerDimNote;
  }
  return j;
}

std::vector<std::string> report_lines(const EvalReport& r) {
  const analysis::AutoencoderEvaluation& s = r.scores;
  std::vector<std::string> lines;
  lines.push_back(detail::concat(r.model, " on ", r.split, " (", r.checkpoint, " checkpoint): ", s.examples,
                                 " examples of ", s.dims, " values"));
  std::string terms = "loss terms:";
  for (const auto& [name, value] : r.loss_terms) terms += " " + name + " " + format_metric(value);
  lines.push_back(terms);
  lines.push_back(detail::concat("reconstruction: -log p(x | x_hat) ", fixed(s.reconstruction_nll, 4), " nats (",
                                 r.likelihood, "), squared error ", fixed(s.reconstruction_mse, 6), " per value"));
  if (s.likelihood_model) {
    lines.push_back(detail::concat("ELBO: ", fixed(s.elbo, 4), " +- ", fixed(s.elbo_stderr, 4), " nats, ",
                                   fixed(s.elbo_bits_per_dim, 5), " bits/dim"));
    lines.push_back(detail::concat("log p(x) (K = ", s.importance_samples, " importance samples): ", fixed(s.log_likelihood, 4),
                                   " +- ", fixed(s.log_likelihood_stderr, 4), " nats, ", fixed(s.bits_per_dim, 5),
                                   " bits/dim"));
    lines.push_back(std::string("(") + kBitsPerDimNote + ")");
  }
  lines.push_back("wrote " + (fs::path(r.run) / "eval.json").string());
  return lines;
}

}  // namespace strata::training
