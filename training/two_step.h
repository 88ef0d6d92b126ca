// Two-step generation (`strata train --model fm|lfm --latent-of AE_RUN`): a likelihood model trained
// on the latent codes of an autoencoder, whose samples are decoded back to data. The
// manifold-hypothesis survey (shared/papers/manifold_hypothesis.md) recommends it: the autoencoder
// learns the low-dimensional manifold, the second model the density on it.
//  - LatentCodes: the autoencoder run (its best checkpoint, in eval mode) that maps data to codes
//    (the posterior means, or the code of a deterministic encoder) and codes to data (the decoder's
//    mean, in [0, 1]).
//  - TwoStepTrainable: the latent model as the trainer sees it. Losses, likelihoods and stages are
//    the latent model's, on codes; sample() and reconstruct() decode, so picture grids, `strata
//    sample` and the image data's geometry work unchanged. The latent model's log_prob is a density
//    of codes (nats per code), not of images: a deterministic decoder gives images no density.
#pragma once

#include <memory>
#include <string>

#include "engine/data/dataset.h"
#include "training/trainable.h"

namespace strata::training {

struct LoadedRun;

class LatentCodes {
 public:
  // Loads AE_RUN's config, data and best checkpoint; throws if its model is not an autoencoder.
  explicit LatentCodes(const std::string& autoencoder_run);
  ~LatentCodes();

  // The codes of every example of `data`, in order, [N, latent], with the examples' labels; no gradient.
  TensorDataset encode(const Dataset& data) const;
  // Codes [N, latent] of data x [N, D].
  Tensor encode(const Tensor& x) const;
  // Decoded data [N, D] for codes [N, latent]; no gradient.
  Tensor decode(const Tensor& codes) const;

  const std::string& run() const { return run_; }
  // The autoencoder's run with its data (the splits its codes are taken from).
  const LoadedRun& autoencoder_run() const { return *autoencoder_; }
  int64_t latent_dim() const;

 private:
  std::string run_;
  std::unique_ptr<LoadedRun> autoencoder_;
};

class TwoStepTrainable final : public Trainable {
 public:
  TwoStepTrainable(std::unique_ptr<Trainable> latent_model, std::shared_ptr<const LatentCodes> codes);

  nn::Module& module() override { return latent_->module(); }
  std::vector<std::string> loss_names() const override { return latent_->loss_names(); }
  LossTerms loss_terms(const Tensor& codes, Generator* gen) override { return latent_->loss_terms(codes, gen); }
  LossTerms labelled_loss_terms(const Tensor& codes, const Tensor& labels, Generator* gen) override {
    return latent_->labelled_loss_terms(codes, labels, gen);
  }
  Tensor sample(int64_t n, Generator* gen) override { return codes_->decode(latent_->sample(n, gen)); }
  Tensor labelled_sample(const Tensor& labels, Generator* gen) override {
    return codes_->decode(latent_->labelled_sample(labels, gen));
  }
  // The decoded round trip of the latent model (codes -> noise -> codes): images.
  Tensor reconstruct(const Tensor& codes) override { return codes_->decode(latent_->reconstruct(codes)); }
  Tensor labelled_reconstruct(const Tensor& codes, const Tensor& labels) override {
    return codes_->decode(latent_->labelled_reconstruct(codes, labels));
  }
  bool has_prior() const override { return latent_->has_prior(); }
  void set_step(int64_t step) override { latent_->set_step(step); }
  std::vector<Tensor> parameters() override { return latent_->parameters(); }
  LossTerms after_step(Generator* gen) override { return latent_->after_step(gen); }
  std::vector<std::string> after_step_names() const override { return latent_->after_step_names(); }
  std::map<std::string, optim::Optimizer*> auxiliary_optimizers() override { return latent_->auxiliary_optimizers(); }
  int64_t num_classes() const override { return latent_->num_classes(); }
  void set_dataset_size(int64_t n) override { latent_->set_dataset_size(n); }
  bool has_log_prob() const override { return latent_->has_log_prob(); }
  Tensor log_prob(const Tensor& codes, Generator* gen) override { return latent_->log_prob(codes, gen); }
  int64_t function_evaluations() const override { return latent_->function_evaluations(); }
  int64_t stage_of_epoch(int64_t epoch) const override { return latent_->stage_of_epoch(epoch); }
  void set_stage(int64_t stage, bool starting) override { latent_->set_stage(stage, starting); }
  Tensor stage_data(int64_t stage, const Tensor& codes) override { return latent_->stage_data(stage, codes); }

  const LatentCodes& codes() const { return *codes_; }
  // The model of the codes itself (its samples are codes).
  Trainable& latent_model() { return *latent_; }

 private:
  std::unique_ptr<Trainable> latent_;
  std::shared_ptr<const LatentCodes> codes_;
};

}  // namespace strata::training
