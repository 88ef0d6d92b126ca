// What the trainer needs from a model: its parameters, its loss terms on a batch, and pictures
// (samples from the prior, reconstructions) for the run folder. The registry adapts each model
// family to it (models::Autoencoder for the autoencoders).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/optim/optimizer.h"
#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::models {
class Autoencoder;
class Classifier;
}

namespace strata::training {

using LossTerms = std::vector<std::pair<std::string, Tensor>>;

class Trainable {
 public:
  virtual ~Trainable() = default;
  virtual nn::Module& module() = 0;
  // The names loss_terms() returns, in order ("loss" first).
  virtual std::vector<std::string> loss_names() const = 0;
  // The minimised total first (named "loss"), then its parts, each a mean over the batch.
  virtual LossTerms loss_terms(const Tensor& x, Generator* gen) = 0;
  // n generated examples, flat [n, D] with values in [0, 1].
  virtual Tensor sample(int64_t n, Generator* gen) = 0;
  // Reconstructions of x, flat [n, D] with values in [0, 1].
  virtual Tensor reconstruct(const Tensor& x) = 0;
  // Whether sample() is defined (deterministic autoencoders have no prior to sample from).
  virtual bool has_prior() const { return true; }
  // Whether reconstruct() is defined (classifiers have no decoder: the trainer writes no grids for them).
  virtual bool has_reconstruction() const { return true; }
  // The optimiser step the next loss_terms() belongs to, for models whose objective follows a
  // schedule (KL warm-up, capacity annealing); set before every step, so resumed runs continue it.
  virtual void set_step(int64_t) {}

  // The parameters the trainer's optimizer updates with the loss. Models with a second objective
  // leave out that objective's parameters (FactorVAE's discriminator, trained in after_step()).
  virtual std::vector<Tensor> parameters() { return module().parameters(); }
  // A second update after each optimizer step, for models that own another objective and its
  // optimizer (FactorVAE's discriminator: Kim & Mnih 2018, Algorithm 2). It reads what that step's
  // loss_terms() computed, draws its noise from `gen`, and returns its own terms, named by
  // after_step_names(), for metrics.csv and the progress line.
  virtual LossTerms after_step(Generator* /*gen*/) { return {}; }
  virtual std::vector<std::string> after_step_names() const { return {}; }
  // The optimizers after_step() updates, by name: checkpoints hold their state, so --resume
  // continues them exactly.
  virtual std::map<std::string, optim::Optimizer*> auxiliary_optimizers() { return {}; }

  // Class-conditional models (CVAE, --conditional): the number of classes they are conditioned
  // on; 0 for the others.
  virtual int64_t num_classes() const { return 0; }
  // loss_terms, sample and reconstruct with class labels (int64 [N]): conditional models condition
  // on them; these defaults ignore them, so a model that is never conditional implements only the
  // plain methods. The trainer calls these, with the labels of the data (undefined if it has none).
  virtual LossTerms labelled_loss_terms(const Tensor& x, const Tensor& /*labels*/, Generator* gen) {
    return loss_terms(x, gen);
  }
  virtual Tensor labelled_sample(const Tensor& labels, Generator* gen) { return sample(labels.size(0), gen); }
  virtual Tensor labelled_reconstruct(const Tensor& x, const Tensor& /*labels*/) { return reconstruct(x); }
  // The guidance scale w of labelled_sample for models with classifier-free guidance (fm
  // --conditional: v_uncond + w (v_cond - v_uncond), flow_matching.h; w = 1 by default); the others refuse it.
  virtual void set_guidance_scale(double w);
  // The number of examples the minibatches come from, for objectives that estimate the aggregate
  // posterior q(z) over the dataset (beta-TCVAE, alpha-TCVAE); set before every training step (the
  // training set's size) and before an evaluation (the evaluated split's size).
  virtual void set_dataset_size(int64_t) {}
  // Likelihood models (flows): log p(x) per example in nats; `gen` draws any estimator noise.
  virtual bool has_log_prob() const { return false; }
  virtual Tensor log_prob(const Tensor& x, Generator* gen);
  // Function evaluations of the last sample() or log_prob() (flows' ODE solves; 0 otherwise).
  virtual int64_t function_evaluations() const { return 0; }
  // Models trained in stages on transformed data (Local Flow Matching trains block n on the data
  // pushed through blocks 1..n-1). The trainer asks at each epoch start which stage the epoch
  // belongs to; when it changes it calls set_stage (starting: the stage's first step is next, not a
  // resumption inside it) and trains and validates on stage_data(stage, data).
  virtual int64_t stage_of_epoch(int64_t) const { return 0; }
  virtual void set_stage(int64_t, bool) {}
  virtual Tensor stage_data(int64_t, const Tensor& data) { return data; }
  // The model as a member of the autoencoder family, for what only they have (a latent code to
  // traverse, the ELBO and log-likelihood of `strata eval`); null for other families.
  virtual models::Autoencoder* autoencoder() { return nullptr; }
  // The model as a feature classifier (models/classifier/), whose penultimate layer is the feature
  // space of `strata eval --sample-quality`; null for the generative models.
  virtual models::Classifier* classifier() { return nullptr; }
};

inline void Trainable::set_guidance_scale(double) {
  throw Error("guidance scale: classifier-free guidance needs a class-conditional fm run (--model fm --conditional "
              "--velocity-net unet)");
}

inline Tensor Trainable::log_prob(const Tensor&, Generator*) {
  throw Error("this model has no log_prob (only flows define a likelihood for eval --nll)");
}

}  // namespace strata::training
