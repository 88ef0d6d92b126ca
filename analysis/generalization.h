// The estimators of the VAE generalization study (Xiao, Zenn & Bamler 2023, "A Note on
// Generalization in Variational Autoencoders", shared/papers/vae_generalization.md):
//  - the generalization gap G_g = mean ELBO on the training set - mean ELBO on the test set
//    (also applied to IWAE log-likelihood estimates);
//  - the amortization gap G_a = mean_x [ ELBO(x; q*) - ELBO(x; q_phi) ] (Cremer, Li & Duvenaud,
//    ICML 2018, "Inference Suboptimality in Variational Autoencoders", sec. 3), where q* is a diagonal
//    Gaussian optimised for each x alone with the decoder frozen: Adam on (mu, log sigma), started at
//    the encoder's output, maximising the reparameterised ELBO
//        log p(x | mu + sigma eps) - KL(N(mu, sigma^2) || N(0, I)),  eps ~ N(0, I)
//    (Kingma & Welling 2014, eq. 10; KL in closed form). Adam is elementwise and the objective a sum
//    over examples, so optimising all rows of one [N, L] tensor at once is exactly N separate
//    optimisations;
//  - the parameter count of an mlp autoencoder (models/autoencoders/architecture.h), for the width sweep.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::analysis {

// Per-epoch (or per-model) gaps train - test, with their means. Throws when the sizes differ or are 0.
std::vector<double> generalization_gaps(const std::vector<double>& train, const std::vector<double>& test);
// mean(train) - mean(test) of two sets of per-example values (they may differ in size; neither empty).
double generalization_gap(const std::vector<double>& train_values, const std::vector<double>& test_values);

// log p(x | z) per row, [N], for data x [N, D] and codes z [N, L]: the frozen decoder and likelihood.
using DecoderLogLikelihood = std::function<Tensor(const Tensor& x, const Tensor& z)>;

struct PosteriorOptimisationOptions {
  int64_t steps = 200;            // Adam steps
  double lr = 1e-2;               // Adam learning rate (betas 0.9, 0.999)
  int64_t samples_per_step = 1;   // reparameterised draws per example and step (gradient estimate)
  int64_t eval_samples = 100;     // draws per example of the reported ELBOs (the same draws for q_phi and q*)
  uint64_t seed = 0;              // of every draw
};

struct PosteriorOptimisation {
  Tensor mean, log_var;                      // q*'s parameters [N, L], detached
  std::vector<double> initial_elbo;          // per example, at the encoder's q_phi (nats)
  std::vector<double> optimised_elbo;        // per example, at q*
  std::vector<double> objective_per_step;    // the mean one-draw ELBO estimate at each step (the trace)
  double amortization_gap = 0;               // mean(optimised_elbo - initial_elbo)
};

// The ELBO of x [N, D] under q = N(mean, exp(log_var)) ([N, L]) estimated with `samples` reparameterised
// draws per example (from gen), KL in closed form; per example, [N]. No graph is recorded.
Tensor gaussian_posterior_elbo(const DecoderLogLikelihood& log_likelihood, const Tensor& x, const Tensor& mean,
                               const Tensor& log_var, int64_t samples, Generator* gen);

// Optimises a diagonal Gaussian posterior for each row of x, starting from (mean0, log_var0) (the
// encoder's output), with the decoder frozen (only mu and log sigma are updated). x, mean0, log_var0
// must share rows and a floating dtype; the work is done in that dtype.
PosteriorOptimisation optimise_gaussian_posteriors(const DecoderLogLikelihood& log_likelihood, const Tensor& x,
                                                   const Tensor& mean0, const Tensor& log_var0,
                                                   const PosteriorOptimisationOptions& options = {});

// Parameters of the mlp encoder/decoder pair of architecture.h with hidden `widths` (encoder order)
// and a stochastic encoder (two latent heads) or a deterministic one (one):
//   encoder  D -> w_1 -> ... -> w_k, heads w_k -> L (x2), decoder L -> w_k -> ... -> w_1 -> D,
// every Linear with a bias. The Bernoulli and fixed-sigma Gaussian likelihoods add none.
int64_t mlp_autoencoder_parameter_count(int64_t input_dim, const std::vector<int64_t>& widths, int64_t latent_dim,
                                        bool stochastic = true);

}  // namespace strata::analysis
