#include "training/registry.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "engine/creation.h"
#include "engine/data/csv.h"
#include "engine/data/dsprites.h"
#include "engine/data/fashion_mnist.h"
#include "engine/data/npy.h"
#include "engine/data/shapes3d.h"
#include "engine/data/split.h"
#include "engine/io/safetensors.h"
#include "models/autoencoders/ae.h"
#include "models/autoencoders/dae.h"
#include "models/autoencoders/factor_vae.h"
#include "models/autoencoders/info_vae.h"
#include "models/autoencoders/iwae.h"
#include "models/autoencoders/vae.h"
#include "models/autoencoders/vq_vae.h"
#include "models/autoencoders/wae.h"
#include "models/autoencoders/beta_tcvae.h"
#include "models/autoencoders/alpha_tcvae.h"
#include "models/autoencoders/dip_vae.h"
#include "models/flows/dequantization.h"
#include "models/flows/flow_matching.h"
#include "models/flows/local_flow_matching.h"
#include "models/flows/toy_data.h"
#include "models/flows/velocity_mlp.h"
#include "models/flows/velocity_unet.h"
#include "models/classifier/classifier.h"
#include "ops/ops.h"
#include "training/classifier_trainable.h"
#include "training/factor_vae_trainable.h"
#include "training/trainer.h"
#include "training/two_step.h"

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
  // Class-conditional members (CVAE) read the labels through models::GivenLabels.
  int64_t num_classes() const override { return model_->num_classes(); }
  LossTerms labelled_loss_terms(const Tensor& x, const Tensor& labels, Generator* gen) override {
    if (!model_->conditional()) return loss_terms(x, gen);
    const models::GivenLabels given(*model_, labels);
    return loss_terms(x, gen);
  }
  Tensor labelled_sample(const Tensor& labels, Generator* gen) override {
    if (!model_->conditional()) return sample(labels.size(0), gen);
    const models::GivenLabels given(*model_, labels);
    return sample(labels.size(0), gen);
  }
  Tensor labelled_reconstruct(const Tensor& x, const Tensor& labels) override {
    if (!model_->conditional()) return reconstruct(x);
    const models::GivenLabels given(*model_, labels);
    return reconstruct(x);
  }
  void set_dataset_size(int64_t n) override { model_->set_dataset_size(n); }
  models::Autoencoder* autoencoder() override { return model_.get(); }

 private:
  std::shared_ptr<models::Autoencoder> model_;
};

// The beta a model uses: the configured one, or the model's paper default.
double resolved_beta(const RunConfig& c) {
  if (c.beta > 0) return c.beta;
  if (c.model == "beta-tcvae") return 6.0;  // the TC weight; see models/autoencoders/beta_tcvae.h
  return c.model == "beta-vae" ? 4.0 : 1.0;  // Higgins et al. 2017 use beta = 4 on dSprites
}

