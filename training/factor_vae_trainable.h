// FactorVAE (models/autoencoders/factor_vae.h) as the trainer sees it. Each step is Algorithm 2 of
// Kim & Mnih 2018 with the two updates kept apart:
//  1. the trainer's step: loss_terms() (reconstruction + kl + gamma * TC through D), backward, and
//     the trainer's optimizer over parameters() = the VAE's parameters only, so D does not move
//     (the backward pass leaves gradients on D's parameters; step 2 clears them before its own);
//  2. after_step(): D's cross-entropy on the step's code z, detached (so the VAE does not move),
//     against permute_dims(z), minimised by D's own Adam (the paper's lr 1e-4, betas 0.5, 0.9),
//     whose state auxiliary_optimizers() hands to the checkpoint.
// D's loss and accuracy are logged as the terms "discriminator_loss" and "discriminator_accuracy".
#pragma once

#include <memory>

#include "engine/optim/adam.h"
#include "models/autoencoders/factor_vae.h"
#include "training/trainable.h"

namespace strata::training {

class FactorVaeTrainable final : public Trainable {
 public:
  explicit FactorVaeTrainable(std::shared_ptr<models::FactorVae> model);

  nn::Module& module() override { return *model_; }
  std::vector<std::string> loss_names() const override { return model_->loss_names(); }
  // Keeps the posterior draw z of a loss evaluated with gradients on (a training step) for after_step().
  LossTerms loss_terms(const Tensor& x, Generator* gen) override;
  Tensor sample(int64_t n, Generator* gen) override;
  Tensor reconstruct(const Tensor& x) override;
  bool has_prior() const override { return true; }
  void set_step(int64_t step) override { model_->set_step(step); }

  std::vector<Tensor> parameters() override { return model_->vae_parameters(); }
  LossTerms after_step(Generator* gen) override;
  std::vector<std::string> after_step_names() const override {
    return {"discriminator_loss", "discriminator_accuracy"};
  }
  std::map<std::string, optim::Optimizer*> auxiliary_optimizers() override { return {{"discriminator", &adam_}}; }

  int64_t num_classes() const override { return model_->num_classes(); }
  LossTerms labelled_loss_terms(const Tensor& x, const Tensor& labels, Generator* gen) override;
  Tensor labelled_sample(const Tensor& labels, Generator* gen) override;
  Tensor labelled_reconstruct(const Tensor& x, const Tensor& labels) override;
  // A VAE with an extra objective: strata eval's ELBO and log p(x) and the traversal grids apply.
  models::Autoencoder* autoencoder() override { return model_.get(); }

  models::FactorVae& model() { return *model_; }
  optim::Adam& discriminator_optimizer() { return adam_; }

 private:
  std::shared_ptr<models::FactorVae> model_;
  optim::Adam adam_;
  Tensor code_;  // z of the last training step's loss, detached; consumed by after_step()
};

}  // namespace strata::training
