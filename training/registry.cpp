#include "training/registry.h"

#include <algorithm>
#include <cmath>

#include "engine/creation.h"
#include "engine/data/fashion_mnist.h"
#include "engine/io/safetensors.h"
#include "models/autoencoders/ae.h"
#include "models/autoencoders/dae.h"
#include "models/autoencoders/vae.h"
#include "models/flows/flow_matching.h"
#include "models/flows/local_flow_matching.h"
#include "models/flows/toy_data.h"
#include "models/flows/velocity_mlp.h"
#include "ops/ops.h"

namespace strata::training {

namespace {

// Any member of the autoencoder family as the trainer sees it. Pictures need values in [0, 1]:
// Bernoulli means already are, Gaussian means are clamped.
class AutoencoderTrainable final : public Trainable {
 public:
  explicit AutoencoderTrainable(std::shared_ptr<models::Autoencoder> model) : model_(std::move(model)) {}
  nn::Module& module() override { return *model_; }
  std::vector<std::string> loss_names() const override { return model_->loss_names(); }
  LossTerms loss_terms(const Tensor& x, Generator* gen) override { return model_->loss(x, gen); }
  Tensor sample(int64_t n, Generator* gen) override { return clamp(model_->sample(n, gen), 0.0, 1.0); }
  Tensor reconstruct(const Tensor& x) override { return clamp(model_->reconstruct(x), 0.0, 1.0); }
  bool has_prior() const override { return model_->has_prior(); }
  void set_step(int64_t step) override { model_->set_step(step); }

 private:
  std::shared_ptr<models::Autoencoder> model_;
};

// The beta a model uses: the configured one, or the model's paper default.
double resolved_beta(const RunConfig& c) {
  if (c.beta > 0) return c.beta;
  return c.model == "beta-vae" ? 4.0 : 1.0;  // Higgins et al. 2017 use beta = 4 on dSprites
}

models::AutoencoderOptions autoencoder_options(const RunConfig& c, int64_t input_dim) {
  const std::string arch = c.arch == "auto" ? (c.model == "cae" ? "conv" : "mlp") : c.arch;
  models::ArchitectureSpec spec = models::parse_architecture(arch) == models::ArchitectureKind::Conv
                                      ? models::ArchitectureSpec::conv()
                                      : models::ArchitectureSpec::mlp(c.hidden);
  return {.input_dim = input_dim,
          .latent_dim = c.latent,
          .architecture = spec,
          .likelihood = {models::parse_likelihood(c.likelihood), c.gaussian_sigma}};
}

models::VaeOptions vae_options(const RunConfig& c) {
  return {.beta = resolved_beta(c),
          .warmup = {.kind = models::parse_warmup(c.kl_warmup), .steps = c.kl_warmup_steps},
          .capacity = {.max_nats = c.capacity_max, .steps = c.capacity_steps, .gamma = c.capacity_gamma}};
}

models::Corruption corruption(const RunConfig& c) {
  return {.kind = models::parse_corruption(c.corruption), .sigma = c.noise_sigma, .fraction = c.corruption_fraction};
}

// A flow model as the trainer sees it. Samples are returned as they are (points, or pixel values
// that picture grids clamp to [0, 1]); a "reconstruction" is the flow's round trip, data to noise
// and back, which returns x up to the solver's error.
class FlowTrainable final : public Trainable {
 public:
  explicit FlowTrainable(std::shared_ptr<models::FlowModel> model) : model_(std::move(model)) {}
  nn::Module& module() override { return *model_; }
  std::vector<std::string> loss_names() const override { return model_->loss_names(); }
  LossTerms loss_terms(const Tensor& x, Generator* gen) override { return model_->loss(x, gen); }
  Tensor sample(int64_t n, Generator* gen) override { return model_->sample(n, gen); }
  Tensor reconstruct(const Tensor& x) override { return model_->from_noise(model_->to_noise(x)); }
  bool has_log_prob() const override { return true; }
  Tensor log_prob(const Tensor& x, Generator* gen) override { return model_->log_prob(x, gen); }
  int64_t function_evaluations() const override { return model_->last_function_evaluations(); }
  int64_t stage_of_epoch(int64_t epoch) const override { return model_->stage_of_epoch(epoch); }
  void set_stage(int64_t stage, bool starting) override { model_->set_stage(stage, starting); }
  Tensor stage_data(int64_t stage, const Tensor& data) override { return model_->stage_data(stage, data); }

