// What the trainer needs from a model: its parameters, its loss terms on a batch, and pictures
// (samples from the prior, reconstructions) for the run folder. The registry adapts each model
// family to it (models::Autoencoder for the autoencoders).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::models {
class Autoencoder;
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
  // The optimiser step the next loss_terms() belongs to, for models whose objective follows a
  // schedule (KL warm-up, capacity annealing); set before every step, so resumed runs continue it.
  virtual void set_step(int64_t) {}
  // The model as a member of the autoencoder family, for what only they have (a latent code to
  // traverse, the ELBO and log-likelihood of `strata eval`); null for other families.
  virtual models::Autoencoder* autoencoder() { return nullptr; }
};

}  // namespace strata::training
