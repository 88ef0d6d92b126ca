// `strata eval --run RUN --metrics mig,sap,dci,factorvae,betavae,modularity,vendi`: the
// disentanglement metrics of analysis/disentanglement/ on a run trained on data with known factors
// (dsprites), and the Vendi diversity of its prior samples (analysis/diversity/vendi.h), printed and
// written to RUN/metrics.json (atomically).
//
// Codes are the encoder's posterior mean (the code itself for deterministic encoders), as
// disentanglement_lib. Sample sizes are each metric's defaults (shared/papers/metrics.md) unless
// `points` is given: then every metric trains on `points` and tests on points / 2 (votes and
// points for the FactorVAE and BetaVAE scores likewise), a quicker and noisier look. `votes`, when
// given, sets the FactorVAE and BetaVAE training votes alone (evaluation votes half as many): a vote
// encodes a batch of 64 images (64 pairs for BetaVAE), so these two cost ~64x the others per point.
// Vendi: `vendi_samples` images from the prior, cosine similarity of their pixel vectors.
// Every metric draws from its own Generator seeded from `seed`, so one metric's result does not
// depend on which others were asked for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::training {

struct MetricsOptions {
  std::vector<std::string> metrics;  // names from metric_names()
  std::string checkpoint = "best";
  int64_t points = 0;  // 0: each metric's default sample sizes
  int64_t votes = 0;   // factorvae, betavae; 0: as `points`
  int64_t vendi_samples = 1000;
  uint64_t seed = 0;
};

// mig, sap, dci, factorvae, betavae, modularity, vendi.
std::vector<std::string> metric_names();
// "mig,dci" -> {"mig", "dci"}; "all" -> every name; unknown names are refused with the valid ones.
std::vector<std::string> parse_metric_names(const std::string& list);

struct MetricsReport {
  std::string run, checkpoint, model, data;
  nlohmann::ordered_json metrics;  // name -> {score fields}, in the order asked
};

MetricsReport evaluate_run_metrics(const std::string& run_dir, const MetricsOptions& options);
// What `strata eval --metrics` prints, a line per metric.
std::vector<std::string> metrics_report_lines(const MetricsReport& report);

}  // namespace strata::training