 private:
  std::shared_ptr<models::FlowModel> model_;
};

bool is_flow_model(const std::string& model) { return model == "fm" || model == "lfm"; }

// The OU step sizes of an lfm run: the configured ones, or the notes' 2-D schedule of the authors'
// code (0.025, 0.031, ..., 0.119: about x1.25 per block) cut or extended by x1.25 to blocks - 1 steps.
std::vector<double> lfm_step_sizes(const RunConfig& c) {
  if (!c.step_sizes.empty()) return c.step_sizes;
  std::vector<double> h = models::LocalFlowMatchingOptions{}.step_sizes;
  if (c.blocks == 0) return h;
  while (static_cast<int64_t>(h.size()) < c.blocks - 1) h.push_back(h.back() * 1.25);
  h.resize(static_cast<size_t>(std::max<int64_t>(c.blocks - 1, 0)));
  return h;
}

models::FlowSolverOptions flow_solver(const RunConfig& c) {
  return {.ode = {.method = models::parse_ode_method(c.solver), .steps = c.solver_steps, .rtol = c.rtol, .atol = c.atol},
          .divergence = models::parse_divergence_method(c.divergence)};
}

models::Interpolant flow_interpolant(const RunConfig& c) {
  if (c.interpolant == "auto") return c.model == "lfm" ? models::Interpolant::Trig : models::Interpolant::Linear;
  return models::parse_interpolant(c.interpolant);
}

std::unique_ptr<Trainable> make_flow_model(const RunConfig& c, int64_t input_dim) {
  const models::VelocityMlpOptions net{.dim = input_dim, .hidden = c.velocity_hidden, .time_features = c.time_features};
  if (c.model == "fm") {
    auto fm = std::make_shared<models::FlowMatching>(std::make_shared<models::VelocityMlp>(net),
                                                     models::FlowMatchingOptions{.interpolant = flow_interpolant(c),
                                                                                 .coupling = models::parse_coupling(c.coupling),
                                                                                 .sinkhorn_epsilon = c.sinkhorn_epsilon,
                                                                                 .solver = flow_solver(c)});
    return std::make_unique<FlowTrainable>(std::move(fm));
  }
  const std::vector<double> steps = lfm_step_sizes(c);
  std::vector<std::shared_ptr<models::VelocityField>> blocks;
  for (size_t i = 0; i <= steps.size(); ++i) blocks.push_back(std::make_shared<models::VelocityMlp>(net));
  auto lfm = std::make_shared<models::LocalFlowMatching>(
      std::move(blocks), models::LocalFlowMatchingOptions{.step_sizes = steps,
                                                          .interpolant = flow_interpolant(c),
                                                          .block_epochs = c.block_epochs,
                                                          .solver = flow_solver(c)});
  return std::make_unique<FlowTrainable>(std::move(lfm));
}

void validate_flow_settings(const RunConfig& c) {
  STRATA_CHECK(!c.velocity_hidden.empty(), "velocity_hidden must list at least one layer width");
  for (int64_t h : c.velocity_hidden) STRATA_CHECK(h >= 1, "velocity_hidden widths must be at least 1, got ", h);
  STRATA_CHECK(c.time_features >= 0 && c.time_features % 2 == 0,
               "time_features must be 0 (raw t) or an even number of sinusoidal features, got ", c.time_features);
  STRATA_CHECK(c.interpolant == "auto" || c.interpolant == "linear" || c.interpolant == "trig", "unknown interpolant \"",
               c.interpolant, "\" (valid: auto, linear, trig)");
  const models::Coupling coupling = models::parse_coupling(c.coupling);
  STRATA_CHECK(!(c.model == "lfm" && coupling != models::Coupling::Independent), "coupling ", c.coupling,
               " is for fm; lfm pairs its samples by the OU process");
  STRATA_CHECK(c.sinkhorn_epsilon > 0 && std::isfinite(c.sinkhorn_epsilon), "sinkhorn_epsilon must be a positive number, got ",
               c.sinkhorn_epsilon);
  STRATA_CHECK(c.blocks >= 0, "blocks must be at least 1 (0: one more than the step sizes), got ", c.blocks);
  for (double h : c.step_sizes) STRATA_CHECK(h > 0 && std::isfinite(h), "step_sizes must be positive numbers, got ", h);
  STRATA_CHECK(c.step_sizes.empty() || c.blocks == 0 || c.blocks == static_cast<int64_t>(c.step_sizes.size()) + 1,
               "blocks ", c.blocks, " does not match ", c.step_sizes.size(), " step sizes (blocks = step sizes + 1, the free block)");
  STRATA_CHECK(c.block_epochs >= 1, "block_epochs must be at least 1, got ", c.block_epochs);
  const models::FlowSolverOptions solver = flow_solver(c);
  solver.ode.validate("solver");
  if (c.model == "lfm") {
    const int64_t blocks = static_cast<int64_t>(lfm_step_sizes(c).size()) + 1;
    STRATA_CHECK(c.epochs >= blocks * c.block_epochs, "lfm trains ", blocks, " blocks for ", c.block_epochs,
                 " epoch(s) each: epochs must be at least ", blocks * c.block_epochs, ", got ", c.epochs);
  }
}

TensorDataset first_rows(const TensorDataset& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  const Tensor idx = arange(static_cast<double>(n));
  Batch b = d.gather(idx);
  return TensorDataset(b.inputs, b.labels);
}

}  // namespace

std::vector<NamedEntry> models() {
  return {{"ae", "autoencoder: deterministic code, reconstruction loss (mlp; --arch conv for images)"},
          {"cae", "convolutional autoencoder: the ae objective on the W2 conv encoder/decoder (28x28 or 64x64)"},
          {"dae", "denoising autoencoder (Vincent et al. 2008): reconstructs x from a corrupted copy (--corruption)"},
          {"vae", "variational autoencoder (Kingma & Welling 2014); --beta, --capacity-max, --kl-warmup"},
          {"beta-vae", "beta-VAE (Higgins et al. 2017), beta 4 unless --beta; --capacity-max: Burgess et al. 2018"},
          {"fm", "flow matching (Lipman et al. 2023): noise -> data; --interpolant, --coupling, --solver"},
          {"lfm", "Local Flow Matching (Xu et al. 2024): --blocks OU blocks trained in turn; --step-sizes, --block-epochs"}};
}

std::vector<NamedEntry> datasets() {
  return {{"fashion-mnist", "Fashion-MNIST 28x28 (Debian dataset-fashion-mnist); validation = its test split"},
          {"tensors:FILE", "a safetensors file with float32 [N, D] tensors \"train\" and optionally \"validation\""},
          {"toy:NAME", "2-D toy data: 8gaussians, moons, checkerboard, spirals, pinwheel, rings"}};
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : models()) names.push_back(m.name);
  return names;
}