models::AutoencoderOptions autoencoder_options(const RunConfig& c, int64_t input_dim, int64_t image_channels) {
  const std::string arch = c.arch == "auto" ? (c.model == "cae" ? "conv" : "mlp") : c.arch;
  const models::ArchitectureKind kind = models::parse_architecture(arch);
  models::ArchitectureSpec spec = kind == models::ArchitectureKind::Mlp ? models::ArchitectureSpec::mlp(c.hidden)
                                                                        : models::ArchitectureSpec::conv(image_channels);
  spec.kind = kind;
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

models::FactorVaeOptions factor_vae_options(const RunConfig& c) {
  models::FactorVaeOptions f;
  f.gamma = c.factor_gamma;
  f.discriminator_widths = c.discriminator_hidden;
  f.discriminator_optimizer.lr = c.discriminator_lr;
  return f;
}

// The classes a --conditional model is conditioned on; refuses unlabelled data, naming it.
int64_t conditioning_classes(const RunConfig& c, int64_t num_classes) {
  if (!c.conditional) return 0;
  STRATA_CHECK(num_classes > 0, "--conditional needs labelled data, but dataset ", c.data,
               " has no labels (fashion-mnist has; a tensors: file needs int64 \"train_labels\")");
  return num_classes;
}

models::Corruption corruption(const RunConfig& c) {
  return {.kind = models::parse_corruption(c.corruption), .sigma = c.noise_sigma, .fraction = c.corruption_fraction};
}

// The MMD kernel and weight of wae and info-vae: the configured ones, or the paper's.
MmdKernel resolved_mmd_kernel(const RunConfig& c) {
  if (c.mmd_kernel == "auto") return c.model == "info-vae" ? MmdKernel::Gaussian : MmdKernel::InverseMultiquadric;
  return parse_mmd_kernel(c.mmd_kernel);
}
double resolved_mmd_lambda(const RunConfig& c) {
  if (c.mmd_lambda > 0) return c.mmd_lambda;
  return c.model == "info-vae" ? 1000.0 : 10.0;  // Zhao et al. 2019; Tolstikhin et al. 2018 (MNIST)
}

models::WaeOptions wae_options(const RunConfig& c) {
  return {.lambda = resolved_mmd_lambda(c), .kernel = resolved_mmd_kernel(c)};
}

models::InfoVaeOptions info_vae_options(const RunConfig& c) {
  return {.alpha = c.info_alpha, .lambda = resolved_mmd_lambda(c), .kernel = resolved_mmd_kernel(c)};
}

models::VqVaeOptions vq_vae_options(const RunConfig& c) {
  return {.codebook_size = c.codebook_size, .code_dim = c.code_dim, .beta = c.vq_beta, .ema = c.vq_ema,
          .decay = c.vq_decay};
}

// beta-TCVAE and alpha-TCVAE share tc_estimator; "auto" is each paper's choice.
models::TcEstimator tc_estimator(const RunConfig& c) {
  if (c.tc_estimator == "auto") return c.model == "alpha-tcvae" ? models::TcEstimator::Mss : models::TcEstimator::Mws;
  return models::parse_tc_estimator(c.tc_estimator);
}

models::KlWarmup kl_warmup(const RunConfig& c) {
  return {.kind = models::parse_warmup(c.kl_warmup), .steps = c.kl_warmup_steps};
}

models::BetaTcVaeOptions beta_tcvae_options(const RunConfig& c) {
  return {.alpha = c.mi_alpha, .beta = resolved_beta(c), .gamma = c.dwkl_gamma, .estimator = tc_estimator(c),
          .warmup = kl_warmup(c)};
}

models::AlphaTcVaeOptions alpha_tcvae_options(const RunConfig& c) {
  return {.alpha = c.alpha, .beta = resolved_beta(c), .views = c.views, .form = models::parse_alpha_tc_form(c.alpha_tc_form),
          .estimator = tc_estimator(c), .warmup = kl_warmup(c)};
}

models::DipVaeOptions dip_vae_options(const RunConfig& c) {
  const models::DipType type = models::parse_dip_type(c.dip_type);
  return {.type = type, .lambda_od = c.lambda_od,
          .lambda_d = c.lambda_d > 0 ? c.lambda_d : models::DipVaeOptions::default_lambda_d(type, c.lambda_od),
          .beta = resolved_beta(c), .warmup = kl_warmup(c)};
}

// A flow model as the trainer sees it. Samples are returned as they are (points, or pixel values
// that picture grids clamp to [0, 1]); a "reconstruction" is the flow's round trip, data to noise
// and back, which returns x up to the solver's error.
//
// Discrete data (--dequantize uniform, models/flows/dequantization.h) reach the flow dequantised:
// with fresh noise at every step while the data are the raw levels (fm; lfm's first block), once
// with fixed noise before lfm pushes them through its trained blocks for a later block, and with
// fresh noise in log_prob, which then adds -D log(levels): a bound on the discrete log-likelihood.
class FlowTrainable final : public Trainable {
 public:
  FlowTrainable(std::shared_ptr<models::FlowModel> model, int64_t dequantize_levels)
      : model_(std::move(model)),
        fm_(std::dynamic_pointer_cast<models::FlowMatching>(model_)),
        levels_(dequantize_levels) {}
  nn::Module& module() override { return *model_; }
  std::vector<std::string> loss_names() const override { return model_->loss_names(); }
  LossTerms loss_terms(const Tensor& x, Generator* gen) override { return model_->loss(prepared(x, gen), gen); }
  Tensor sample(int64_t n, Generator* gen) override { return model_->sample(n, gen); }
  Tensor reconstruct(const Tensor& x) override { return model_->from_noise(model_->to_noise(x)); }
  bool has_log_prob() const override { return true; }
  Tensor log_prob(const Tensor& x, Generator* gen) override {
    if (levels_ == 0) return model_->log_prob(x, gen);
    return add(model_->log_prob(models::dequantize_uniform(x, levels_, gen), gen),
               models::dequantization_log_volume(x.size(1), levels_));
  }
  int64_t function_evaluations() const override { return model_->last_function_evaluations(); }
  int64_t stage_of_epoch(int64_t epoch) const override { return model_->stage_of_epoch(epoch); }
  void set_stage(int64_t stage, bool starting) override {
    model_->set_stage(stage, starting);
    stage_ = stage;
  }
  Tensor stage_data(int64_t stage, const Tensor& data) override {
    if (levels_ == 0 || stage == 0) return model_->stage_data(stage, data);
    Generator fixed(kStageDequantizationSeed);  // the same y every time a stage's data are made (resumes)
    return model_->stage_data(stage, models::dequantize_uniform(data, levels_, &fixed));
  }
  // fm --conditional: classifier-free guidance (flow_matching.h); samples at guidance scale w.
  int64_t num_classes() const override { return fm_ ? fm_->num_classes() : 0; }
  LossTerms labelled_loss_terms(const Tensor& x, const Tensor& labels, Generator* gen) override {
    return num_classes() > 0 ? fm_->labelled_loss(prepared(x, gen), labels, gen) : loss_terms(x, gen);
  }
  Tensor labelled_sample(const Tensor& labels, Generator* gen) override {
    return num_classes() > 0 ? fm_->labelled_sample(labels, guidance_scale_, gen) : sample(labels.size(0), gen);
  }
  void set_guidance_scale(double w) override {
    STRATA_CHECK(num_classes() > 0, "guidance scale: classifier-free guidance needs a class-conditional fm run ",
                 "(--model fm --conditional --velocity-net unet), not this ", model_->name());
    STRATA_CHECK(std::isfinite(w), "guidance scale must be a number, got ", w);
    guidance_scale_ = w;
  }

 private:
  static constexpr uint64_t kStageDequantizationSeed = 0x5eed;

  // Training data as the active stage's flow takes them: raw levels dequantised with fresh noise.
  Tensor prepared(const Tensor& x, Generator* gen) const {
    return levels_ > 0 && stage_ == 0 ? models::dequantize_uniform(x, levels_, gen) : x;
  }

  std::shared_ptr<models::FlowModel> model_;
  std::shared_ptr<models::FlowMatching> fm_;  // null for lfm
  int64_t levels_ = 0;                        // dequantisation levels; 0: continuous data, used as given
  int64_t stage_ = 0;
  double guidance_scale_ = 1.0;  // w = 1: the plain conditional field
};

bool is_flow_model(const std::string& model) { return model == "fm" || model == "lfm"; }

// The levels a flow dequantises its data from (0: none). auto: uniform for Fashion-MNIST's pixels
// (8 bits), none for continuous data (points, tables, latent codes).
int64_t dequantize_levels(const RunConfig& c) {
  const bool eight_bit_pixels = c.data == "fashion-mnist" && c.latent_of.empty();
  if (c.dequantize == "auto") return eight_bit_pixels ? 256 : 0;
  if (c.dequantize == "none") return 0;
  STRATA_CHECK(c.dequantize == "uniform", "unknown dequantize \"", c.dequantize, "\" (valid: auto, none, uniform)");
  STRATA_CHECK(eight_bit_pixels, "dequantize uniform is for 8-bit pixels (fashion-mnist), not ", c.data,
               c.latent_of.empty() ? "" : " codes");
  return 256;
}

// The feature classifier of eval --sample-quality, for labelled C x S x S images given flat.
std::unique_ptr<Trainable> make_classifier(const RunConfig& c, int64_t input_dim, int64_t num_classes,
                                           int64_t image_channels) {
  STRATA_CHECK(num_classes >= 2, "classifier: needs labelled data of at least 2 classes, but dataset ", c.data,
               " has ", num_classes, " (fashion-mnist has 10; a tensors: file needs int64 \"train_labels\")");
  STRATA_CHECK(!c.conditional, "classifier: --conditional is for generative models; a classifier reads the labels anyway");
  const int64_t pixels = image_channels >= 1 && input_dim % image_channels == 0 ? input_dim / image_channels : 0;
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pixels))));
  STRATA_CHECK(pixels > 0 && side * side == pixels && side % 4 == 0, "classifier: needs square images given flat as ",
               "C x S x S with S a multiple of 4, got ", input_dim, " features of ", image_channels, " channel(s)");
  return std::make_unique<ClassifierTrainable>(std::make_shared<models::Classifier>(
      models::ClassifierOptions{.channels = image_channels, .image_size = side, .num_classes = num_classes}));
}

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

