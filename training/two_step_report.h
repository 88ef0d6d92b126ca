// `strata analyze two-step`: the two-step model of the manifold-hypothesis survey (Loaiza-Ganem et
// al. 2024, shared/papers/manifold_hypothesis.md) -- an autoencoder (encoder f, decoder g) and Local
// Flow Matching on its codes -- against Local Flow Matching in pixel space, on Fashion-MNIST at a
// small stated budget (issue 8, part 4).
//
// 1. Trains, each as a `strata train` run folder under `runs` (so strata eval / sample read them;
//    with `reuse`, a finished run of the same settings there is loaded instead):
//      RUNS/classifier   the feature classifier of eval --sample-quality (unless classifier_run names one)
//      RUNS/<ae>         each autoencoder: "vae" (f = posterior mean, g = decoder mean) or "ae"
//                        (deterministic), MLP encoder/decoder, Bernoulli likelihood
//      RUNS/<ae>-lfm     LFM on that autoencoder's codes of the training images (--latent-of)
//      RUNS/pixel-lfm    LFM on the uniformly dequantised pixels
//      RUNS/pixel-fm     global flow matching on them (unless pixel_fm is off), a check of whether what
//                        the pixel LFM does is LFM's or any pixel-space flow's at this budget
//    Both LFMs get the same blocks, OU step sizes, epochs per block, batch and learning rate (equal
//    optimiser steps on equally many images) and the same fixed-step solver; only the velocity MLP's
//    widths differ (its input is 16-D in one, 784-D in the other).
// 2. On the first n test images X and n samples of each model: sample quality (squared Frechet
//    distance, precision/recall, density/coverage in the classifier's features, as eval
//    --sample-quality), sliced W2 and the exact W1 (analysis/wasserstein.h) in pixels.
// 3. The bound W(P, g#Q) <= E||X - g(f(X))|| + Lip(g) W(f#P, Q), every term measured on X with W1:
//    the reconstruction term; the latent-model term W1(f(X), Q-samples); Lip(g) as the largest
//    decoder-Jacobian spectral norm (and secant ratio) found at the density conditions' codes, flow
//    (and prior) samples and points on segments between test codes and flow samples (a LOWER bound on Lip(g):
//    analysis/decoder_geometry.h); W1(g(f(X)), g(Q-samples)), the quantity Lip(g) W1(f#P, Q) stands in for;
//    and the left side W1(X, g(Q-samples)). Beside them the floors: W1 between X and n training images, and
//    between their codes. For the VAE also with its own N(0, I) prior as Q.
// 4. Densities on `density_images` test images, the same images with Gaussian noise (clipped to
//    [0, 1]), uniform-noise images and blank images (log p with RK4, likelihood_solver_steps per
//    block): the pixel LFM's dequantised log-likelihood bound (nats, bits/dim; Hutchinson's
//    divergence, one probe), and per autoencoder the density on the decoder's manifold log p_Z(f(x))
//    - 1/2 log det(J_g^T J_g) with its two parts and the distance ||x - g(f(x))||.
// 5. Training wall time of every stage (from each run's metrics.csv: the total, and the optimiser
//    steps alone).
//
// Writes into `out`: stages.csv, samples.csv, bound.csv, density.csv, density_summary.csv,
// lipschitz.csv (per code), decoder_spectrum.csv (mean log10 sigma_k per code set) and the figures
// samples-*.png, reconstructions-*.png, bound.png, training_time.png, lipschitz.png,
// decoder_spectrum.png, density-*.png; progress goes to `log`.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "training/run_config.h"

