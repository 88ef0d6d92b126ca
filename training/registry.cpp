#include "training/registry.h"

#include "engine/creation.h"
#include "engine/data/fashion_mnist.h"
#include "engine/io/safetensors.h"
#include "models/autoencoders/mlp_vae.h"

namespace strata::training {

namespace {

// The MLP VAE of Kingma & Welling (2014) with the run's latent size and hidden widths.
class VaeTrainable final : public Trainable {
 public:
  VaeTrainable(const RunConfig& c, int64_t input_dim)
      : vae_(std::make_shared<models::MlpVae>(
            models::MlpVaeOptions{.input_dim = input_dim, .hidden = c.hidden, .latent_dim = c.latent})) {}
  nn::Module& module() override { return *vae_; }
  std::vector<std::string> loss_names() const override { return {"loss", "reconstruction", "kl"}; }
  LossTerms loss_terms(const Tensor& x, Generator* gen) override {
    models::VaeLoss l = vae_->loss(x, gen);
    return {{"loss", l.total}, {"reconstruction", l.reconstruction}, {"kl", l.kl}};
  }
  Tensor sample(int64_t n, Generator* gen) override { return vae_->sample(n, gen); }
  Tensor reconstruct(const Tensor& x) override { return vae_->reconstruct(x); }

 private:
  std::shared_ptr<models::MlpVae> vae_;
};

TensorDataset first_rows(const TensorDataset& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  const Tensor idx = arange(static_cast<double>(n));
  Batch b = d.gather(idx);
  return TensorDataset(b.inputs, b.labels);
}

}  // namespace

std::vector<NamedEntry> models() {
  return {{"vae", "variational autoencoder, MLP encoder/decoder, Bernoulli pixels (Kingma & Welling 2014)"}};
}

std::vector<NamedEntry> datasets() {
  return {{"fashion-mnist", "Fashion-MNIST 28x28 (Debian dataset-fashion-mnist); validation = its test split"},
          {"tensors:FILE", "a safetensors file with float32 [N, D] tensors \"train\" and optionally \"validation\""}};
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : models()) names.push_back(m.name);
  return names;
}

std::vector<std::string> dataset_names() { return {"fashion-mnist"}; }

std::unique_ptr<Trainable> make_model(const RunConfig& config, int64_t input_dim) {
  if (config.model == "vae") return std::make_unique<VaeTrainable>(config, input_dim);
  throw Error(detail::concat("unknown model \"", config.model, "\""));
}

DataSplits load_data(const RunConfig& config) {
  if (config.data == "fashion-mnist") {
    return {first_rows(load_fashion_mnist("train"), config.limit_train), load_fashion_mnist("test"), 28, 28, "test"};
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
