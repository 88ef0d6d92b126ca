// `strata analyze generalization`: the VAE generalization study of Xiao, Zenn & Bamler (2023, "A
// Note on Generalization in Variational Autoencoders: How Effective Is Synthetic Data &
// Overparameterization?", shared/papers/vae_generalization.md) at CPU scale on Fashion-MNIST.
//
// Data: the first `subset` training images and the first `test` test images, binarised at a fixed
// threshold (pixel > 0.5 -> 1), so every ELBO is a bound on a discrete log-likelihood under the one
// Bernoulli likelihood used throughout (the paper's binarised-MNIST setting).
//
// 1. A generative model is trained on the subset only: a VAE with a `generator_latent`-dimensional
//    latent, then flow matching (models/flows/flow_matching.h, velocity MLP) on its posterior means
//    (two-step generation, as `strata train --model fm --latent-of`); its samples are decoded to pixel
//    means p and turned into binary images by the generator's own likelihood, x ~ Bernoulli(p)
//    (`synthetic_pixels` "bernoulli"), or by the data's threshold, p > 0.5 ("threshold": the
//    most likely image, of lower entropy than the data). (Flow matching in pixel space with a velocity MLP
//    gave noise after minutes of training on 2 cores; see docs/vae-generalization.md.) It draws a
//    pool of `synthetic_epochs` x `subset` samples: each epoch of the synthetic-data VAE reads a slice
//    it has never seen (fresh samples every epoch: the paper's "DMaaPx" protocol with the flow in the
//    diffusion model's role).
// 2. Three MLP VAEs of one initialisation are trained for `epochs` epochs: "normal" on the subset,
//    "synthetic" on the flow's samples, "augmented" on the subset shifted by up to +-`max_shift`
//    pixels per image each epoch (engine/data/image_shift.h). After every epoch: the ELBO on the real
//    training subset and on the test images (one draw each, the training objective's estimate,
//    fixed draws per epoch), and their difference, the generalization gap.
// 3. At the end, on the first `eval_points` training and test images: ELBO and IWAE log-likelihood
//    (K = `importance_samples`, analysis/autoencoder_evaluation.h, as `strata eval`), their gaps,
//    and the amortization gap (analysis/generalization.h: per-example Gaussian posteriors optimised
//    with Adam, decoder frozen) on the first `amortization_points` of each.
// 4. Width sweep: "normal" VAEs with hidden widths {outer, inner} (encoder order; the decoder mirrors
//    them), growing the layer next to the latent (inner, outer fixed) or the outer layer (outer,
//    inner fixed), each trained `sweep_epochs` epochs: final and best test ELBO against parameter count.
//
// Writes into `out`: curves.csv, summary.csv, sweep.csv, flow.csv, amortization.csv and the figures elbo_curves.png,
// generalization_gap.png, width_sweep.png, flow_loss.png, examples.png; progress goes to `log`.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace strata::training {

struct GeneralizationOptions {
  int64_t subset = 3000;       // training images (the first N of Fashion-MNIST's training split)
  int64_t test = 2000;         // test images (the first N of the test split)
  int64_t epochs = 80;         // VAE epochs of each regime
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t latent = 32;
  std::vector<int64_t> hidden = {512, 256};  // the three regimes' VAE (encoder order)
  // The generative model: a VAE (hidden widths as above, this latent) trained generator_epochs, then
  // fm on its codes (velocity MLP, linear path, independent coupling).
  int64_t generator_latent = 16;
  int64_t generator_epochs = 50;
  std::vector<int64_t> flow_hidden = {256, 256, 256};
  int64_t flow_time_features = 64;
  int64_t flow_epochs = 200;
  int64_t flow_batch_size = 128;
  double flow_lr = 1e-3;
  int64_t flow_solver_steps = 5;  // fixed-step Heun solver (2 velocity evaluations a step)
  std::string synthetic_pixels = "bernoulli";  // or "threshold"
  int64_t synthetic_epochs = 0;    // epochs' worth of distinct samples in the pool (0: epochs, all fresh)
  int64_t max_shift = 2;           // augmentation: shifts in {-max_shift..max_shift} pixels, x and y
  int64_t eval_points = 1000;      // final ELBO / IWAE on this many train and test images
  int64_t importance_samples = 500;   // K of the IWAE estimate
  int64_t amortization_points = 500;  // train and test images whose posteriors are optimised
  int64_t amortization_steps = 300;
  double amortization_lr = 1e-2;
  int64_t amortization_samples = 100;  // draws per example of the two reported ELBOs
  bool sweep = true;
  int64_t sweep_epochs = 40;
  int64_t sweep_outer_fixed = 512, sweep_inner_fixed = 64;
  std::vector<int64_t> sweep_inner = {16, 64, 256, 1024};   // with outer = sweep_outer_fixed
  std::vector<int64_t> sweep_outer = {128, 512, 2048};      // with inner = sweep_inner_fixed
  std::vector<std::string> regimes = {"normal", "synthetic", "augmented"};
  uint64_t seed = 0;
  int threads = 0;                            // CPU threads (0: leave as is)
  std::string out = "runs/generalization";    // folder of the CSVs and figures
  std::ostream* log = nullptr;                // progress (null: std::cout)
};

struct GeneralizationEpoch {
  std::string regime;
  int64_t epoch = 0;
  double train_elbo = 0, test_elbo = 0;  // on the real training subset and the test images
  double fit_elbo = 0;                   // the mean training objective (-loss) on what the epoch trained on
  double wall_s = 0;
};

struct GeneralizationSummary {
  std::string regime;
  double train_elbo = 0, test_elbo = 0, elbo_gap = 0;
  double train_iwae = 0, test_iwae = 0, iwae_gap = 0;
  double train_amortization_gap = 0, test_amortization_gap = 0;
  double best_test_elbo = 0;  // over the epochs (curve values)
  int64_t best_epoch = 0;
};

struct SweepPoint {
  std::string path;  // "inner" (layer next to the latent grown) or "outer"
  int64_t outer = 0, inner = 0, parameters = 0;
  double train_elbo = 0, test_elbo = 0, best_test_elbo = 0;
  int64_t best_epoch = 0;
};

// The mean one-draw ELBO estimate at each Adam step of the posterior optimisation (convergence check).
struct AmortizationTrace {
  std::string regime, split;  // split "train" or "test"
  std::vector<double> mean_elbo;
};

struct GeneralizationReport {
  std::vector<GeneralizationEpoch> curves;
  std::vector<AmortizationTrace> amortization_traces;
  std::vector<GeneralizationSummary> summary;
  std::vector<SweepPoint> sweep;
  std::vector<double> flow_loss;  // per flow epoch (on the generator VAE's codes)
  double wall_s = 0;
};

// The regime names `regimes` accepts.
const std::vector<std::string>& generalization_regimes();
// Throws, naming the command, the option and the value, for settings the study cannot run with.
void check_generalization_options(const GeneralizationOptions& options);

GeneralizationReport generalization_report(const GeneralizationOptions& options);

}  // namespace strata::training