namespace strata::training {

struct TwoStepOptions {
  std::vector<std::string> autoencoders = {"vae", "ae"};
  int64_t limit_train = 0;  // every model trains on the first N training images (0: all 60,000)
  std::vector<int64_t> ae_hidden = {512, 256};
  int64_t latent = 16;
  int64_t ae_epochs = 20;
  double ae_lr = 1e-3;
  // Both LFMs.
  int64_t blocks = 5;                                      // OU blocks and the free one
  std::vector<double> step_sizes = {0.05, 0.1, 0.2, 0.4};  // blocks - 1 OU step sizes
  int64_t block_epochs = 2;
  int64_t batch_size = 128;
  double flow_lr = 1e-3;
  std::vector<int64_t> latent_velocity_hidden = {256, 256, 256};
  std::vector<int64_t> pixel_velocity_hidden = {512, 512, 512};
  int64_t time_features = 64;
  std::string solver = "heun";
  int64_t solver_steps = 5;              // per unit time, i.e. per block
  int64_t likelihood_solver_steps = 20;  // log p of both LFMs: RK4 steps per block
  // Also global flow matching on the pixels (RUNS/pixel-fm): one velocity MLP of the pixel widths,
  // as many steps as the LFMs, sampled and evaluated with as many velocity evaluations.
  bool pixel_fm = true;
  // The feature classifier: a run of strata train --model classifier on fashion-mnist; empty: train
  // RUNS/classifier; "none": no feature-space scores (quick checks: the classifier's validation on
  // the 10,000 test images alone takes seconds).
  std::string classifier_run = "";
  int64_t classifier_epochs = 1;
  // Evaluation.
  int64_t n = 1000;              // test images and samples per model (W1, sample quality)
  int64_t density_images = 200;  // test images per density condition
  std::vector<double> noise_sigmas = {0.1, 0.3};
  int64_t lipschitz_codes = 200;  // flow samples and segment points searched for Lip(g), each
  int64_t directions = 1000;      // sliced W2
  uint64_t seed = 0;
  int threads = 0;  // CPU threads (0: leave as is)
  std::string runs = "runs/two-step";
  bool reuse = false;
  std::string out = "docs/two-step";
  std::ostream* log = nullptr;  // progress (null: std::cout)
};

struct TwoStepStage {
  std::string stage, run;
  int64_t parameters = 0, epochs = 0, steps = 0;
  double wall_s = 0;  // the run's metrics.csv: to its last validation
  double step_s = 0;  // the optimiser steps alone (estimated from the per-step times)
  bool reused = false;
};

struct TwoStepSamples {
  std::string model;
  double frechet = 0, precision = 0, recall = 0, density = 0, coverage = 0;
  double sliced_w2 = 0, w1 = 0;  // in pixels, against X
  double sample_s = 0;           // drawing the n samples (decoding included)
  int64_t nfe = 0;               // velocity evaluations of that draw
};

struct TwoStepBound {
  std::string autoencoder, latent_model;  // latent_model "lfm" or "prior"
  int64_t n = 0;
  double reconstruction = 0;      // mean ||x - g(f(x))||
  double latent_w1 = 0;           // W1(f(X), Q-samples)
  double lipschitz_jacobian = 0;  // largest spectral norm of J_g found
  double lipschitz_secant = 0;    // largest secant ratio found
  double lipschitz = 0;           // the larger of the two: the Lip(g) used
  double bound = 0;               // reconstruction + lipschitz * latent_w1
  double decoded_w1 = 0;          // W1(g(f(X)), g(Q-samples))
  double left = 0;                // W1(X, g(Q-samples))
  double pixel_floor = 0;         // W1(X, n training images)
  double latent_floor = 0;        // W1(f(X), f(n training images))
  double code_rms = 0;            // sqrt(mean ||f(x)||^2 / d): the codes' scale
};

struct TwoStepDensity {
  std::string condition;
  std::string model;  // "pixel-lfm" or an autoencoder
  int64_t image = 0;
  double log_density = 0;   // nats: the pixel LFM's bound on log P(x) / the two-step density on the manifold
  double bits_per_dim = 0;  // pixel LFM only (NaN otherwise)
  double latent_log_density = 0, half_log_det = 0, reconstruction = 0, spectral_norm = 0;  // two-step only
};

struct TwoStepReport {
  std::vector<TwoStepStage> stages;
  std::vector<TwoStepSamples> samples;
  std::vector<TwoStepBound> bounds;
  std::vector<TwoStepDensity> densities;
  double wall_s = 0;
};

// The runs the study trains, in order, by stage name, as `strata train` settings (out: RUNS/<name>):
// the classifier (unless classifier_run is given), each autoencoder and the LFM on its codes, the
// pixel LFM and the pixel FM.
std::vector<std::pair<std::string, RunConfig>> two_step_stage_configs(const TwoStepOptions& options);
// Whether config.out holds a finished run of exactly these settings (threads aside): what reuse loads.
bool finished_run_of(const RunConfig& config);

// Throws, naming the command, the option and the value, for settings the study cannot run with.
void check_two_step_options(const TwoStepOptions& options);
TwoStepReport two_step_report(const TwoStepOptions& options);

}  // namespace strata::training
