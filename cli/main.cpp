// The strata command: train, sample, eval and list. It only parses flags (command_line.h); the work
// lives in training/ (trainer.h, run_config.h, registry.h), where the tests can reach it.
#include <cstdio>
#include <exception>

#include "cli/command_line.h"
#include "engine/distributed/communicator.h"
#include "training/generalization_report.h"
#include "training/intrinsic_dimension_report.h"
#include "training/latent_geometry_report.h"
#include "training/metrics_evaluation.h"
#include "training/registry.h"
#include "training/run_evaluation.h"
#include "training/sample_quality_evaluation.h"
#include "training/trainer.h"
#include "training/traversal_grid.h"
#include "training/two_step_report.h"

using namespace strata;
using namespace strata::training;

int main(int argc, char** argv) {
  cli::CommandLine command_line;
  try {
    cli::Command c;
    try {
      c = command_line.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return command_line.exit(e);
    }
    switch (c.action) {
      case cli::Action::Train:
        train_run(c.config, TrainOptions{.device = resolve_device(c.device, c.distributed),
                                         .distributed = c.distributed,
                                         .distributed_timeout = c.distributed_timeout,
                                         .distributed_bucket_mb = c.distributed_bucket_mb,
                                         .distributed_backend = c.distributed_backend});
        break;
      case cli::Action::Resume: {
        TrainOptions options;
        options.threads = c.threads;
        options.device = resolve_device(c.device, c.distributed);
        options.distributed = c.distributed;
        options.distributed_timeout = c.distributed_timeout;
        options.distributed_bucket_mb = c.distributed_bucket_mb;
        options.distributed_backend = c.distributed_backend;
        resume_run(c.run_dir, c.epochs, options);
        break;
      }
      case cli::Action::Sample: {
        const std::string path =
            c.traversal ? traversal_run_to_png(c.run_dir,
                                               {.dims = c.traversal_dims,
                                                .steps = c.traversal_steps,
                                                .example = c.traversal_example,
                                                .prior_center = c.traversal_prior_center},
                                               c.sample_out)
                        : sample_run_to_png(c.run_dir, c.sample_n, c.sample_seed, c.sample_out, c.guidance_scale);
        std::printf("wrote %s\n", path.c_str());
        break;
      }
      case cli::Action::Eval: {
        if (!c.metrics.empty()) {  // disentanglement and diversity
          const MetricsReport report = evaluate_run_metrics(c.run_dir, {.metrics = c.metrics,
                                                                        .checkpoint = c.checkpoint,
                                                                        .points = c.metric_points,
                                                                        .votes = c.metric_votes,
                                                                        .vendi_samples = c.vendi_samples,
                                                                        .seed = c.eval_seed});
          for (const std::string& line : metrics_report_lines(report)) std::printf("%s\n", line.c_str());
          break;
        }
        if (c.sample_quality) {  // samples against held-out images, in a strata classifier's features
          const SampleQualityReport report = evaluate_sample_quality(
              c.run_dir,
              {.classifier_run = c.classifier_run, .checkpoint = c.checkpoint, .n = c.eval_n, .seed = c.eval_seed});
          for (const std::string& line : sample_quality_report_lines(report)) std::printf("%s\n", line.c_str());
          break;
        }
        if (c.nll) {  // flows: likelihood and sample quality
          for (const auto& [name, value] : evaluate_run_likelihood(c.run_dir, c.checkpoint, c.eval_n, c.eval_seed))
            std::printf("%s %.4f\n", name.c_str(), value);
          break;
        }
        const EvalReport report = evaluate_run_report(
            c.run_dir, {.checkpoint = c.checkpoint, .importance_samples = c.eval_samples, .limit = c.eval_limit});
        for (const std::string& line : report_lines(report)) std::printf("%s\n", line.c_str());
        break;
      }
      case cli::Action::AnalyzeLatentGeometry:
        latent_geometry_report(c.latent_geometry);
        break;
      case cli::Action::AnalyzeIntrinsicDim:
        intrinsic_dimension_report(c.intrinsic_dim);
        break;
      case cli::Action::AnalyzeGeneralization:
        generalization_report(c.generalization);
        break;
      case cli::Action::AnalyzeTwoStep:
        two_step_report(c.two_step);
        break;
      case cli::Action::List:
        std::printf("models:\n");
        for (const auto& m : training::models()) std::printf("  %-16s %s\n", m.name.c_str(), m.description.c_str());
        std::printf("datasets:\n");
        for (const auto& d : datasets()) std::printf("  %-16s %s\n", d.name.c_str(), d.description.c_str());
        break;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata: %s\n", e.what());
    // In an MPI job the other ranks would wait for this one until their timeout: end them all now.
    if (distributed::initialized() && distributed::world().world_size() > 1) distributed::abort(1);
    return 1;
  }
  return 0;
}