// --velocity-net unet: the U-Net for images of C x S x S given flat (input_dim = C S^2); refuses others.
// The data are used as given (Fashion-MNIST's pixels in [0, 1]); the flow carries N(0, I) to them.
models::VelocityUnetOptions unet_options(const RunConfig& c, int64_t input_dim, int64_t num_classes,
                                         int64_t image_channels) {
  const int64_t pixels = image_channels >= 1 && input_dim % image_channels == 0 ? input_dim / image_channels : 0;
  const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pixels))));
  STRATA_CHECK(pixels > 0 && side * side == pixels, "--velocity-net unet needs square images given flat as C x S x S, got ",
               input_dim, " features of ", image_channels, " channel(s)");
  return {.channels = image_channels,
          .image_size = side,
          .base_channels = c.unet_channels,
          .time_features = c.time_features > 0 ? c.time_features : 64,
          .num_classes = num_classes};
}

// The velocity network of fm, or of one lfm block (each block its own, of one architecture).
std::shared_ptr<models::VelocityField> make_velocity_field(const RunConfig& c, int64_t input_dim, int64_t num_classes,
                                                           int64_t image_channels) {
  if (c.velocity_net == "unet")
    return std::make_shared<models::VelocityUnet>(unet_options(c, input_dim, num_classes, image_channels));
  return std::make_shared<models::VelocityMlp>(
      models::VelocityMlpOptions{.dim = input_dim, .hidden = c.velocity_hidden, .time_features = c.time_features});
}

