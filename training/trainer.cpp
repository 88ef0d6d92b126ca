#include "training/trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>

#include "engine/data/loader.h"
#include "engine/data/prefetcher.h"
#include "engine/dispatch.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/gradient_reducer.h"
#include "engine/distributed/nccl_communicator.h"
#include "engine/io/atomic_file.h"
#include "engine/io/image.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/threading.h"
#include "ops/ops.h"
#include "training/checkpoint.h"
#include "training/curves.h"
#include "training/metrics_log.h"
#include "training/progress.h"
#include "training/registry.h"
#include "training/scatter_plot.h"
#include "models/flows/sample_distances.h"
#include "training/traversal_grid.h"
#include "training/two_step.h"

namespace strata::training {

namespace fs = std::filesystem;

namespace {

// Set by SIGINT; the step loop checks it between steps and stops with a checkpoint.
std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int) { stop_requested = true; }

class SigintScope {
 public:
  SigintScope() : previous_(std::signal(SIGINT, request_stop)) { stop_requested = false; }
  ~SigintScope() { std::signal(SIGINT, previous_); }

 private:
  void (*previous_)(int);
};

// Seeds derived from the run's seed, one per independent random stream.
uint64_t noise_seed(const RunConfig& c) { return c.seed + 1; }
// Each rank of a distributed run draws its own noise (identical noise on every shard would correlate
// the ranks' gradients); rank 0's stream is the one-process run's. Every rank draws the same
// amount per step, so all streams stand at the same offset, the one the checkpoint records.
uint64_t rank_noise_seed(const RunConfig& c, int rank) { return noise_seed(c) + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(rank); }
uint64_t eval_seed(const RunConfig& c) { return c.seed + 1000; }
uint64_t picture_seed(const RunConfig& c) { return c.seed + 2000; }

constexpr int64_t kEvalBatch = 500;

// Host data on the model's device (TrainOptions::device); labels may be undefined.
Tensor on_device(const Tensor& t, Device device) { return t.defined() ? to_device(t, device) : t; }
Batch on_device(const Batch& b, Device device) { return {on_device(b.inputs, device), on_device(b.labels, device)}; }

// Everything a run holds while it trains; the checkpoint stores exactly the mutable part.
struct Run {
  RunConfig config;
  fs::path dir;
  std::optional<DataSplits> data;  // optional: a dataset has no empty state
  std::unique_ptr<Trainable> model;
  Device device;  // where the model is (TrainOptions::device)
  std::unique_ptr<optim::Adam> adam;
  std::unique_ptr<DataLoader> loader;
  Generator noise;
  int64_t epoch = 0;          // completed epochs
  int64_t step_in_epoch = 0;  // batches done in the current epoch (0: it has not started)
  int64_t global_step = 0;
  double best_validation = std::numeric_limits<double>::infinity();
  double wall_time = 0;       // seconds of training before this process took over
  int64_t stage = -1;         // the model's training stage whose data the loader holds (-1: none yet)
  std::optional<TensorDataset> stage_validation;  // the validation data of that stage
  // Data-parallel runs (TrainOptions::distributed); null otherwise.
  distributed::Communicator* comm = nullptr;
  std::unique_ptr<distributed::Communicator> nccl;  // over the MPI world, when GPUs reduce over NCCL
  std::unique_ptr<distributed::GradientReducer> reducer;
  int rank() const { return comm ? comm->rank() : 0; }
  int world_size() const { return comm ? comm->world_size() : 1; }
  bool writes_files() const { return rank() == 0; }  // rank 0 alone writes the run folder
};

// TrainOptions::distributed_backend: a distributed run on GPUs reduces over NCCL (replacing
// run.comm by an NCCL communicator over the MPI world) or through host copies over MPI. Every rank
// takes the same path: one rank without NCCL means MPI for all.
void choose_gpu_communicator(Run& run, const TrainOptions& options) {
  const std::string& via = options.distributed_backend;
  STRATA_CHECK(via == "auto" || via == "nccl" || via == "mpi", "train --distributed-backend: unknown backend \"", via,
               "\" (valid: auto, nccl, mpi)");
  STRATA_CHECK(!run.comm || via != "nccl" || run.device.is_cuda(), "train --distributed-backend nccl: NCCL "
               "reduces GPU tensors; train with --device cuda");
  if (!run.comm || !run.device.is_cuda()) return;
  std::vector<double> without_nccl{distributed::nccl_available() ? 0.0 : 1.0};
  run.comm->all_reduce_sum(without_nccl);
  STRATA_CHECK(via != "nccl" || without_nccl[0] == 0, "train --distributed-backend nccl: ", without_nccl[0],
               " process(es) cannot use NCCL (", distributed::nccl_available() ? "not this one" :
               "this one: no NCCL in this build's CUDA backend, or no usable GPU", ")");
  if (via == "nccl" || (via == "auto" && without_nccl[0] == 0)) {
    run.nccl = distributed::make_nccl_communicator(*run.comm, run.device);
    run.comm = run.nccl.get();
  }
}

void build(Run& run, const RunConfig& config, const fs::path& dir, const TrainOptions& options) {
  validate(config);
  run.config = config;
  run.dir = dir;
  if (options.distributed) {
    run.comm = &distributed::world();
    run.comm->set_timeout_seconds(options.distributed_timeout);
  }
  if (options.threads > 0) set_num_threads(options.threads);
  else if (config.threads > 0) set_num_threads(config.threads);
  else if (run.comm && run.comm->local_world_size() > 1)  // the node's cores shared among its ranks
    set_num_threads(std::max(1, get_num_threads() / run.comm->local_world_size()));
  manual_seed(config.seed);  // the model's initial weights
  run.data = load_data(config);
  run.model = make_model(config, *run.data);
  if (!options.device.is_cpu()) {
    STRATA_CHECK(run.model->auxiliary_optimizers().empty(), "train --device ", options.device.str(), ": ",
                 config.model, "'s second optimizer (", run.model->auxiliary_optimizers().begin()->first,
                 ") is made with the model, on the CPU; train it with --device cpu");
    run.model->module().to(options.device);
  }
  run.device = options.device;
  choose_gpu_communicator(run, options);
  run.adam = std::make_unique<optim::Adam>(run.model->parameters(), optim::AdamOptions{.lr = config.lr});
  run.loader = std::make_unique<DataLoader>(run.data->train, DataLoaderOptions{.batch_size = config.batch_size,
                                                                               .shuffle = true,
                                                                               .drop_last = true,
                                                                               .seed = config.seed,
                                                                               .world_size = run.world_size(),
                                                                               .rank = run.rank()});
  STRATA_CHECK(run.loader->num_batches() > 0, "train: ", run.loader->examples_per_epoch(),
               " training examples", run.comm ? " per rank" : "", " do not fill one batch of ", config.batch_size);
  run.noise = Generator(rank_noise_seed(config, run.rank()));
  if (run.comm) {
    // Its own optimizer steps inside after_step() would need their own averaged gradients.
    STRATA_CHECK(run.model->auxiliary_optimizers().empty(), "train --distributed: ", config.model,
                 " trains a second network with its own optimizer (", run.model->auxiliary_optimizers().begin()->first,
                 "), which the gradient reducer does not average yet; train it in one process");
    run.reducer = std::make_unique<distributed::GradientReducer>(
        *run.comm, run.model->parameters(),
        distributed::GradientReducerOptions{.bucket_bytes = static_cast<int64_t>(options.distributed_bucket_mb * (1 << 20))});
  }
}

Metadata run_metadata(const Run& run, double wall_time) {
  return {{"epoch", std::to_string(run.epoch)},
          {"step_in_epoch", std::to_string(run.step_in_epoch)},
          {"global_step", std::to_string(run.global_step)},
          {"best_validation_loss", std::to_string(run.best_validation)},
          {"wall_time_s", std::to_string(wall_time)},
          {"num_classes", std::to_string(run.model->num_classes())},  // 0: not class-conditional
          {"world_size", std::to_string(run.world_size())},           // processes of a distributed run
          {"config", to_json(run.config).dump()}};
}

// A model's own optimizers (FactorVAE's discriminator's), for the checkpoint.
std::map<std::string, const optim::Optimizer*> auxiliary_optimizers(const Run& run) {
  std::map<std::string, const optim::Optimizer*> out;
  for (const auto& [name, optimizer] : run.model->auxiliary_optimizers()) out[name] = optimizer;
  return out;
}

void save(const Run& run, const std::string& name, double wall_time) {
  if (!run.writes_files()) return;
  save_checkpoint(run.dir / "checkpoints" / (name + ".safetensors"), run.model->module(), run.adam.get(),
                  {{"noise", &run.noise}}, run_metadata(run, wall_time), {{"train", run.loader.get()}},
                  auxiliary_optimizers(run));
}

double number(const Metadata& m, const char* key) {
  const auto it = m.find(key);
  STRATA_CHECK(it != m.end(), "checkpoint: metadata has no \"", key, "\"");
  // std::stod's own exceptions would reach the user as a bare "stod".
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(it->second, &used);
  } catch (const std::exception&) {
  }
  STRATA_CHECK(used > 0 && used == it->second.size(), "checkpoint: metadata \"", key, "\" is \"", it->second,
               "\", not a number");
  return value;
}

