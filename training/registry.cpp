#include "training/registry.h"

#include <cmath>

#include "engine/creation.h"
#include "engine/data/csv.h"
#include "engine/data/fashion_mnist.h"
#include "engine/data/npy.h"
#include "engine/data/split.h"
#include "engine/io/safetensors.h"
#include "models/autoencoders/ae.h"
#include "models/autoencoders/dae.h"
#include "models/autoencoders/vae.h"
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
  models::Autoencoder* autoencoder() override { return model_.get(); }

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

TensorDataset first_rows(const TensorDataset& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  const Tensor idx = arange(static_cast<double>(n));
  Batch b = d.gather(idx);
  return TensorDataset(b.inputs, b.labels);
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

std::vector<NamedEntry> models() {
  return {{"ae", "autoencoder: deterministic code, reconstruction loss (mlp; --arch conv for images)"},
          {"cae", "convolutional autoencoder: the ae objective on the W2 conv encoder/decoder (28x28 or 64x64)"},
          {"dae", "denoising autoencoder (Vincent et al. 2008): reconstructs x from a corrupted copy (--corruption)"},
          {"vae", "variational autoencoder (Kingma & Welling 2014); --beta, --capacity-max, --kl-warmup"},
          {"beta-vae", "beta-VAE (Higgins et al. 2017), beta 4 unless --beta; --capacity-max: Burgess et al. 2018"}};
}

std::vector<NamedEntry> datasets() {
  return {{"fashion-mnist", "Fashion-MNIST 28x28 (Debian dataset-fashion-mnist); validation = its test split"},
          {"tensors:FILE", "a safetensors file with float32 [N, D] tensors \"train\" and optionally \"validation\""},
          {"csv:FILE", "a float matrix, one example per line, comma separated (header line skipped); --validation-fraction held out"},
          {"npy:FILE", "a NumPy .npy float32/float64 [N, D] matrix; --validation-fraction held out"}};
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : models()) names.push_back(m.name);
  return names;
}

std::vector<std::string> dataset_names() { return {"fashion-mnist"}; }

std::unique_ptr<Trainable> make_model(const RunConfig& config, int64_t input_dim) {
  validate_model_settings(config);
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
}

DataSplits load_data(const RunConfig& config) {
  if (config.data == "fashion-mnist") {
    return {first_rows(load_fashion_mnist("train"), config.limit_train), load_fashion_mnist("test"), 28, 28, "test"};
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
  return {first_rows(TensorDataset(train->second), config.limit_train), TensorDataset(validation), 0, 0,
          val != file.tensors.end() ? "validation" : "validation (= train)"};
}

}  // namespace strata::training