std::unique_ptr<Trainable> make_flow_model(const RunConfig& c, int64_t input_dim, int64_t num_classes,
                                           int64_t image_channels) {
  if (c.model == "fm") {
    auto fm = std::make_shared<models::FlowMatching>(make_velocity_field(c, input_dim, num_classes, image_channels),
                                                     models::FlowMatchingOptions{.interpolant = flow_interpolant(c),
                                                                                 .coupling = models::parse_coupling(c.coupling),
                                                                                 .sinkhorn_epsilon = c.sinkhorn_epsilon,
                                                                                 .solver = flow_solver(c),
                                                                                 .p_uncond = c.p_uncond});
    return std::make_unique<FlowTrainable>(std::move(fm), dequantize_levels(c));
  }
  const std::vector<double> steps = lfm_step_sizes(c);
  std::vector<std::shared_ptr<models::VelocityField>> blocks;
  for (size_t i = 0; i <= steps.size(); ++i) blocks.push_back(make_velocity_field(c, input_dim, 0, image_channels));
  auto lfm = std::make_shared<models::LocalFlowMatching>(
      std::move(blocks), models::LocalFlowMatchingOptions{.step_sizes = steps,
                                                          .interpolant = flow_interpolant(c),
                                                          .block_epochs = c.block_epochs,
                                                          .solver = flow_solver(c)});
  return std::make_unique<FlowTrainable>(std::move(lfm), dequantize_levels(c));
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
  STRATA_CHECK(c.velocity_net == "mlp" || c.velocity_net == "unet", "unknown velocity_net \"", c.velocity_net,
               "\" (valid: mlp, unet)");
  const bool tabular = c.data.rfind("toy:", 0) == 0 || c.data.rfind("csv:", 0) == 0 || c.data.rfind("npy:", 0) == 0;
  STRATA_CHECK(!(is_flow_model(c.model) && c.velocity_net == "unet" && tabular), "--velocity-net unet needs image data ",
               "(fashion-mnist, dsprites, shapes3d, or tensors: of C x S x S images), not ", c.data,
               " (points and tables: --velocity-net mlp)");
  STRATA_CHECK(!(c.velocity_net == "unet" && !c.latent_of.empty()), "--velocity-net unet is for images; --latent-of ",
               c.latent_of, " trains on latent codes (--velocity-net mlp)");
  STRATA_CHECK(c.unet_channels >= 1, "unet_channels must be at least 1, got ", c.unet_channels);
  STRATA_CHECK(c.p_uncond >= 0 && c.p_uncond <= 1, "p_uncond must lie in [0, 1], got ", c.p_uncond);
  if (c.conditional && is_flow_model(c.model)) {
    STRATA_CHECK(c.model == "fm", "--conditional: lfm has no class-conditional form (classifier-free guidance is ",
                 "implemented for fm)");
    STRATA_CHECK(c.velocity_net == "unet", "--conditional fm needs --velocity-net unet (the velocity MLP takes no labels)");
    STRATA_CHECK(coupling == models::Coupling::Independent, "--conditional fm pairs noise and data independently; ",
                 "coupling ", c.coupling, " would reorder the data away from their labels");
  }
  const models::FlowSolverOptions solver = flow_solver(c);
  solver.ode.validate("solver");
  if (is_flow_model(c.model)) dequantize_levels(c);  // checks the setting
  if (c.model == "lfm") {
    const int64_t blocks = static_cast<int64_t>(lfm_step_sizes(c).size()) + 1;
    STRATA_CHECK(c.epochs >= blocks * c.block_epochs, "lfm trains ", blocks, " blocks for ", c.block_epochs,
                 " epoch(s) each: epochs must be at least ", blocks * c.block_epochs, ", got ", c.epochs);
  }
}

