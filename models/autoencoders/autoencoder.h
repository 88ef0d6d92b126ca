// The interface every model of the autoencoder family implements, and the skeleton they share:
// an encoder body and latent heads, a decoder, and a likelihood p(x | z) (architecture.h,
// likelihood.h). Models differ in their objective (loss) and, where the paper says so, in what
// happens between encoder and decoder (corruption, quantisation, ...).
//
// Data are flat [N, D] (images are flattened; the conv architecture reshapes itself), values as
// the likelihood expects (Bernoulli: [0, 1]). Every method that draws noise takes the Generator
// to draw from (the default generator when null), so a fixed generator fixes the draws.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/random.h"
#include "models/autoencoders/architecture.h"
#include "models/autoencoders/likelihood.h"
#include "models/nn/linear.h"
#include "models/nn/module.h"

namespace strata::models {

// What encode() returns. `code` is the latent a deterministic decoder reads: the code of a
// deterministic encoder, or the posterior mean of a stochastic one. Stochastic encoders also give
// the diagonal Gaussian q(z | x) = N(mean, exp(log_var)); for deterministic ones both are undefined.
struct Encoding {
  Tensor code;
  Tensor mean;
  Tensor log_var;
  bool stochastic() const { return mean.defined(); }
};

// Named loss terms, each a mean over the batch: the minimised total first (named "loss"), then its
// parts (reconstruction, kl, penalties, ...) in the order loss_names() gives.
using LossTerms = std::vector<std::pair<std::string, Tensor>>;
// The term called `name`; throws, naming the terms there are, when absent.
const Tensor& term(const LossTerms& terms, const std::string& name);

struct AutoencoderOptions {
  int64_t input_dim = 784;
  int64_t latent_dim = 32;
  ArchitectureSpec architecture;  // mlp {512, 256} by default
  LikelihoodSpec likelihood;      // Bernoulli by default
  // > 0: class-conditional (CVAE, conditioning.h): the one-hot class joins the encoder's and the
  // decoder's input, and every call that encodes or decodes needs the labels (GivenLabels).
  int64_t num_classes = 0;
};

class Autoencoder;

// The class labels (int64 [N]) a class-conditional model is conditioned on for the calls made
// while this object lives: loss, encode, decode, sample (n = N), reconstruct, log_prob. Being a
// scope rather than an argument, it conditions every model of the family without each objective
// passing labels along. The labels are state of the model, so calls on ONE conditional model
// under different labels must not run concurrently. Throws when the model is not conditional.
class GivenLabels {
 public:
  GivenLabels(Autoencoder& model, const Tensor& labels);
  ~GivenLabels();
  GivenLabels(const GivenLabels&) = delete;
  GivenLabels& operator=(const GivenLabels&) = delete;

 private:
  Autoencoder& model_;
  Tensor previous_;
};

class Autoencoder : public nn::Module {
 public:
  // `name` (e.g. "VAE") prefixes error messages. Stochastic encoders get two heads (mean,
  // log_var), deterministic ones one ("code"). Layers are initialised from `init` in the order
  // encoder, heads, decoder (the default generator when null).
  Autoencoder(std::string name, AutoencoderOptions options, bool stochastic, Generator* init);

  virtual Encoding encode(const Tensor& x);
  // Likelihood parameters [N, D] for codes z [N, latent_dim].
  virtual Tensor decode(const Tensor& z);
  // The likelihood means [N, D] for codes z [N, latent_dim] (values in [0, 1] for Bernoulli data).
  Tensor decode_mean(const Tensor& z);
  virtual LossTerms loss(const Tensor& x, Generator* gen = nullptr) = 0;
  // The names loss() returns, in order ("loss" first).
  virtual std::vector<std::string> loss_names() const = 0;

  // Whether the model defines a prior p(z) (and so sample() and log_prob()).
  virtual bool has_prior() const { return false; }
  // n examples decoded from prior draws z ~ p(z), as likelihood means [n, D]; throws for models
  // without a prior.
  virtual Tensor sample(int64_t n, Generator* gen = nullptr);
  // Likelihood means [N, D] decoded from the encoding's code (the posterior mean): deterministic.
  virtual Tensor reconstruct(const Tensor& x);
  // The importance-sampled log-likelihood of each example, [N]:
  //   log p(x) ~ log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),  z_k ~ q(z | x)
  // (Burda et al., ICLR 2016, "Importance Weighted Autoencoders", eq. 8; K = 1 is the one-sample
  // ELBO), computed with logsumexp over k. The K draws are made one after another, each [N, L], so
  // memory stays that of one forward pass and K = 1 uses the same noise as loss(). Needs a prior
  // and a stochastic encoder.
  virtual Tensor log_prob(const Tensor& x, int64_t k, Generator* gen = nullptr);

  // The training step schedules (KL warm-up, capacity) are evaluated at; the trainer sets it
  // before each step, so a resumed run continues its schedules exactly.
  void set_step(int64_t step) { step_ = step; }
  int64_t step() const { return step_; }

  // The number of examples the minibatches are drawn from, for estimators of the aggregate posterior
  // q(z) = (1/N) sum_n q(z | x_n) (kl_decomposition.h); 0 until set. The trainer sets it to the
  // training set's size before each step and to the evaluated split's size before evaluating it.
  void set_dataset_size(int64_t n) { dataset_size_ = n; }
  int64_t dataset_size() const { return dataset_size_; }

  const std::string& name() const { return name_; }
  const AutoencoderOptions& options() const { return options_; }
  bool stochastic() const { return stochastic_; }
  Likelihood& likelihood() { return *likelihood_; }
  int64_t num_classes() const { return options_.num_classes; }
  bool conditional() const { return options_.num_classes > 0; }

 protected:
  // x as [N, D], accepting [N, D] or images [N, ...] with D features; throws naming the model.
  Tensor flat_input(const Tensor& x, const char* method) const;
  // z = mean + exp(log_var / 2) * eps, eps ~ N(0, I) (Kingma & Welling 2014, sec. 2.4).
  Tensor reparameterize(const Encoding& q, Generator* gen) const;
  // -log p(x | params) per example, [N].
  Tensor reconstruction_nll(const Tensor& x, const Tensor& params) const;
  // The log importance weight of each row, [M]:
  //   log w = log p(x | z) + log p(z) - log q(z | x),  p(z) = N(0, I), q(z | x) = N(mean, exp(log_var)),
  // for rows of x [M, D], q's mean and log_var [M, L] and draws z [M, L] that belong together
  // (M = N for one draw per example, K * N for K draws stacked). log_prob() and the IWAE bound
  // (iwae.h) are both logsumexp over these. `log_likelihood`, when given, receives log p(x | z) [M].
  Tensor log_importance_weight(const Tensor& x, const Encoding& q, const Tensor& z, Tensor* log_likelihood = nullptr);
  void require_prior(const char* method) const;

 private:
  friend class GivenLabels;
  // [rows, D or L] with the active condition's one-hot appended (conditioning.h); rows must match.
  Tensor with_condition(const Tensor& x, bool encoder_input, const char* method) const;

  std::string name_;
  AutoencoderOptions options_;
  bool stochastic_;
  int64_t step_ = 0;
  int64_t dataset_size_ = 0;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  std::shared_ptr<nn::Linear> code_head_, mean_head_, log_var_head_;
  std::shared_ptr<Likelihood> likelihood_;
  Tensor condition_;  // one-hot [N, num_classes] of the labels given (GivenLabels); undefined otherwise
};

}  // namespace strata::models
