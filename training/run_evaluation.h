// `strata eval --run RUN`: the held-out numbers of a trained autoencoder (analysis/autoencoder_evaluation.h)
// and its training objective's terms, printed and written to RUN/eval.json.
//
// The held-out split is the one the run validated on: Fashion-MNIST's test set, the "validation"
// tensor of a safetensors file, or the rows a csv/npy run held out (--validation-fraction, drawn
// with the run's seed).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/autoencoder_evaluation.h"

namespace strata::training {

struct EvalOptions {
  std::string checkpoint = "best";    // or "latest"
  int64_t importance_samples = 1000;  // K of the log-likelihood estimate
  int64_t limit = 0;                  // evaluate the first N held-out examples (0: all)
};

struct EvalReport {
  std::string run, checkpoint, model, likelihood, split;
  std::vector<std::pair<std::string, double>> loss_terms;  // the training objective, batch means
  analysis::AutoencoderEvaluation scores;
};

// Evaluates RUN's checkpoint and writes RUN/eval.json (atomically).
EvalReport evaluate_run_report(const std::string& run_dir, const EvalOptions& options);
nlohmann::json to_json(const EvalReport& report);
// What `strata eval` prints, a line each.
std::vector<std::string> report_lines(const EvalReport& report);

}  // namespace strata::training