std::shared_ptr<const Dataset> first_rows(const TensorDataset& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return std::make_shared<const TensorDataset>(d);
  const Tensor idx = arange(static_cast<double>(n));
  Batch b = d.gather(idx);
  return std::make_shared<const TensorDataset>(b.inputs, b.labels);
}

// dsprites, shapes3d: all the images (737,280; 480,000) rendered on demand as the loader asks for them (--limit-train N: a
// fixed random N of them), and a fixed random 5,000 rendered once as the held-out split. The
// factor sets are complete products, so there is no published split; ours depends on no run setting.
DataSplits load_factor_data(std::shared_ptr<const FactorDataset> source, const RunConfig& config) {
  Generator held_out_gen(2), subset_gen(1);
  const int64_t held_out = std::min<int64_t>(5000, source->size());
  const Tensor validation_indices = narrow(randperm(source->size(), &held_out_gen), 0, 0, held_out);
  const Tensor subset = config.limit_train > 0 && config.limit_train < source->size()
                            ? narrow(randperm(source->size(), &subset_gen), 0, 0, config.limit_train)
                            : Tensor();
  DataSplits splits{std::make_shared<const FactorImages>(source, subset),
                    TensorDataset(source->render_indices(contiguous(validation_indices))),
                    source->image_size(), source->image_size(), "held-out"};
  splits.image_channels = source->channels();
  splits.factors = std::move(source);
  return splits;
}

// csv:FILE or npy:FILE: one matrix, of which validation_fraction of the rows (drawn with the
// run's seed) are held out.
DataSplits load_matrix_data(const RunConfig& config) {
  const bool csv = config.data.rfind("csv:", 0) == 0;
  const std::string path = config.data.substr(4);
  const Tensor rows = csv ? read_csv_matrix(path) : read_npy_matrix(path);
  STRATA_CHECK(rows.size(0) >= 2 && rows.size(1) >= 1, "dataset ", config.data, ": needs at least 2 examples of at least 1 ",
               "feature to train and validate on, got ", shape_str(rows.shape()));
  const TrainValidationSplit split = random_split(TensorDataset(rows), config.validation_fraction, config.seed);
  return {first_rows(split.train, config.limit_train), split.validation, 0, 0,
          config.validation_fraction > 0 ? "validation" : "validation (= train)"};
}

}  // namespace

int64_t flow_dequantize_levels(const RunConfig& config) { return dequantize_levels(config); }

std::vector<NamedEntry> models() {
  return {{"ae", "autoencoder: deterministic code, reconstruction loss (mlp; --arch conv for images)"},
          {"cae", "convolutional autoencoder: the ae objective on the W2 conv encoder/decoder (28x28 or 64x64)"},
          {"dae", "denoising autoencoder (Vincent et al. 2008): reconstructs x from a corrupted copy (--corruption)"},
          {"vae", "variational autoencoder (Kingma & Welling 2014); --beta, --capacity-max, --kl-warmup"},
          {"beta-vae", "beta-VAE (Higgins et al. 2017), beta 4 unless --beta; --capacity-max: Burgess et al. 2018"},
          {"factor-vae", "FactorVAE (Kim & Mnih 2018): + gamma * TC from a discriminator on permuted latents (--factor-gamma)"},
          {"iwae", "importance weighted autoencoder (Burda et al. 2016): the K-sample bound, --iw-samples K (5)"},
          {"wae", "Wasserstein autoencoder, WAE-MMD (Tolstikhin et al. 2018): --kernel imq|rbf, --mmd-lambda (10)"},
          {"info-vae", "InfoVAE / MMD-VAE (Zhao et al. 2019): rec + (1-alpha) KL + (alpha+lambda-1) MMD, --info-alpha, --mmd-lambda"},
          {"vq-vae", "VQ-VAE (van den Oord et al. 2017): nearest-code quantisation, EMA codebook, --codebook-size, --code-dim"},
          {"beta-tcvae", "beta-TCVAE (Chen et al. 2018): KL split into MI, TC, dim-wise KL; --beta 6 on TC, --tc-estimator mws|mss"},
          {"alpha-tcvae", "alpha-TCVAE (Meo et al. 2024): VIB/CEB interpolation, --alpha 0.25, --views K, --alpha-tc-form"},
          {"dip-vae", "DIP-VAE (Kumar et al. 2018): covariance penalty, --dip-type i|ii, --lambda-od 10, --lambda-d"},
          {"fm", "flow matching (Lipman et al. 2023): noise -> data; --interpolant, --coupling, --solver"},
          {"lfm", "Local Flow Matching (Xu et al. 2024): --blocks OU blocks trained in turn; --step-sizes, --block-epochs"},
          {"classifier", "small conv classifier of labelled images (cross-entropy): the features of eval --sample-quality"}};
}