// A step or epoch count from the metadata (a cast of an out-of-range double would be undefined).
int64_t count(const Metadata& m, const char* key) {
  const double v = number(m, key);
  STRATA_CHECK(v >= 0 && v <= 9007199254740992.0 && v == std::floor(v), "checkpoint: metadata \"", key,
               "\" is ", v, ", not a count");
  return static_cast<int64_t>(v);
}

// Sums over a dataset of the loss terms (in loss_names() order), with the noise fixed by `seed` so
// evaluations compare. dataset_size: of the whole set, when `data` is one rank's part of it.
std::vector<double> sum_loss_terms(Trainable& model, const TensorDataset& data, int64_t dataset_size, uint64_t seed) {
  NoGradGuard no_grad;
  model.module().eval();
  model.set_dataset_size(dataset_size);
  Generator gen(seed);
  const size_t names = model.loss_names().size();
  std::vector<double> totals(names, 0.0);
  const Device device = model.module().device();
  for (const Batch& host_batch : DataLoader(data, {.batch_size = kEvalBatch})) {
    const Batch batch = on_device(host_batch, device);
    const LossTerms terms = model.labelled_loss_terms(batch.inputs, batch.labels, &gen);
    STRATA_CHECK(terms.size() == names, "evaluate: the model returned ", terms.size(), " loss terms but names ",
                 names);
    const double n = static_cast<double>(batch.inputs.size(0));
    for (size_t i = 0; i < names; ++i) totals[i] += terms[i].second.item<double>() * n;
  }
  model.module().train();
  return totals;
}