std::vector<std::string> dataset_names() { return {"fashion-mnist"}; }

std::unique_ptr<Trainable> make_model(const RunConfig& config, int64_t input_dim) {
  validate_model_settings(config);
  if (is_flow_model(config.model)) return make_flow_model(config, input_dim);
  const models::AutoencoderOptions options = autoencoder_options(config, input_dim);
  std::shared_ptr<models::Autoencoder> model;
  if (config.model == "ae") model = std::make_shared<models::Ae>(options);
  else if (config.model == "cae") model = std::make_shared<models::Ae>(options, nullptr, "CAE");
  else if (config.model == "dae") model = std::make_shared<models::Dae>(options, corruption(config));
  else if (config.model == "vae") model = std::make_shared<models::Vae>(options, vae_options(config));
  else if (config.model == "beta-vae") model = std::make_shared<models::Vae>(options, vae_options(config), nullptr, "beta-VAE");
  else throw Error(detail::concat("unknown model \"", config.model, "\""));
  return std::make_unique<AutoencoderTrainable>(std::move(model));
}

void validate_model_settings(const RunConfig& c) {
  STRATA_CHECK(c.arch == "auto" || c.arch == "mlp" || c.arch == "conv", "unknown arch \"", c.arch,
               "\" (valid: auto, mlp, conv)");
  STRATA_CHECK(!(c.model == "cae" && c.arch == "mlp"), "cae is the convolutional autoencoder; for an mlp use --model ae");
  models::parse_likelihood(c.likelihood);
  STRATA_CHECK(c.gaussian_sigma > 0 && std::isfinite(c.gaussian_sigma), "gaussian_sigma must be a positive number, got ",
               c.gaussian_sigma);
  STRATA_CHECK(c.beta >= 0 && std::isfinite(c.beta), "beta must be >= 0 (0: the model's default), got ", c.beta);
  const models::VaeOptions v = vae_options(c);
  v.warmup.validate(c.model);
  v.capacity.validate(c.model);
  corruption(c).validate(c.model);
  validate_flow_settings(c);
}

DataSplits load_data(const RunConfig& config) {
  if (config.data == "fashion-mnist") {
    return {first_rows(load_fashion_mnist("train"), config.limit_train), load_fashion_mnist("test"), 28, 28, "test"};
  }
  if (config.data.rfind("toy:", 0) == 0) {
    const std::string name = config.data.substr(4);
    Generator train_gen(1), held_out_gen(2);  // fixed seeds: the same data whatever the run's seed
    DataSplits splits{first_rows(TensorDataset(models::sample_toy_distribution(name, 20000, &train_gen)), config.limit_train),
                      TensorDataset(models::sample_toy_distribution(name, 5000, &held_out_gen)), 0, 0, "held-out"};
    splits.points_2d = true;
    return splits;
  }
  const std::string prefix = "tensors:";
  STRATA_CHECK(config.data.rfind(prefix, 0) == 0, "unknown dataset \"", config.data, "\"");
  const std::string path = config.data.substr(prefix.size());
  const auto file = io::load_safetensors(path);
  const auto train = file.tensors.find("train");
  STRATA_CHECK(train != file.tensors.end(), "dataset ", path, ": no tensor named \"train\"");
  STRATA_CHECK(train->second.dim() == 2 && train->second.dtype() == DType::Float32, "dataset ", path,
               ": \"train\" must be float32 [N, D], got ", dtype_name(train->second.dtype()), " ",
               shape_str(train->second.shape()));
  const auto val = file.tensors.find("validation");
  const Tensor validation = val != file.tensors.end() ? val->second : train->second;
  STRATA_CHECK(validation.dim() == 2 && validation.size(1) == train->second.size(1), "dataset ", path,
               ": \"validation\" must be [M, ", train->second.size(1), "], got ", shape_str(validation.shape()));
  return {first_rows(TensorDataset(train->second), config.limit_train), TensorDataset(validation), 0, 0,
          val != file.tensors.end() ? "validation" : "validation (= train)"};
}

}  // namespace strata::training