std::vector<NamedEntry> datasets() {
  return {{"fashion-mnist", "Fashion-MNIST 28x28 (Debian dataset-fashion-mnist); validation = its test split"},
          {"dsprites", "dSprites 64x64 (Matthey et al. 2017) rendered on demand: shape, scale, orientation, x, y; "
                       "5,000 held out"},
          {"shapes3d", "a flat procedural stand-in for 3D Shapes, 64x64 RGB rendered on demand: floor, wall and "
                       "object hue, scale, shape, orientation; 5,000 held out"},
          {"tensors:FILE", "a safetensors file with float32 [N, D] tensors \"train\" and optionally \"validation\""
                           " (int64 [N] \"train_labels\", \"validation_labels\": labelled)"},
          {"toy:NAME", "2-D toy data: 8gaussians, moons, checkerboard, spirals, pinwheel, rings"},
          {"csv:FILE", "a float matrix, one example per line, comma separated (header line skipped); --validation-fraction held out"},
          {"npy:FILE", "a NumPy .npy float32/float64 [N, D] matrix; --validation-fraction held out"}};
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : models()) names.push_back(m.name);
  return names;
}

std::vector<std::string> dataset_names() { return {"fashion-mnist", "dsprites", "shapes3d"}; }

std::unique_ptr<Trainable> make_model(const RunConfig& config, int64_t input_dim, int64_t num_classes,
                                      int64_t image_channels) {
  validate_model_settings(config);
  if (config.model == "classifier") return make_classifier(config, input_dim, num_classes, image_channels);
  if (is_flow_model(config.model)) {
    return make_flow_model(config, input_dim, conditioning_classes(config, num_classes), image_channels);
  }
  models::AutoencoderOptions options = autoencoder_options(config, input_dim, image_channels);
  options.num_classes = conditioning_classes(config, num_classes);
  if (config.model == "factor-vae")
    return std::make_unique<FactorVaeTrainable>(
        std::make_shared<models::FactorVae>(options, vae_options(config), factor_vae_options(config)));
  std::shared_ptr<models::Autoencoder> model;
  if (config.model == "ae") model = std::make_shared<models::Ae>(options);
  else if (config.model == "cae") model = std::make_shared<models::Ae>(options, nullptr, "CAE");
  else if (config.model == "dae") model = std::make_shared<models::Dae>(options, corruption(config));
  else if (config.model == "vae") model = std::make_shared<models::Vae>(options, vae_options(config));
  else if (config.model == "beta-vae") model = std::make_shared<models::Vae>(options, vae_options(config), nullptr, "beta-VAE");
  else if (config.model == "iwae") model = std::make_shared<models::Iwae>(options, models::IwaeOptions{config.iw_samples});
  else if (config.model == "wae") model = std::make_shared<models::Wae>(options, wae_options(config));
  else if (config.model == "info-vae") model = std::make_shared<models::InfoVae>(options, info_vae_options(config));
  else if (config.model == "vq-vae") model = std::make_shared<models::VqVae>(options, vq_vae_options(config));
  else if (config.model == "beta-tcvae") model = std::make_shared<models::BetaTcVae>(options, beta_tcvae_options(config));
  else if (config.model == "alpha-tcvae") model = std::make_shared<models::AlphaTcVae>(options, alpha_tcvae_options(config));
  else if (config.model == "dip-vae") model = std::make_shared<models::DipVae>(options, dip_vae_options(config));
  else throw Error(detail::concat("unknown model \"", config.model, "\""));
  // The CVAE conditions a VAE-type model: a stochastic encoder and a prior to sample classes from.
  STRATA_CHECK(!config.conditional || (model->stochastic() && model->has_prior()), "--conditional needs a VAE-type model",
               " (a stochastic encoder and a prior), not ", config.model);
  return std::make_unique<AutoencoderTrainable>(std::move(model));
}