std::vector<std::pair<std::string, double>> named_means(const Trainable& model, const std::vector<double>& totals,
                                                        int64_t count) {
  std::vector<std::pair<std::string, double>> out;
  const std::vector<std::string> names = model.loss_names();
  for (size_t i = 0; i < names.size(); ++i) out.push_back({names[i], totals[i] / static_cast<double>(count)});
  return out;
}

// Mean loss terms over a dataset, with the noise fixed by the run's seed so evaluations compare.
std::vector<std::pair<std::string, double>> evaluate(Trainable& model, const TensorDataset& data, uint64_t seed) {
  return named_means(model, sum_loss_terms(model, data, data.size(), seed), data.size());
}

// The same over the ranks of a distributed run: rank r evaluates the r-th contiguous part of the
// data with the noise of seed + r, and the sums are reduced. For a deterministic loss it is the
// one-process figure up to float rounding; for a noisy one a draw of the same estimate.
std::vector<std::pair<std::string, double>> evaluate(Run& run, const TensorDataset& data, uint64_t seed) {
  if (!run.comm) return evaluate(*run.model, data, seed);
  const int64_t n = data.size(), w = run.world_size(), r = run.rank();
  const int64_t begin = n * r / w, end = n * (r + 1) / w;
  const TensorDataset part(narrow(data.inputs(), 0, begin, end - begin),
                           data.labels().defined() ? narrow(data.labels(), 0, begin, end - begin) : Tensor());
  std::vector<double> totals =
      end > begin ? sum_loss_terms(*run.model, part, n, seed + static_cast<uint64_t>(r))
                  : std::vector<double>(run.model->loss_names().size(), 0.0);
  run.comm->all_reduce_sum(totals);
  return named_means(*run.model, totals, n);
}

// Flat [n, C*H*W] images as [n, C, H, W] for a grid.
Tensor as_images(const Tensor& flat, const DataSplits& data) {
  return reshape(flat, {flat.size(0), data.image_channels, data.image_height, data.image_width});
}

// About n samples as a picture grid: 8 per row, or for a class-conditional model one row per class
// (n / classes samples of each, at least one).
void save_sample_grid(Trainable& model, const DataSplits& data, int64_t n, Generator* gen, const std::string& path) {
  const int64_t classes = model.num_classes();
  if (classes == 0) {
    io::save_image_grid(path, as_images(model.sample(n, gen), data), 8);
    return;
  }
  const int64_t per_class = std::max<int64_t>(1, n / classes);
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < classes; ++c) labels.insert(labels.end(), static_cast<size_t>(per_class), c);
  const Tensor y = from_vector(labels, {static_cast<int64_t>(labels.size())}, model.module().device());
  io::save_image_grid(path, as_images(model.labelled_sample(y, gen), data), per_class);
}

