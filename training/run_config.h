// The settings of one training run. The same settings come from command-line flags or from a JSON
// file (--config), and the fully resolved set is written back into the run folder as config.json,
// so `strata train --config runs/NAME/config.json` repeats a run exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::training {

struct RunConfig {
  std::string model = "vae";             // see model_names()
  std::string data = "fashion-mnist";    // see dataset_names(), or tensors:FILE.safetensors
  double validation_fraction = 0.1;      // csv:FILE and npy:FILE: share of rows held out (drawn with seed)
  int64_t epochs = 1;
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t latent = 32;
  std::vector<int64_t> hidden = {512, 256};
  uint64_t seed = 0;
  std::string out = "runs/vae";
  int threads = 0;                       // 0: every core
  int64_t limit_train = 0;               // use only the first N training examples (0: all)
  int64_t log_every = 50;                // steps between plain progress lines when not on a terminal
  int64_t samples = 64;                  // images in each sample / reconstruction grid
  double clip_grad_norm = 0;             // global L2 norm the gradients are clipped to (0: off)
  int64_t checkpoint_every = 0;          // steps between mid-epoch checkpoints (0: epoch ends only)
  bool detect_anomaly = false;           // name the first op producing NaN/Inf (autograd AnomalyMode)
  // Autoencoder-family settings (models/autoencoders/); each model reads the ones it has.
  std::string arch = "auto";             // mlp, conv, or auto (conv for cae, mlp otherwise)
  std::string likelihood = "bernoulli";  // bernoulli, gaussian (sigma = gaussian_sigma), gaussian-learned
  double gaussian_sigma = 1.0;
  double beta = 0;                       // KL weight; 0: the model's default (vae 1, beta-vae 4)
  double capacity_max = 0;               // C_max in nats of Burgess et al. (0: off); they use 25
  int64_t capacity_steps = 100000;       // steps over which C grows linearly to capacity_max
  double capacity_gamma = 1000;          // gamma of gamma * |KL - C|
  std::string kl_warmup = "none";        // none, linear, cyclical
  int64_t kl_warmup_steps = 10000;       // linear: steps to full weight; cyclical: steps per cycle
  std::string corruption = "gaussian";   // dae: gaussian, masking, salt-and-pepper
  double noise_sigma = 0.3;              // dae, gaussian corruption
  double corruption_fraction = 0.25;     // dae, masking and salt-and-pepper
  bool conditional = false;              // VAE-type models (CVAE) and fm (classifier-free guidance): labelled data
  double factor_gamma = 35;              // factor-vae: weight of the discriminator's TC estimate
  double discriminator_lr = 1e-4;        // factor-vae: the discriminator's Adam lr (betas 0.5, 0.9)
  std::vector<int64_t> discriminator_hidden = std::vector<int64_t>(6, 1000);  // factor-vae: D's widths
  int64_t iw_samples = 5;                // iwae: importance samples K (Burda et al. use 1, 5, 50)
  std::string mmd_kernel = "auto";       // wae, info-vae: imq, rbf, or auto (imq for wae, rbf for info-vae)
  double mmd_lambda = 0;                 // wae, info-vae: MMD weight; 0: the model's default (wae 10, info-vae 1000)
  double info_alpha = 0;                 // info-vae: alpha (KL weight 1 - alpha)
  int64_t codebook_size = 512;           // vq-vae: K
  int64_t code_dim = 4;                  // vq-vae: size of each code vector (must divide latent)
  double vq_beta = 0.25;                 // vq-vae: commitment cost
  bool vq_ema = true;                    // vq-vae: EMA codebook updates (off: the codebook loss term)
  double vq_decay = 0.99;                // vq-vae: EMA decay
  // beta-TCVAE and alpha-TCVAE (kl_decomposition.h): the estimator of log q(z) and the weights; their
  // beta (above, 0 = default) is the TC weight, 6, for beta-tcvae and the bracket weight, 1, for alpha-tcvae.
  std::string tc_estimator = "auto";     // mws, mss, or auto (beta-tcvae mws, alpha-tcvae mss)
  double mi_alpha = 1.0;                 // beta-tcvae: weight alpha of the index-code mutual information
  double dwkl_gamma = 1.0;               // beta-tcvae: weight gamma of the dimension-wise KL
  double alpha = 0.25;                   // alpha-tcvae: alpha in [0, 1] (0: beta-VAE)
  int64_t views = 0;                     // alpha-tcvae: K; 0: latent (paper form) or batch - 1 (public-code)
  std::string alpha_tc_form = "paper";   // alpha-tcvae: paper or public-code
  // DIP-VAE (Kumar et al. 2018).
  std::string dip_type = "i";            // i (covariance of the means) or ii (covariance of z under q(z))
  double lambda_od = 10;                 // weight of the off-diagonal penalty
  double lambda_d = 0;                   // weight of the diagonal penalty; 0: 10 lambda_od (i) or lambda_od (ii)
  // Flow settings (models/flows/): fm and lfm.
  std::vector<int64_t> velocity_hidden = {256, 256, 256};  // velocity MLP widths (W3 of WORKLOADS.md)
  int64_t time_features = 0;             // 0: t as one input feature (W3); else sinusoidal features (even)
  std::string velocity_net = "mlp";      // mlp, or unet (images only: models/flows/velocity_unet.h)
  int64_t unet_channels = 32;            // unet: base width c_0 (levels c_0, 2 c_0, 2 c_0)
  double p_uncond = 0.1;                 // fm --conditional: share of rows trained with the null label (CFG)
  std::string interpolant = "auto";      // linear, trig, or auto (trig for lfm, linear for fm)
  std::string coupling = "independent";  // fm: independent, exact-ot, sinkhorn
  double sinkhorn_epsilon = 0.05;        // fm sinkhorn coupling, relative to the largest pair cost
  int64_t blocks = 0;                    // lfm blocks, the free one included (0: step_sizes + 1)
  std::vector<double> step_sizes = {};   // lfm OU step sizes (empty: the paper code's 2-D schedule)
  int64_t block_epochs = 1;              // lfm epochs per block
  std::string solver = "dopri5";         // euler, heun, rk4, dopri5
  int64_t solver_steps = 20;             // fixed-step solvers: steps per unit time
  double rtol = 1e-5;                    // dopri5
  double atol = 1e-5;                    // dopri5
  std::string divergence = "auto";       // log_prob: exact, hutchinson, or auto (exact up to 16 dims)
  std::string dequantize = "auto";       // fm, lfm: none, uniform (8-bit pixels), auto (uniform for fashion-mnist)
  int64_t pictures_every = 1;            // epochs between sample / reconstruction pictures (0: last epoch only)
  std::string latent_of = "";            // fm, lfm: train on the codes of this autoencoder run (training/two_step.h)
};

nlohmann::json to_json(const RunConfig& config);
// Keys absent from `j` keep their defaults; unknown keys and wrongly typed values are errors that
// name the key, `source` (the file) and the valid keys.
RunConfig config_from_json(const nlohmann::json& j, const std::string& source);
RunConfig load_config(const std::string& path);
// Checks every value (positive sizes, known model and dataset, ...), naming the valid choices.
void validate(const RunConfig& config);

}  // namespace strata::training
