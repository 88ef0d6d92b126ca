#include "training/two_step.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/creation.h"
#include "models/autoencoders/autoencoder.h"
#include "ops/ops.h"
#include "training/trainer.h"

namespace strata::training {

namespace {
constexpr int64_t kCodeBatch = 500;  // examples encoded or decoded at a time

models::Autoencoder& autoencoder_of(const LoadedRun& r, const std::string& run) {
  models::Autoencoder* ae = r.model->autoencoder();
  STRATA_CHECK(ae != nullptr, "--latent-of ", run, ": its model (", r.config.model,
               ") is not an autoencoder, so it has no latent codes to train on");
  return *ae;
}
}  // namespace

LatentCodes::LatentCodes(const std::string& autoencoder_run)
    : run_(autoencoder_run), autoencoder_(std::make_unique<LoadedRun>(load_run(autoencoder_run, "best"))) {
  STRATA_CHECK(autoencoder_->config.latent_of.empty(), "--latent-of ", autoencoder_run,
               ": that run is itself a latent model (of ", autoencoder_->config.latent_of,
               "); give the autoencoder's run");
  STRATA_CHECK(autoencoder_->model->num_classes() == 0, "--latent-of ", autoencoder_run,
               ": a class-conditional autoencoder's codes depend on the label; train the latent model on an "
               "unconditional one");
  autoencoder_of(*autoencoder_, run_);
}

LatentCodes::~LatentCodes() = default;

int64_t LatentCodes::latent_dim() const { return encode(narrow(autoencoder_->data->validation.inputs(), 0, 0, 1)).size(1); }

Tensor LatentCodes::encode(const Tensor& x) const {
  NoGradGuard no_grad;
  models::Autoencoder& ae = autoencoder_of(*autoencoder_, run_);
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.size(0); start += kCodeBatch) {
    const models::Encoding e = ae.encode(narrow(x, 0, start, std::min(kCodeBatch, x.size(0) - start)));
    parts.push_back(e.stochastic() ? e.mean : e.code);
  }
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

TensorDataset LatentCodes::encode(const Dataset& data) const {
  std::vector<Tensor> codes, labels;
  for (int64_t start = 0; start < data.size(); start += kCodeBatch) {
    const int64_t n = std::min(kCodeBatch, data.size() - start);
    const Batch batch = data.gather(arange(static_cast<double>(start), static_cast<double>(start + n)));
    codes.push_back(encode(batch.inputs));
    if (batch.labels.defined()) labels.push_back(batch.labels);
  }
  STRATA_CHECK(!codes.empty(), "--latent-of ", run_, ": no examples to encode");
  return TensorDataset(cat(codes, 0), labels.empty() ? Tensor() : cat(labels, 0));
}

Tensor LatentCodes::decode(const Tensor& codes) const {
  NoGradGuard no_grad;
  models::Autoencoder& ae = autoencoder_of(*autoencoder_, run_);
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < codes.size(0); start += kCodeBatch)
    parts.push_back(ae.decode_mean(narrow(codes, 0, start, std::min(kCodeBatch, codes.size(0) - start))));
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

TwoStepTrainable::TwoStepTrainable(std::unique_ptr<Trainable> latent_model, std::shared_ptr<const LatentCodes> codes)
    : latent_(std::move(latent_model)), codes_(std::move(codes)) {}

}  // namespace strata::training