// Samples beside the held-out points, for 2-D data.
void write_scatter(Trainable& model, const DataSplits& data, int64_t n, uint64_t seed, const std::string& path) {
  NoGradGuard no_grad;
  Generator gen(seed);
  const Tensor held_out = narrow(data.validation.inputs(), 0, 0, std::min(n, data.validation.size()));
  save_scatter_png(path, {held_out, to_device(model.sample(n, &gen), Device::cpu())});
}

void write_pictures(Run& run) {
  if (run.data->points_2d) {
    char name[32];
    std::snprintf(name, sizeof name, "epoch_%03lld.png", static_cast<long long>(run.epoch));
    run.model->module().eval();
    write_scatter(*run.model, *run.data, 2000, picture_seed(run.config), (run.dir / "samples" / name).string());
    run.model->module().train();
    return;
  }
  if (run.data->image_height == 0) return;
  NoGradGuard no_grad;
  run.model->module().eval();
  char name[32];
  std::snprintf(name, sizeof name, "epoch_%03lld.png", static_cast<long long>(run.epoch));
  Generator gen(picture_seed(run.config));
  const int64_t n = run.config.samples;
  if (run.model->has_prior()) save_sample_grid(*run.model, *run.data, n, &gen, (run.dir / "samples" / name).string());
  if (!run.model->has_reconstruction()) {  // a classifier: nothing to picture
    run.model->module().train();
    return;
  }
  // Reconstructions: rows of inputs above rows of their reconstructions.
  const int64_t half = std::max<int64_t>(1, std::min(n / 2, run.data->validation.size()));
  const Tensor x = narrow(run.data->validation.inputs(), 0, 0, half);
  const Tensor labels = run.data->validation.labels().defined() ? narrow(run.data->validation.labels(), 0, 0, half) : Tensor();
  // Latent data are codes: their picture is the autoencoder's decoding of them.
  const Tensor shown = run.data->latent ? run.data->latent->decode(x) : x;
  const Tensor reconstructed = run.model->labelled_reconstruct(on_device(x, run.device), on_device(labels, run.device));
  const Tensor both = cat({shown, to_device(reconstructed, Device::cpu())}, 0);
  io::save_image_grid((run.dir / "reconstructions" / name).string(), as_images(both, *run.data), 8);
  // Every latent dim swept over [-3, 3] around the code of the first held-out example.
  if (run.model->autoencoder()) write_traversal_grid(*run.model, *run.data, {}, (run.dir / "traversals" / name).string());
  run.model->module().train();
}

std::vector<std::string> metric_columns(const Trainable& model) {
  std::vector<std::string> columns{"step", "epoch", "wall_time_s"};
  for (const auto& name : model.loss_names()) columns.push_back(name);
  for (const auto& name : model.after_step_names()) columns.push_back(name);
  columns.push_back("lr");
  for (const auto& name : model.loss_names()) columns.push_back("val_" + name);
  return columns;
}

void write_curves(const Run& run) {
  const MetricsTable table = read_metrics_csv(run.dir / "metrics.csv");
  const std::vector<double>& steps = table.column("step");
  CurveSeries train{"training loss", {}, {}, "#1f77b4", CurveStyle::Line};
  CurveSeries val{"validation loss", {}, {}, "#d62728", CurveStyle::Markers};
  for (size_t r = 0; r < table.rows(); ++r) {
    if (const double v = table.column("loss")[r]; !std::isnan(v)) train.x.push_back(steps[r]), train.y.push_back(v);
    if (const double v = table.column("val_loss")[r]; !std::isnan(v)) val.x.push_back(steps[r]), val.y.push_back(v);
  }
  std::vector<CurveSeries> series;
  if (!train.x.empty()) series.push_back(train);
  if (!val.x.empty()) series.push_back(val);
  if (series.empty()) return;
  write_loss_curves_svg((run.dir / "curves.svg").string(), run.config.model + " on " + run.config.data, series,
                        {.x_label = "step", .y_label = "loss per example (nats)", .log_y = true});
}