void validate_model_settings(const RunConfig& c) {
  STRATA_CHECK(c.arch == "auto" || c.arch == "mlp" || c.arch == "conv" || c.arch == "conv4", "unknown arch \"", c.arch,
               "\" (valid: auto, mlp, conv, conv4)");
  STRATA_CHECK(!(c.model == "cae" && c.arch == "mlp"), "cae is the convolutional autoencoder; for an mlp use --model ae");
  models::parse_likelihood(c.likelihood);
  STRATA_CHECK(c.gaussian_sigma > 0 && std::isfinite(c.gaussian_sigma), "gaussian_sigma must be a positive number, got ",
               c.gaussian_sigma);
  STRATA_CHECK(c.beta >= 0 && std::isfinite(c.beta), "beta must be >= 0 (0: the model's default), got ", c.beta);
  const models::VaeOptions v = vae_options(c);
  v.warmup.validate(c.model);
  v.capacity.validate(c.model);
  corruption(c).validate(c.model);
  STRATA_CHECK(c.factor_gamma >= 0 && std::isfinite(c.factor_gamma), "factor_gamma must be >= 0, got ", c.factor_gamma);
  STRATA_CHECK(c.discriminator_lr > 0 && std::isfinite(c.discriminator_lr), "discriminator_lr must be a positive number, got ",
               c.discriminator_lr);
  STRATA_CHECK(!c.discriminator_hidden.empty(), "discriminator_hidden must list at least one layer width");
  for (int64_t h : c.discriminator_hidden)
    STRATA_CHECK(h >= 1, "discriminator_hidden widths must be at least 1, got ", h);
  STRATA_CHECK(c.iw_samples >= 1, "iw_samples (the IWAE's K) must be at least 1, got ", c.iw_samples);
  STRATA_CHECK(c.mmd_kernel == "auto" || c.mmd_kernel == "imq" || c.mmd_kernel == "rbf", "unknown MMD kernel \"",
               c.mmd_kernel, "\" (valid: auto, imq, rbf)");
  STRATA_CHECK(c.mmd_lambda >= 0 && std::isfinite(c.mmd_lambda), "mmd_lambda must be >= 0 (0: the model's default), got ",
               c.mmd_lambda);
  STRATA_CHECK(std::isfinite(c.info_alpha), "info_alpha must be a number, got ", c.info_alpha);
  if (c.model == "info-vae") {
    const models::InfoVaeOptions info = info_vae_options(c);
    STRATA_CHECK(info.alpha <= 1 && info.alpha + info.lambda - 1 >= 0, "info-vae needs info_alpha <= 1 and info_alpha + ",
                 "mmd_lambda - 1 >= 0, got info_alpha ", info.alpha, " and mmd_lambda ", info.lambda);
  }
  STRATA_CHECK(c.codebook_size >= 1, "codebook_size must be at least 1, got ", c.codebook_size);
  STRATA_CHECK(c.code_dim >= 1, "code_dim must be at least 1, got ", c.code_dim);
  if (c.model == "vq-vae")
    STRATA_CHECK(c.latent % c.code_dim == 0, "vq-vae: code_dim ", c.code_dim, " must divide latent ", c.latent,
                 " (the latent is split into latent / code_dim code vectors)");
  STRATA_CHECK(c.vq_beta >= 0 && std::isfinite(c.vq_beta), "vq_beta must be >= 0, got ", c.vq_beta);
  STRATA_CHECK(c.vq_decay >= 0 && c.vq_decay < 1, "vq_decay must lie in [0, 1), got ", c.vq_decay);
  STRATA_CHECK(c.tc_estimator == "auto" || c.tc_estimator == "mws" || c.tc_estimator == "mss", "unknown tc_estimator \"",
               c.tc_estimator, "\" (valid: auto, mws, mss)");
  beta_tcvae_options(c).validate(c.model);
  alpha_tcvae_options(c).validate(c.model, c.latent);
  dip_vae_options(c).validate(c.model);
  STRATA_CHECK(c.capacity_max == 0 || (c.model != "beta-tcvae" && c.model != "alpha-tcvae" && c.model != "dip-vae"),
               "capacity annealing (capacity_max) is part of the vae and beta-vae objectives, not of ", c.model);
  validate_flow_settings(c);
}

