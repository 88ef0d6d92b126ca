// A training run as the strata command performs it, leaving a run folder behind:
//
//   RUN/config.json                 the fully resolved settings (strata train --config repeats the run)
//   RUN/metrics.csv                 one row per step (train terms, lr) and per epoch (validation terms)
//   RUN/checkpoints/latest.safetensors, best.safetensors (by validation loss)
//   RUN/samples/epoch_NNN.png       prior samples;  RUN/reconstructions/epoch_NNN.png (top: inputs)
//   RUN/traversals/epoch_NNN.png    latent traversals (training/traversal_grid.h)
//   RUN/curves.svg                  training and validation loss against step
//
// SIGINT stops the run after the current step with a checkpoint that --resume continues exactly:
// the same batches, noise and optimizer state, hence the same numbers as an uninterrupted run.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "training/registry.h"
#include "training/run_config.h"

namespace strata::training {

struct TrainOptions {
  int threads = 0;                // overrides config.threads when positive
  // Where the model trains (strata train --device). Data stay in host memory and each batch is
  // copied over; checkpoints are written from and read back onto this device.
  Device device = Device::cpu();
  int64_t stop_after_steps = 0;   // stop (as on SIGINT) once this global step is reached; 0: never
  std::ostream* log = nullptr;    // progress output; null: standard output
  // Data-parallel over the processes of an MPI job (mpirun -np W strata train ... --distributed;
  // engine/distributed/). Each rank trains on its shard of every epoch with config.batch_size
  // examples per step, gradients are averaged over ranks, and only rank 0 writes the run folder.
  // W processes with batch B take the steps one process takes with batch W B (to float rounding),
  // for models whose loss is a mean over independent examples (no batch norm, no batch-level estimators).
  bool distributed = false;
  double distributed_timeout = 600;  // seconds a collective waits for the other ranks before failing
  double distributed_bucket_mb = 25;  // gradient bucket size (distributed::GradientReducerOptions)
  // How GPU gradients travel: "nccl" (engine/distributed/nccl_communicator.h), "mpi" (through host
  // copies), or "auto": NCCL when the device is a GPU and this build has it, MPI otherwise.
  std::string distributed_backend = "auto";
};

struct TrainResult {
  int64_t global_step = 0;
  int64_t epochs_completed = 0;
  bool interrupted = false;
  double best_validation_loss = 0.0;
};

// The device of `strata train --device NAME`: "cpu", "cuda" (cuda:0; in a --distributed job each
// process takes cuda:<its local rank>), "cuda:N", or "auto": that GPU when there is one, else the
// CPU. Throws naming the valid choices for anything else.
Device resolve_device(const std::string& name, bool distributed = false);

TrainResult train_run(const RunConfig& config, const TrainOptions& options);
// Continues RUN from checkpoints/latest.safetensors, optionally up to a new number of epochs.
TrainResult resume_run(const std::string& run_dir, std::optional<int64_t> epochs, const TrainOptions& options);

// A run's model with the weights of one of its checkpoints ("best" or "latest"), in eval mode, with
// its data, for sampling and evaluation.
struct LoadedRun {
  RunConfig config;
  std::optional<DataSplits> data;
  std::unique_ptr<Trainable> model;
  int64_t epochs_completed = 0;
};
LoadedRun load_run(const std::string& run_dir, const std::string& which);

// Draws n samples from RUN's best checkpoint into a PNG grid (8 per row; for a class-conditional
// model one row per class of n / classes samples, at least one; for 2-D points a scatter plot of
// the samples beside the held-out points); returns the file written. guidance_scale: w of a
// class-conditional fm run's classifier-free guidance (default 1, the plain conditional field).
std::string sample_run_to_png(const std::string& run_dir, int64_t n, uint64_t seed, const std::string& out,
                              std::optional<double> guidance_scale = std::nullopt);
// Mean loss terms of `model` over `data`, with the noise the trainer's validation uses for `config`
// (so they compare with the val_ columns of metrics.csv).
std::vector<std::pair<std::string, double>> evaluate_loss_terms(Trainable& model, const TensorDataset& data,
                                                                const RunConfig& config);
// Validation loss terms of RUN's "best" or "latest" checkpoint.
std::vector<std::pair<std::string, double>> evaluate_run(const std::string& run_dir, const std::string& which);
// For likelihood models (flows), on the first n held-out examples: "nll" (nats per example, from
// log_prob; "bits_per_dim" too for images), "sliced_w2" (1000 directions) and "mmd2" (biased, Gaussian
// kernels of bandwidths 0.01, 0.1, 1, 10, 100) between n samples and those examples, the function
// evaluations of one log_prob batch and of sampling ("nfe_log_prob", "nfe_sample"), and "examples" (n).
// `seed` fixes the samples, the projections and any Hutchinson probes. For a latent model
// (--latent-of) all of these are of codes (no bits_per_dim), and "decoded_sliced_w2" compares its
// decoded samples with the first n of the autoencoder's held-out images. Also written to
// RUN/likelihood.json (atomically).
std::vector<std::pair<std::string, double>> evaluate_run_likelihood(const std::string& run_dir, const std::string& which,
                                                                    int64_t n, uint64_t seed);

}  // namespace strata::training