// Staged models (Local Flow Matching) train each stage on its own transform of the data, and a
// stage begins only at an epoch start. Called at every epoch start (and so after a resume); it
// swaps the loader's data when the stage changes, keeping the loader's position, so a resumed run
// sees the batches an uninterrupted one would. The best checkpoint is chosen within the latest stage.
void enter_stage(Run& run) {
  const int64_t stage = run.model->stage_of_epoch(run.epoch);
  if (stage == run.stage) return;
  const bool starting =
      run.step_in_epoch == 0 && (run.epoch == 0 || run.model->stage_of_epoch(run.epoch - 1) != stage);
  run.model->set_stage(stage, starting);
  if (starting && run.epoch > 0) run.best_validation = std::numeric_limits<double>::infinity();
  if (!dynamic_cast<const TensorDataset*>(run.data->train.get())) {
    // Data made on demand (dsprites) are used as they come: no stage may transform them.
    STRATA_CHECK(run.model->stage_of_epoch(run.config.epochs - 1) == 0, run.config.model,
                 " trains in stages on transformed data, which needs the training data in memory, not ",
                 run.config.data, "'s images made on demand");
    run.stage_validation = run.data->validation;
    run.stage = stage;
    return;
  }
  const TensorDataset& data = run.data->train_in_memory("training in stages");
  Tensor train, validation;
  {
    NoGradGuard no_grad;
    // Through the model on its device, back to host memory for the loader.
    train = to_device(run.model->stage_data(stage, on_device(data.inputs(), run.device)), Device::cpu());
    validation =
        to_device(run.model->stage_data(stage, on_device(run.data->validation.inputs(), run.device)), Device::cpu());
  }
  auto loader = std::make_unique<DataLoader>(TensorDataset(train, data.labels()), run.loader->options());
  loader->restore(run.loader->state());
  run.loader = std::move(loader);
  run.stage_validation = TensorDataset(validation, run.data->validation.labels());
  run.stage = stage;
}

TrainResult train_loop(Run& run, const TrainOptions& options, bool resuming) {
  std::ostream silent(nullptr);  // ranks other than 0 print nothing
  std::ostream& out = !run.writes_files() ? silent : options.log ? *options.log : std::cout;  // tests capture it
  SigintScope sigint;
  AnomalyGuard anomaly(run.config.detect_anomaly);
  const int64_t steps_per_epoch = run.loader->num_batches();
  std::optional<MetricsLog> metrics;
  if (run.writes_files())
    metrics = resuming ? MetricsLog::resume(run.dir / "metrics.csv", metric_columns(*run.model), run.global_step)
                       : MetricsLog(run.dir / "metrics.csv", metric_columns(*run.model));
  ProgressOptions progress_options{.out = &out, .terminal = std::nullopt, .log_every = run.config.log_every};
  if (options.log || !run.writes_files()) progress_options.terminal = false;
  if (run.comm) {
    run.reducer->broadcast_parameters(0);  // identical starting points, whatever each rank built or loaded
    out << "distributed: " << run.world_size() << " processes x batch " << run.config.batch_size << " = global batch "
        << run.world_size() * run.config.batch_size << ", " << get_num_threads() << " thread(s) each\n";
  }
  ProgressReporter progress(run.config.epochs, steps_per_epoch, progress_options);
  const auto start = std::chrono::steady_clock::now();
  auto wall = [&] {
    return run.wall_time + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  TrainResult result;

  auto stop_here = [&] {
    save(run, "latest", wall());
    progress.finish();
    progress.message(detail::concat("stopped at step ", run.global_step, " (epoch ", run.epoch + 1, ", batch ",
                                    run.step_in_epoch, " of ", steps_per_epoch,
                                    "); continue with: strata train --resume ", run.dir.string()));
    result.interrupted = true;
  };
  // A distributed run stops where any rank was asked to (each rank's request travels with the
  // step's metrics), so all ranks stop after the same step.
  bool peer_asked_to_stop = false;
  auto should_stop = [&] {
    return stop_requested.load() || peer_asked_to_stop ||
           (options.stop_after_steps > 0 && run.global_step >= options.stop_after_steps);
  };

  while (run.epoch < run.config.epochs && !result.interrupted) {
    if (should_stop()) {
      stop_here();
      break;
    }
    enter_stage(run);
    if (run.step_in_epoch == 0) run.loader->start_epoch();
    BatchPrefetcher batches(*run.loader, run.step_in_epoch, steps_per_epoch);
    for (int64_t i = run.step_in_epoch; i < steps_per_epoch; ++i) {
      // Not before the first batch of an epoch: a checkpoint there could not tell a started epoch
      // from one still to start (the top of the epoch loop covers that moment).
      if (i > 0 && should_stop()) {
        stop_here();
        break;
      }
      const Batch batch = on_device(*batches.next(), run.device);
      run.adam->zero_grad();
      run.model->set_step(run.global_step);
      run.model->set_dataset_size(run.data->train->size());
      LossTerms terms = run.model->labelled_loss_terms(batch.inputs, batch.labels, &run.noise);
      if (run.reducer) run.reducer->begin_step();
      terms[0].second.backward();
      if (run.reducer) run.reducer->finish_step();  // every .grad() is now the mean over ranks
      if (run.config.clip_grad_norm > 0) optim::clip_grad_norm_(run.adam->params(), run.config.clip_grad_norm);
      run.adam->step();
      for (auto& term : run.model->after_step(&run.noise)) terms.push_back(std::move(term));
      // Buffers (batch-norm statistics, VQ-VAE's EMA codebook) saw only this rank's batch: their
      // mean keeps the ranks' models identical. (DDP broadcasts rank 0's instead.) Neither equals
      // what one process would compute from the global batch.
      if (run.comm) distributed::all_reduce_mean(*run.comm, run.model->module().buffers());
      ++run.global_step;
      run.step_in_epoch = i + 1;
      std::map<std::string, double> row{{"step", static_cast<double>(run.global_step)},
                                        {"epoch", static_cast<double>(run.epoch + 1)},
                                        {"wall_time_s", wall()},
                                        {"lr", run.adam->lr()}};
      std::vector<double> values;
      for (const auto& [name, value] : terms) values.push_back(value.item<double>());
      if (run.comm) {  // the global batch's terms (the mean of the ranks' means), and the stop requests
        values.push_back(stop_requested.load() ? 1.0 : 0.0);
        run.comm->all_reduce_sum(values);
        peer_asked_to_stop = values.back() > 0;
        values.pop_back();
        for (double& v : values) v /= run.world_size();
      }
      std::vector<std::pair<std::string, double>> shown;
      for (size_t t = 0; t < terms.size(); ++t) {
        row[terms[t].first] = values[t];
        shown.push_back({terms[t].first, values[t]});
      }
      if (metrics) metrics->append(row);
      progress.update(run.epoch + 1, run.step_in_epoch, batch.inputs.size(0) * run.world_size(), shown);
      // Mid-epoch checkpoints bound what a crash (kill -9, power loss) can lose; the last step of
      // an epoch is left to the epoch-end checkpoint, which also holds the validation result.
      if (run.config.checkpoint_every > 0 && run.global_step % run.config.checkpoint_every == 0 &&
          run.step_in_epoch < steps_per_epoch)
        save(run, "latest", wall());
    }
    if (result.interrupted) break;
    progress.finish();

    const auto val = evaluate(run, *run.stage_validation, eval_seed(run.config));
    ++run.epoch;
    run.step_in_epoch = 0;
    std::map<std::string, double> row{{"step", static_cast<double>(run.global_step)},
                                      {"epoch", static_cast<double>(run.epoch)},
                                      {"wall_time_s", wall()}};
    std::string line = detail::concat("epoch ", run.epoch, "/", run.config.epochs, " ", run.data->validation_name, ":");
    for (const auto& [name, value] : val) {
      row["val_" + name] = value;
      line += " " + name + " " + format_metric(value);
    }
    progress.message(line);
    if (metrics) metrics->append(row);
    const int64_t every = run.config.pictures_every;
    if (run.writes_files() && (run.epoch == run.config.epochs || (every > 0 && run.epoch % every == 0)))
      write_pictures(run);
    const double val_loss = val.front().second;
    const bool improved = val_loss < run.best_validation;
    if (improved) run.best_validation = val_loss;
    save(run, "latest", wall());
    if (improved) save(run, "best", wall());
    if (run.writes_files()) write_curves(run);
  }
  result.global_step = run.global_step;
  result.epochs_completed = run.epoch;
  result.best_validation_loss = run.best_validation;
  return result;
}

}  // namespace

