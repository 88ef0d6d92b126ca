// The held-out numbers every autoencoder is judged by (`strata eval`):
//  - reconstruction error of the deterministic reconstruction (decoder of the code, i.e. of the
//    posterior mean for stochastic encoders): -log p(x | x_hat) summed over the D values (for the
//    Bernoulli likelihood, the binary cross-entropy), and the mean squared error per value;
//  - for likelihood models (a prior p(z) and a stochastic encoder q(z|x)):
//      ELBO   = log p(x | z) - KL(q(z|x) || p(z)),  one draw z ~ q, KL in closed form
//               (Kingma & Welling, ICLR 2014, eq. 10 and Appendix B)
//      log p(x) ~ log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),  z_k ~ q(z|x)
//               (Burda et al., ICLR 2016, eq. 8: Autoencoder::log_prob), a lower bound in
//               expectation that tightens with K (their Theorem 1);
//    both in nats per example and in bits per dimension, -log p / (D ln 2).
// Bits/dim are for the data as given: for [0, 1] grey values under the Bernoulli likelihood this is
// the usual (not normalised) Bernoulli score, with no dequantisation; only for binarised data is it
// a discrete log-likelihood.
//
// The ELBO's draws and the importance samples come from two generators of the same seed, so with
// K = 1 the two estimates share every z and differ only in how the KL is estimated (closed form
// against log q(z|x) - log p(z) at the draw): they agree in expectation, example by example.
#pragma once

#include <cstdint>
#include <vector>

#include "models/autoencoders/autoencoder.h"

namespace strata::analysis {

struct EvaluationOptions {
  int64_t importance_samples = 1000;  // K of the log-likelihood estimate
  int64_t batch_size = 500;           // examples per forward pass (memory, not results)
  uint64_t seed = 0;                  // of the ELBO's and the importance samples' draws
  Tensor labels = {};                 // int64 [N]: the classes x is conditioned on (class-conditional models)
};

// Per-example values in nats; the likelihood ones are empty for models without one.
struct ExampleScores {
  std::vector<double> reconstruction_nll;
  std::vector<double> squared_error;  // mean over the D values
  std::vector<double> elbo;
  std::vector<double> log_likelihood;
};

struct AutoencoderEvaluation {
  int64_t examples = 0;
  int64_t dims = 0;                   // D
  double reconstruction_nll = 0;      // means over the examples
  double reconstruction_mse = 0;
  bool likelihood_model = false;      // whether the rest is defined
  int64_t importance_samples = 0;
  double elbo = 0, elbo_stderr = 0;
  double log_likelihood = 0, log_likelihood_stderr = 0;
  double elbo_bits_per_dim = 0, bits_per_dim = 0;  // of -elbo and -log_likelihood
  ExampleScores per_example;
};

// -log_p_nats / (dims ln 2).
double bits_per_dim(double log_p_nats, int64_t dims);

// Evaluates `model` on x [N, D] (N >= 1) without recording a graph; the model's train/eval mode is
// left as it was.
AutoencoderEvaluation evaluate_autoencoder(models::Autoencoder& model, const Tensor& x, const EvaluationOptions& options);

}  // namespace strata::analysis
