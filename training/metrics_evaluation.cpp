#include "training/metrics_evaluation.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "analysis/disentanglement/beta_vae_score.h"
#include "analysis/disentanglement/dci.h"
#include "analysis/disentanglement/factor_codes.h"
#include "analysis/disentanglement/factor_vae_score.h"
#include "analysis/disentanglement/mig.h"
#include "analysis/disentanglement/modularity.h"
#include "analysis/disentanglement/sap.h"
#include "analysis/diversity/vendi.h"
#include "engine/autograd.h"
#include "engine/io/atomic_file.h"
#include "models/autoencoders/autoencoder.h"
#include "training/trainer.h"

namespace strata::training {

namespace fs = std::filesystem;

std::vector<std::string> metric_names() {
  return {"mig", "sap", "dci", "factorvae", "betavae", "modularity", "vendi"};
}

std::vector<std::string> parse_metric_names(const std::string& list) {
  const std::vector<std::string> valid = metric_names();
  if (list == "all") return valid;
  std::vector<std::string> names;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      std::string choices;
      for (const auto& v : valid) choices += (choices.empty() ? "" : ", ") + v;
      throw Error("--metrics: unknown metric \"" + name + "\" (valid: " + choices + ", or all)");
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  STRATA_CHECK(!names.empty(), "--metrics: no metric named in \"", list, "\"");
  return names;
}

namespace {

// Seeds of the metrics' own generators: one stream per metric, fixed by the options' seed.
uint64_t metric_seed(uint64_t seed, size_t metric) { return seed * 1000003 + 17 * (metric + 1); }

// The two sample sizes a metric uses: its defaults, or `points` and points / 2.
std::pair<int64_t, int64_t> sizes(int64_t points, int64_t train, int64_t test) {
  return points > 0 ? std::pair{points, std::max<int64_t>(1, points / 2)} : std::pair{train, test};
}

}  // namespace

MetricsReport evaluate_run_metrics(const std::string& run_dir, const MetricsOptions& options) {
  STRATA_CHECK(!options.metrics.empty(), "eval --metrics: no metric asked for");
  STRATA_CHECK(options.points >= 0, "eval --metrics: points must be 0 (the defaults) or more, got ",
               options.points);
  STRATA_CHECK(options.votes >= 0, "eval --metrics: votes must be 0 (as points) or more, got ", options.votes);
  STRATA_CHECK(options.vendi_samples >= 2, "eval --metrics: vendi needs at least 2 samples, got ",
               options.vendi_samples);
  LoadedRun r = load_run(run_dir, options.checkpoint);
  models::Autoencoder* ae = r.model->autoencoder();
  STRATA_CHECK(ae != nullptr, "eval --metrics: the model of ", run_dir, " (", r.config.model,
               ") is not an autoencoder: the metrics read an encoder's codes");
  const FactorDataset* factors = r.data->factors.get();
  const analysis::Representation representation = [ae](const Tensor& x) {
    NoGradGuard no_grad;
    const models::Encoding e = ae->encode(x);
    return e.stochastic() ? e.mean : e.code;
  };

  const int64_t votes = options.votes > 0 ? options.votes : options.points;
  MetricsReport report{run_dir, options.checkpoint, r.config.model, r.config.data,
                       nlohmann::ordered_json::object()};
  for (size_t m = 0; m < options.metrics.size(); ++m) {
    const std::string& name = options.metrics[m];
    Generator gen(metric_seed(options.seed, m));
    if (name == "vendi") {
      STRATA_CHECK(r.model->has_prior(), "eval --metrics vendi: ", r.config.model,
                   " has no prior to sample from (the Vendi score here is of prior samples)");
      NoGradGuard no_grad;
      const analysis::VendiResult v = analysis::vendi_score(r.model->sample(options.vendi_samples, &gen),
                                                            {.kernel = analysis::VendiKernel::Cosine});
      report.metrics[name] = {
          {"score", v.score}, {"samples", v.n}, {"kernel", "cosine"}, {"features", "pixels"}};
      continue;
    }
    STRATA_CHECK(factors != nullptr, "eval --metrics ", name,
                 ": needs data with known generative factors (dsprites), ", "but ", run_dir,
                 " was trained on ", r.config.data);
    if (name == "factorvae") {
      analysis::FactorVaeOptions o;
      std::tie(o.num_train, o.num_eval) = sizes(votes, o.num_train, o.num_eval);
      if (options.points > 0) o.num_variance_estimate = options.points;
      const analysis::FactorVaeResult f = analysis::factor_vae_score(*factors, representation, &gen, o);
      report.metrics[name] = {{"score", f.eval_accuracy},
                              {"train_accuracy", f.train_accuracy},
                              {"active_dims", f.num_active_dims},
                              {"train_votes", o.num_train},
                              {"eval_votes", o.num_eval}};
    } else if (name == "betavae") {
      analysis::BetaVaeOptions o;
      std::tie(o.num_train, o.num_eval) = sizes(votes, o.num_train, o.num_eval);
      const analysis::BetaVaeResult b = analysis::beta_vae_score(*factors, representation, &gen, o);
      report.metrics[name] = {{"score", b.eval_accuracy},
                              {"train_accuracy", b.train_accuracy},
                              {"train_points", o.num_train},
                              {"eval_points", o.num_eval}};
    } else if (name == "mig") {
      analysis::MigOptions o;
      if (options.points > 0) o.num_train = options.points;
      const analysis::CodeSample s = analysis::sample_codes(*factors, representation, o.num_train, &gen);
      const analysis::MigResult g = analysis::mig(s.codes, s.factors, o);
      report.metrics[name] = {{"score", g.score}, {"per_factor", g.per_factor}, {"points", o.num_train}};
    } else {  // sap, dci, modularity: a training and a test sample
      int64_t train = 10000, test = 5000;
      std::tie(train, test) = sizes(options.points, train, test);
      const analysis::CodeSample a = analysis::sample_codes(*factors, representation, train, &gen);
      const analysis::CodeSample b = analysis::sample_codes(*factors, representation, test, &gen);
      if (name == "sap") {
        const analysis::SapResult s = analysis::sap(a.codes, a.factors, b.codes, b.factors);
        report.metrics[name] = {
            {"score", s.score}, {"per_factor", s.per_factor}, {"train_points", train}, {"test_points", test}};
      } else if (name == "dci") {
        const analysis::DciResult d = analysis::dci(a.codes, a.factors, b.codes, b.factors);
        report.metrics[name] = {
            {"disentanglement", d.disentanglement},
            {"completeness", d.completeness},
            {"informativeness", d.informativeness},
            {"train_accuracy", d.train_accuracy},
            {"predictor", "gradient-boosted trees (100 stages, depth 3, learning rate 0.1)"},
            {"train_points", train},
            {"test_points", test}};
      } else {
        const analysis::ModularityResult mo =
            analysis::modularity_explicitness(a.codes, a.factors, b.codes, b.factors);
        report.metrics[name] = {{"modularity", mo.modularity},
                                {"explicitness_train", mo.explicitness_train},
                                {"explicitness_test", mo.explicitness_test},
                                {"train_points", train},
                                {"test_points", test}};
      }
    }
  }

  const nlohmann::ordered_json out = {{"run", report.run},
                                      {"checkpoint", report.checkpoint},
                                      {"model", report.model},
                                      {"data", report.data},
                                      {"seed", options.seed},
                                      {"metrics", report.metrics},
                                      {"codes", "posterior means (the code for deterministic encoders)"}};
  io::write_file_atomically(fs::path(run_dir) / "metrics.json", out.dump(2) + "\n");
  return report;
}

std::vector<std::string> metrics_report_lines(const MetricsReport& report) {
  std::vector<std::string> lines{report.model + " on " + report.data + " (" + report.checkpoint +
                                 " checkpoint)"};
  for (const auto& [name, fields] : report.metrics.items()) {
    std::string line = name + ":";
    for (const auto& [key, value] : fields.items()) {
      if (!value.is_number()) continue;
      char buf[64];
      if (value.is_number_integer())
        std::snprintf(buf, sizeof buf, " %s %lld", key.c_str(), static_cast<long long>(value.get<int64_t>()));
      else
        std::snprintf(buf, sizeof buf, " %s %.4f", key.c_str(), value.get<double>());
      line += buf;
    }
    lines.push_back(line);
  }
  lines.push_back("wrote " + (fs::path(report.run) / "metrics.json").string());
  return lines;
}

}  // namespace strata::training