std::unique_ptr<Trainable> make_model(const RunConfig& config, const DataSplits& data) {
  std::unique_ptr<Trainable> model = make_model(config, data.input_dim(), data.num_classes, data.image_channels);
  if (!data.latent) return model;
  return std::make_unique<TwoStepTrainable>(std::move(model), data.latent);
}

const TensorDataset& DataSplits::train_in_memory(const std::string& what) const {
  const auto* in_memory = dynamic_cast<const TensorDataset*>(train.get());
  STRATA_CHECK(in_memory != nullptr, what, " needs the training data in memory, but they are made on demand (",
               factors ? factors->name() : std::string("this dataset"), ")");
  return *in_memory;
}

// The codes of an autoencoder run's splits (two-step generation).
DataSplits load_latent_data(const RunConfig& config) {
  auto codes = std::make_shared<const LatentCodes>(config.latent_of);
  const LoadedRun& ae = codes->autoencoder_run();
  STRATA_CHECK(config.data == ae.config.data, "--latent-of ", config.latent_of, ": that run was trained on ",
               ae.config.data, ", but this run's data are ", config.data, " (leave --data out to take the run's)");
  const DataSplits& images = *ae.data;
  DataSplits splits{first_rows(codes->encode(*images.train), config.limit_train), codes->encode(images.validation),
                    images.image_height, images.image_width, images.validation_name + " codes", images.num_classes};
  splits.image_channels = images.image_channels;
  splits.latent = std::move(codes);
  return splits;
}

DataSplits load_data(const RunConfig& config) {
  if (!config.latent_of.empty()) return load_latent_data(config);
  if (config.data == "dsprites") return load_factor_data(std::make_shared<const DSprites>(), config);
  if (config.data == "shapes3d") return load_factor_data(std::make_shared<const Shapes3d>(), config);
  if (config.data == "fashion-mnist") {
    return {first_rows(load_fashion_mnist("train"), config.limit_train), load_fashion_mnist("test"), 28, 28, "test", 10};
  }
  if (config.data.rfind("toy:", 0) == 0) {
    const std::string name = config.data.substr(4);
    Generator train_gen(1), held_out_gen(2);  // fixed seeds: the same data whatever the run's seed
    DataSplits splits{first_rows(TensorDataset(models::sample_toy_distribution(name, 20000, &train_gen)),
                                 config.limit_train),
                      TensorDataset(models::sample_toy_distribution(name, 5000, &held_out_gen)), 0, 0, "held-out"};
    splits.points_2d = true;
    return splits;
  }
  if (config.data.rfind("csv:", 0) == 0 || config.data.rfind("npy:", 0) == 0) return load_matrix_data(config);
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
  const std::string validation_name = val != file.tensors.end() ? "validation" : "validation (= train)";
  const auto train_labels = file.tensors.find("train_labels");
  if (train_labels == file.tensors.end())
    return {first_rows(TensorDataset(train->second), config.limit_train), TensorDataset(validation), 0, 0,
            validation_name};
  // Labelled: class indices 0..C-1, C = 1 + the largest label of either split.
  const auto val_labels = file.tensors.find("validation_labels");
  STRATA_CHECK(val == file.tensors.end() || val_labels != file.tensors.end(), "dataset ", path,
               ": has \"train_labels\" and \"validation\" but no \"validation_labels\"");
  const Tensor validation_labels = val != file.tensors.end() ? val_labels->second : train_labels->second;
  int64_t num_classes = 0;
  for (const auto& [name, labels, rows] : {std::tuple{"train_labels", train_labels->second, train->second.size(0)},
                                           std::tuple{"validation_labels", validation_labels, validation.size(0)}}) {
    STRATA_CHECK(labels.dim() == 1 && labels.dtype() == DType::Int64 && labels.size(0) == rows, "dataset ", path, ": \"",
                 name, "\" must be int64 [", rows, "], got ", dtype_name(labels.dtype()), " ", shape_str(labels.shape()));
    for (int64_t c : labels.to_vector<int64_t>()) {
      STRATA_CHECK(c >= 0, "dataset ", path, ": \"", name, "\" holds the negative class ", c);
      num_classes = std::max(num_classes, c + 1);
    }
  }
  return {first_rows(TensorDataset(train->second, train_labels->second), config.limit_train),
          TensorDataset(validation, validation_labels), 0, 0, validation_name, num_classes};
}

}  // namespace strata::training
