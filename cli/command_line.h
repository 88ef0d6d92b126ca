// The strata command line, parsed and checked without doing any of the work it asks for, so the
// parser can be tested and fuzzed apart from training (fuzz/fuzz_cli.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "training/generalization_report.h"
#include "training/intrinsic_dimension_report.h"
#include "training/latent_geometry_report.h"
#include "training/run_config.h"
#include "training/two_step_report.h"

namespace strata::cli {

enum class Action {
  Train,
  Resume,
  Sample,
  Eval,
  List,
  AnalyzeIntrinsicDim,
  AnalyzeGeneralization,
  AnalyzeLatentGeometry,
  AnalyzeTwoStep
};

struct Command {
  Action action = Action::List;
  training::RunConfig config;     // Train: flags over the --config file over the defaults, validated
  std::string run_dir;            // Resume, Sample, Eval
  std::optional<int64_t> epochs;  // Resume: a new number of epochs
  int threads = 0;                // Resume: CPU threads (0: the run's own setting)
  std::string device = "auto";    // Train, Resume: cpu, cuda, cuda:N or auto (training::resolve_device)
  bool distributed = false;       // Train, Resume: data-parallel over the processes of an MPI job
  double distributed_timeout = 600;  // Train, Resume: seconds a collective waits for the other ranks
  double distributed_bucket_mb = 25;  // Train, Resume: MiB of gradients per all-reduce
  std::string distributed_backend = "auto";  // Train, Resume: nccl, mpi or auto (GPU gradients)
  int64_t sample_n = 64;
  uint64_t sample_seed = 0;
  std::string sample_out;
  std::string checkpoint = "best";  // Eval: best or latest
  bool nll = false;                 // Eval: likelihood and sample quality of a flow (eval --nll)
  int64_t eval_n = 2000;            // Eval --nll: held-out examples and samples
  uint64_t eval_seed = 0;           // Eval --nll: samples, projections, probes
  int64_t eval_samples = 1000;      // Eval: importance samples K of the log-likelihood
  int64_t eval_limit = 0;           // Eval: the first N held-out examples (0: all)
  std::vector<std::string> metrics;  // Eval --metrics: disentanglement / diversity metrics to compute
  int64_t metric_points = 0;         // Eval --metrics: points per metric (0: each metric's defaults)
  int64_t metric_votes = 0;          // Eval --metrics factorvae, betavae: votes (0: as metric_points)
  int64_t vendi_samples = 1000;      // Eval --metrics vendi: prior samples
  bool sample_quality = false;       // Eval --sample-quality: samples against held-out images in classifier features
  std::string classifier_run;        // Eval --sample-quality: the classifier run whose features are used
  std::optional<double> guidance_scale;  // Sample: w of a conditional fm run's classifier-free guidance
  bool traversal = false;           // Sample: a latent traversal grid instead of prior samples
  std::vector<int64_t> traversal_dims;  // Sample --traversal: the dims to sweep (empty: all)
  int64_t traversal_steps = 11;
  int64_t traversal_example = 0;
  bool traversal_prior_center = false;
  training::IntrinsicDimensionOptions intrinsic_dim;  // Analyze intrinsic-dim
  training::LatentGeometryOptions latent_geometry;    // Analyze latent-geometry
  training::GeneralizationOptions generalization;     // Analyze generalization
  training::TwoStepOptions two_step;                  // Analyze two-step
};

// The options of an analyze command and the setter of each one's --quick value.
using QuickValues = std::vector<std::pair<CLI::Option*, std::function<void()>>>;

class CommandLine {
 public:
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Throws CLI::ParseError for what the flag parser rejects (and for --help, which exit() prints)
  // and strata::Error for values that parse but are wrong (unknown model, bad config file, ...).
  Command parse(int argc, const char* const* argv);
  // Prints a parse error or the help text; returns the exit code.
  int exit(const CLI::ParseError& e) { return app_.exit(e); }

 private:
  struct TrainFlags {
    training::RunConfig values;
    std::string config_file, resume_dir, hidden;
    std::string velocity_hidden, step_sizes;  // flows: comma-separated lists
    std::vector<std::pair<std::string, CLI::Option*>> options;
  };
  training::RunConfig resolve() const;

  CLI::App app_{"strata: train and study autoencoders and flows"};
  CLI::App* train_cmd_ = nullptr;
  CLI::App* sample_cmd_ = nullptr;
  CLI::App* eval_cmd_ = nullptr;
  CLI::App* list_cmd_ = nullptr;
  CLI::App* analyze_cmd_ = nullptr;
  CLI::App* intrinsic_dim_cmd_ = nullptr;
  CLI::App* generalization_cmd_ = nullptr;
  QuickValues generalization_quick_;  // --quick's values
  bool generalization_quick_flag_ = false;
  CLI::App* two_step_cmd_ = nullptr;
  QuickValues two_step_quick_;
  bool two_step_quick_flag_ = false;
  std::string intrinsic_ks_ = "3,5,10,20", intrinsic_methods_ = "mle,twonn,lpca";  // analyze intrinsic-dim, as given
  CLI::App* latent_geometry_cmd_ = nullptr;
  std::string geometry_models_ = "cae,dae,vae", geometry_sigmas_ = "0,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5";
  TrainFlags train_;
  Command other_;  // the sample and eval flags are bound here
  std::string metrics_;  // eval --metrics, parsed into other_.metrics
  std::string traversal_dims_;  // --dims as given
  double guidance_scale_ = 1.0;  // sample --guidance-scale as given
  CLI::Option* guidance_option_ = nullptr;
  CLI::Option* eval_n_option_ = nullptr;  // eval --n, whose default differs for --sample-quality
};

}  // namespace strata::cli