Device resolve_device(const std::string& name, bool distributed) {
  const bool explicit_index = name.rfind("cuda:", 0) == 0;
  if (name != "cpu" && name != "auto" && name != "cuda") {
    const std::string index = explicit_index ? name.substr(5) : "";
    const bool digits = !index.empty() && index.size() <= 3 && index.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) throw Error("--device: unknown device \"" + name + "\" (valid: auto, cpu, cuda, cuda:N)");
    STRATA_CHECK(!distributed, "--device ", name, " --distributed: every process would use that one GPU; give "
                 "--device cuda, and each process takes the GPU of its local rank");
    return Device::cuda(std::stoi(index));
  }
  if (name == "cpu") return Device::cpu();
  if (!distributed) return name == "cuda" || cuda_is_available() ? Device::cuda() : Device::cpu();
  // Each process of a job takes the GPU of its local rank, as with PyTorch. All ranks must agree:
  // a job with some ranks on GPUs and some on CPUs would pair up different collectives.
  distributed::Communicator& world = distributed::world();
  const int local_rank = world.local_rank();
  std::vector<double> without_gpu{cuda_device_count() > local_rank ? 0.0 : 1.0};
  world.all_reduce_sum(without_gpu);
  if (name == "auto") return without_gpu[0] == 0 ? Device::cuda(local_rank) : Device::cpu();
  STRATA_CHECK(without_gpu[0] == 0, "--device cuda --distributed: ", without_gpu[0], " process(es) have no GPU of ",
               "their own (rank ", world.rank(), " has local rank ", local_rank, " and sees ", cuda_device_count(),
               " GPU(s)); start at most as many processes per node as it has GPUs");
  return Device::cuda(local_rank);
}

