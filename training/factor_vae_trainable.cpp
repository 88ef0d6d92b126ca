#include "training/factor_vae_trainable.h"

#include "engine/autograd.h"
#include "ops/ops.h"

namespace strata::training {

FactorVaeTrainable::FactorVaeTrainable(std::shared_ptr<models::FactorVae> model)
    : model_(std::move(model)),
      adam_(model_->discriminator_parameters(), model_->factor_options().discriminator_optimizer) {}

LossTerms FactorVaeTrainable::loss_terms(const Tensor& x, Generator* gen) {
  models::FactorVaeLoss out = model_->loss_and_code(x, gen);
  // Evaluation (no gradients) must not replace the code of the step the discriminator learns from.
  if (GradMode::enabled()) code_ = out.z.detach();
  return out.terms;
}

LossTerms FactorVaeTrainable::after_step(Generator* gen) {
  STRATA_CHECK(code_.defined(), model_->name(),
               ": the discriminator step needs the code of a training loss_terms() call before it");
  adam_.zero_grad();  // drops the gradients the VAE step's backward left on D
  const models::DiscriminatorTerms d = model_->discriminator_terms(code_, gen);
  d.loss.backward();
  adam_.step();
  code_ = Tensor();
  return {{"discriminator_loss", d.loss.detach()}, {"discriminator_accuracy", d.accuracy}};
}

// Pictures need values in [0, 1]: Bernoulli means already are, Gaussian means are clamped.
Tensor FactorVaeTrainable::sample(int64_t n, Generator* gen) { return clamp(model_->sample(n, gen), 0.0, 1.0); }
Tensor FactorVaeTrainable::reconstruct(const Tensor& x) { return clamp(model_->reconstruct(x), 0.0, 1.0); }

LossTerms FactorVaeTrainable::labelled_loss_terms(const Tensor& x, const Tensor& labels, Generator* gen) {
  if (!model_->conditional()) return loss_terms(x, gen);
  const models::GivenLabels given(*model_, labels);
  return loss_terms(x, gen);
}

Tensor FactorVaeTrainable::labelled_sample(const Tensor& labels, Generator* gen) {
  if (!model_->conditional()) return sample(labels.size(0), gen);
  const models::GivenLabels given(*model_, labels);
  return sample(labels.size(0), gen);
}

Tensor FactorVaeTrainable::labelled_reconstruct(const Tensor& x, const Tensor& labels) {
  if (!model_->conditional()) return reconstruct(x);
  const models::GivenLabels given(*model_, labels);
  return reconstruct(x);
}

}  // namespace strata::training