TrainResult train_run(const RunConfig& config, const TrainOptions& options) {
  const fs::path dir = config.out;
  Run run;
  // Rank 0 alone looks at the folder: the others could see the config.json it has just written.
  const bool writes = !options.distributed || distributed::world().rank() == 0;
  STRATA_CHECK(!writes || !fs::exists(dir / "config.json"), "train: ", dir.string(),
               " already holds a run; continue it with --resume ", dir.string(), " or choose another --out");
  build(run, config, dir, options);
  if (writes) {
    for (const char* sub : {"checkpoints", "samples", "reconstructions"}) fs::create_directories(dir / sub);
    io::write_file_atomically(dir / "config.json", to_json(config).dump(2) + "\n");
  }
  return train_loop(run, options, false);
}

TrainResult resume_run(const std::string& run_dir, std::optional<int64_t> epochs, const TrainOptions& options) {
  const fs::path dir = run_dir;
  const fs::path latest = dir / "checkpoints" / "latest.safetensors";
  STRATA_CHECK(fs::exists(latest), "resume: ", latest.string(), " does not exist (nothing to resume in ", run_dir, ")");
  RunConfig config = load_config((dir / "config.json").string());
  const bool writes = !options.distributed || distributed::world().rank() == 0;
  if (epochs) {
    config.epochs = *epochs;
    if (writes) io::write_file_atomically(dir / "config.json", to_json(config).dump(2) + "\n");
  }
  Run run;
  build(run, config, dir, options);
  const Metadata meta = load_checkpoint(latest, run.model->module(), run.adam.get(), {{"noise", &run.noise}},
                                        {{"train", run.loader.get()}}, run.model->auxiliary_optimizers());
  // Mid-epoch, the loaders' shards and the noise streams are those of the run's number of processes.
  const auto world = meta.find("world_size");
  const int64_t saved_world = world == meta.end() ? 1 : count(meta, "world_size");
  STRATA_CHECK(saved_world == run.world_size() || count(meta, "step_in_epoch") == 0, "resume: ", run_dir,
               " stopped mid-epoch in a run of ", saved_world, " process(es); resume it with ",
               saved_world > 1 ? detail::concat("mpirun -np ", saved_world, " strata train --distributed") : std::string("one process"),
               " (a different count may continue only from an epoch's end)");
  // The checkpoint holds rank 0's noise; every rank's stream stands at the same offset.
  run.noise.set_state(rank_noise_seed(config, run.rank()), run.noise.offset());
  run.epoch = count(meta, "epoch");
  run.step_in_epoch = count(meta, "step_in_epoch");
  run.global_step = count(meta, "global_step");
  run.best_validation = number(meta, "best_validation_loss");
  run.wall_time = number(meta, "wall_time_s");
  return train_loop(run, options, true);
}

LoadedRun load_run(const std::string& run_dir, const std::string& which) {
  const fs::path dir = run_dir;
  LoadedRun r;
  r.config = load_config((dir / "config.json").string());
  r.data = load_data(r.config);
  r.model = make_model(r.config, *r.data);
  const fs::path path = dir / "checkpoints" / (which + ".safetensors");
  STRATA_CHECK(fs::exists(path), "no checkpoint ", path.string());
  const Metadata meta = load_checkpoint(path, r.model->module(), nullptr, {}, {});
  r.model->set_step(static_cast<int64_t>(number(meta, "global_step")));  // where the loss schedules stood
  r.epochs_completed = count(meta, "epoch");
  r.model->module().eval();
  return r;
}

namespace {
// The validation data of the stage the checkpoint's last epoch trained (a staged model's loss is
// that stage's); the data themselves for other models.
TensorDataset stage_validation(LoadedRun& r) {
  const int64_t stage = r.model->stage_of_epoch(std::max<int64_t>(r.epochs_completed - 1, 0));
  r.model->set_stage(stage, false);
  NoGradGuard no_grad;
  return TensorDataset(r.model->stage_data(stage, r.data->validation.inputs()), r.data->validation.labels());
}
}  // namespace

std::string sample_run_to_png(const std::string& run_dir, int64_t n, uint64_t seed, const std::string& out,
                              std::optional<double> guidance_scale) {
  LoadedRun r = load_run(run_dir, "best");
  if (guidance_scale) r.model->set_guidance_scale(*guidance_scale);
  const std::string path = out.empty() ? (fs::path(run_dir) / "samples" / "sample.png").string() : out;
  if (r.data->points_2d) {
    STRATA_CHECK(n >= 1 && n <= 100000, "sample: n must be in 1..100000 for points, got ", n);
    write_scatter(*r.model, *r.data, n, seed, path);
    return path;
  }
  STRATA_CHECK(n >= 1 && n <= 1024, "sample: n must be in 1..1024, got ", n);
  STRATA_CHECK(r.data->image_height > 0, "sample: dataset ", r.config.data, " does not hold images or 2-D points");
  NoGradGuard no_grad;
  Generator gen(seed);
  save_sample_grid(*r.model, *r.data, n, &gen, path);
  return path;
}

std::vector<std::pair<std::string, double>> evaluate_loss_terms(Trainable& model, const TensorDataset& data,
                                                                const RunConfig& config) {
  return evaluate(model, data, eval_seed(config));
}

std::vector<std::pair<std::string, double>> evaluate_run(const std::string& run_dir, const std::string& which) {
  LoadedRun r = load_run(run_dir, which);
  return evaluate(*r.model, stage_validation(r), eval_seed(r.config));
}

std::vector<std::pair<std::string, double>> evaluate_run_likelihood(const std::string& run_dir, const std::string& which,
                                                                    int64_t n, uint64_t seed) {
  LoadedRun r = load_run(run_dir, which);
  STRATA_CHECK(r.model->has_log_prob(), "eval --nll: model ", r.config.model, " has no log_prob (flows do: fm, lfm)");
  const TensorDataset& held_out = r.data->validation;
  STRATA_CHECK(n >= 2, "eval --nll: n must be at least 2, got ", n);
  n = std::min(n, held_out.size());
  const Tensor x = narrow(held_out.inputs(), 0, 0, n);
  NoGradGuard no_grad;
  Generator gen(seed);
  double log_prob_sum = 0;
  int64_t nfe_log_prob = 0;
  for (int64_t start = 0; start < n; start += kEvalBatch) {
    const Tensor batch = narrow(x, 0, start, std::min(kEvalBatch, n - start));
    log_prob_sum += sum(to_dtype(r.model->log_prob(batch, &gen), DType::Float64)).item<double>();
    nfe_log_prob = std::max(nfe_log_prob, r.model->function_evaluations());
  }
  const double nll = -log_prob_sum / static_cast<double>(n);
  // Latent data: samples, distances and likelihood are of codes; the decoded samples are also
  // compared with the autoencoder's held-out images below.
  auto* two_step = dynamic_cast<TwoStepTrainable*>(r.model.get());
  const Tensor samples = two_step ? two_step->latent_model().sample(n, &gen) : r.model->sample(n, &gen);
  const int64_t nfe_sample = r.model->function_evaluations();
  std::vector<std::pair<std::string, double>> out{{"nll", nll}};
  const int64_t dim = x.size(1);
  // Latent data: a density of codes, so no bits per pixel.
  if (r.data->image_height > 0 && !r.data->latent) out.push_back({"bits_per_dim", nll / (static_cast<double>(dim) * std::log(2.0))});
  out.push_back({"sliced_w2", models::sliced_wasserstein2(samples, x, 1000, &gen)});
  out.push_back({"mmd2", models::mmd_squared(samples, x)});
  if (two_step) {
    const Tensor images = narrow(r.data->latent->autoencoder_run().data->validation.inputs(), 0, 0, n);
    out.push_back({"decoded_sliced_w2", models::sliced_wasserstein2(two_step->codes().decode(samples), images, 1000, &gen)});
  }
  out.push_back({"nfe_log_prob", static_cast<double>(nfe_log_prob)});
  out.push_back({"nfe_sample", static_cast<double>(nfe_sample)});
  out.push_back({"examples", static_cast<double>(n)});
  nlohmann::ordered_json report = {{"run", run_dir}, {"checkpoint", which}, {"seed", seed}};
  for (const auto& [name, value] : out) report[name] = value;
  report["space"] = two_step ? "latent codes of " + r.config.latent_of : "data";
  const int64_t levels = flow_dequantize_levels(r.config);
  report["dequantization"] = levels > 0 ? detail::concat("uniform, ", levels, " levels: log p(x) = log p(y) - D log ", levels,
                                                         ", a one-draw estimate of a lower bound on the discrete log-likelihood")
                                        : std::string("none: a density of the data as given");
  io::write_file_atomically(fs::path(run_dir) / "likelihood.json", report.dump(2) + "\n");
  return out;
}

}  // namespace strata::training
