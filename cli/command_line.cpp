#include "cli/command_line.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "training/metrics_evaluation.h"
#include "training/registry.h"
#include "training/sample_quality_evaluation.h"

namespace strata::cli {

using training::RunConfig;

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::vector<int64_t> parse_widths(const std::string& text) {
  std::vector<int64_t> widths;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      widths.push_back(std::stoll(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error("--hidden: \"" + text + "\" is not a comma-separated list of widths (e.g. 512,256)");
    }
  }
  return widths;
}

std::vector<double> parse_numbers(const std::string& flag, const std::string& text) {
  std::vector<double> numbers;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      numbers.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error(flag + ": \"" + text + "\" is not a comma-separated list of numbers (e.g. 0.1,0.2)");
    }
  }
  return numbers;
}

// --dims of sample --traversal: latent dimensions, comma separated (checked against the model later).
std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> dims;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t used = 0;
    int64_t d = -1;
    try {
      d = std::stoll(part, &used);
    } catch (const std::exception&) {
    }
    STRATA_CHECK(used > 0 && used == part.size() && d >= 0, "--dims: \"", text,
                 "\" is not a comma-separated list of latent dimensions (e.g. 0,1,5)");
    dims.push_back(d);
  }
  return dims;
}

// An option of an analyze command with --quick: `quick` is its value under --quick when the option
// itself is not given (apply_quick sets those). Lists are comma separated.
template <class T, class Q>
void add_quick_option(CLI::App& app, QuickValues& quick_values, const char* flag, T& target, Q quick,
                      const std::string& help) {
  CLI::Option* option = app.add_option(flag, target, help);
  if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<std::string>> ||
                std::is_same_v<T, std::vector<double>>)
    option->delimiter(',');
  quick_values.push_back({option, [&target, quick] { target = quick; }});
}

void apply_quick(const QuickValues& quick_values) {
  for (const auto& [option, set_quick] : quick_values)
    if (option->count() == 0) set_quick();
}

}  // namespace

CommandLine::CommandLine() {
  app_.require_subcommand(1);

  // Flags override the config file, which overrides the defaults; only flags actually given count.
  train_cmd_ = app_.add_subcommand("train", "train a model; with no flags, the W1 VAE on Fashion-MNIST");
  CLI::App& cmd = *train_cmd_;
  RunConfig& v = train_.values;
  auto add = [&](const char* flag, const char* key, auto& target, const char* help) {
    train_.options.push_back({key, cmd.add_option(flag, target, help)});
  };
  add("--model", "model", v.model, ("model to train (" + joined(training::model_names()) + ")").c_str());
  add("--data", "data", v.data,
      "dataset: fashion-mnist, dsprites, shapes3d, toy:NAME, tensors:FILE.safetensors, csv:FILE or npy:FILE");
  add("--validation-fraction", "validation_fraction", v.validation_fraction,
      "csv/npy data: share of the rows held out for validation, drawn with the seed (default 0.1)");
  add("--epochs", "epochs", v.epochs, "epochs to train (default 1)");
  add("--batch-size", "batch_size", v.batch_size, "minibatch size (default 128)");
  add("--lr", "lr", v.lr, "Adam learning rate (default 1e-3)");
  add("--latent", "latent", v.latent, "latent dimensions (default 32)");
  train_.options.push_back(
      {"hidden", cmd.add_option("--hidden", train_.hidden, "hidden widths, comma separated (default 512,256)")});
  add("--seed", "seed", v.seed, "seed of every random choice (default 0)");
  add("--out", "out", v.out, "run folder (default runs/vae)");
  add("--threads", "threads", v.threads, "CPU threads (default: all cores)");
  add("--limit-train", "limit_train", v.limit_train, "use only the first N training examples");
  add("--log-every", "log_every", v.log_every, "steps between progress lines when not on a terminal");
  add("--samples", "samples", v.samples, "images per sample / reconstruction grid (default 64)");
  add("--pictures-every", "pictures_every", v.pictures_every,
      "epochs between sample / reconstruction pictures (default 1; 0: the last epoch only; sampling a flow "
      "solves an ODE, so this is part of the training time)");
  add("--clip-grad-norm", "clip_grad_norm", v.clip_grad_norm,
      "scale gradients down to this global L2 norm before each step (default 0: off)");
  add("--checkpoint-every", "checkpoint_every", v.checkpoint_every,
      "also save checkpoints/latest every N steps (default 0: at epoch ends only)");
  train_.options.push_back({"detect_anomaly", cmd.add_flag("--detect-anomaly", v.detect_anomaly,
                                                           "stop at the first op whose output or gradient is "
                                                           "NaN or infinite, naming it (slower)")});
  // Autoencoder-family settings (models/autoencoders/); defaults are the papers' where they have one.
  add("--arch", "arch", v.arch,
      "encoder/decoder: mlp, conv (W2), conv4 (64x64: four stride-2 convs, Burgess et al. 2018), or auto (conv for "
      "cae, mlp otherwise)");
  add("--likelihood", "likelihood", v.likelihood, "p(x|z): bernoulli, gaussian, gaussian-learned (default bernoulli)");
  add("--gaussian-sigma", "gaussian_sigma", v.gaussian_sigma, "sigma of the fixed-variance gaussian likelihood (default 1)");
  add("--beta", "beta", v.beta, "KL weight (default: 1 for vae, 4 for beta-vae, Higgins et al. 2017)");
  add("--capacity-max", "capacity_max", v.capacity_max,
      "capacity annealing C_max in nats, loss gamma |KL - C| (Burgess et al. 2018 use 25; default 0: off)");
  add("--capacity-steps", "capacity_steps", v.capacity_steps, "steps for C to grow linearly to C_max (default 100000)");
  add("--capacity-gamma", "capacity_gamma", v.capacity_gamma, "gamma of the capacity objective (default 1000)");
  add("--kl-warmup", "kl_warmup", v.kl_warmup, "KL weight schedule: none, linear, cyclical (default none)");
  add("--kl-warmup-steps", "kl_warmup_steps", v.kl_warmup_steps,
      "linear: steps to full KL weight; cyclical: steps per cycle (default 10000)");
  add("--corruption", "corruption", v.corruption, "dae input corruption: gaussian, masking, salt-and-pepper");
  add("--noise-sigma", "noise_sigma", v.noise_sigma, "dae gaussian corruption sigma (default 0.3)");
  add("--corruption-fraction", "corruption_fraction", v.corruption_fraction,
      "dae masking / salt-and-pepper probability per value (default 0.25)");
  train_.options.push_back({"conditional", cmd.add_flag("--conditional", v.conditional,
                                                        "VAE-type models: condition encoder and decoder on the "
                                                        "class label (CVAE, Sohn et al. 2015); fm: classifier-free "
                                                        "guidance (--velocity-net unet); labelled data only")});
  add("--factor-gamma", "factor_gamma", v.factor_gamma, "factor-vae: weight gamma of the TC term (default 35)");
  add("--discriminator-lr", "discriminator_lr", v.discriminator_lr,
      "factor-vae: Adam lr of the discriminator (default 1e-4; betas 0.5, 0.9 as Kim & Mnih 2018)");
  train_.options.push_back(
      {"discriminator_hidden", cmd.add_option("--discriminator-hidden", v.discriminator_hidden,
                                              "factor-vae: discriminator hidden widths, comma separated "
                                              "(default six of 1000)")
                                   ->delimiter(',')});
  add("--iw-samples", "iw_samples", v.iw_samples, "iwae importance samples K (default 5; Burda et al. use 1, 5, 50)");
  add("--kernel", "mmd_kernel", v.mmd_kernel, "wae/info-vae MMD kernel: imq, rbf, or auto (imq for wae, rbf for info-vae)");
  add("--mmd-lambda", "mmd_lambda", v.mmd_lambda, "wae/info-vae MMD weight lambda (default: wae 10, info-vae 1000)");
  add("--info-alpha", "info_alpha", v.info_alpha, "info-vae alpha; the KL weight is 1 - alpha (default 0)");
  add("--codebook-size", "codebook_size", v.codebook_size, "vq-vae codebook size K (default 512)");
  add("--code-dim", "code_dim", v.code_dim, "vq-vae code vector size; must divide --latent (default 4)");
  add("--vq-beta", "vq_beta", v.vq_beta, "vq-vae commitment cost beta (default 0.25)");
  add("--vq-ema", "vq_ema", v.vq_ema, "vq-vae EMA codebook updates: on or off (off: codebook loss term; default on)");
  add("--vq-decay", "vq_decay", v.vq_decay, "vq-vae EMA decay (default 0.99)");
  add("--tc-estimator", "tc_estimator", v.tc_estimator,
      "beta-tcvae/alpha-tcvae estimator of log q(z): mws, mss, or auto (mws for beta-tcvae, mss for alpha-tcvae)");
  add("--mi-alpha", "mi_alpha", v.mi_alpha,
      "beta-tcvae weight alpha of the index-code mutual information (default 1; --beta weights the TC, default 6)");
  add("--dwkl-gamma", "dwkl_gamma", v.dwkl_gamma, "beta-tcvae weight gamma of the dimension-wise KL (default 1)");
  add("--alpha", "alpha", v.alpha, "alpha-tcvae alpha in [0, 1]: 0 is beta-VAE (default 0.25, Meo et al. 2024)");
  add("--views", "views", v.views,
      "alpha-tcvae number of views K (default 0: the latent size; batch size - 1 for --alpha-tc-form public-code)");
  add("--alpha-tc-form", "alpha_tc_form", v.alpha_tc_form,
      "alpha-tcvae objective: paper (KL_VIB + KL_CEB) or public-code (the authors' file: minus dim-wise KL)");
  add("--dip-type", "dip_type", v.dip_type, "dip-vae: i (covariance of the means) or ii (covariance of z), default i");
  add("--lambda-od", "lambda_od", v.lambda_od, "dip-vae off-diagonal penalty weight (default 10)");
  add("--lambda-d", "lambda_d", v.lambda_d,
      "dip-vae diagonal penalty weight (default 0: 10 x lambda-od for type i, lambda-od for type ii)");
  // Flow settings (models/flows/): fm and lfm.
  train_.options.push_back({"velocity_hidden", cmd.add_option("--velocity-hidden", train_.velocity_hidden,
                                                              "flows: velocity MLP widths (default 256,256,256, W3)")});
  add("--time-features", "time_features", v.time_features,
      "flows: 0 feeds t as one input (default, W3; the unet takes 64); an even number: sinusoidal time features");
  add("--velocity-net", "velocity_net", v.velocity_net,
      "flows: velocity network mlp (default) or unet (images: a small conv U-Net, Ronneberger et al. 2015, DDPM)");
  add("--unet-channels", "unet_channels", v.unet_channels, "flows --velocity-net unet: base width (default 32)");
  add("--p-uncond", "p_uncond", v.p_uncond,
      "fm --conditional: probability of training a row with the null label (default 0.1, Ho & Salimans 2022)");
  add("--interpolant", "interpolant", v.interpolant, "flows: linear, trig, or auto (trig for lfm, linear for fm)");
  add("--coupling", "coupling", v.coupling, "fm: independent, exact-ot (minibatch assignment), sinkhorn");
  add("--sinkhorn-epsilon", "sinkhorn_epsilon", v.sinkhorn_epsilon, "fm sinkhorn: epsilon relative to the largest cost (0.05)");
  add("--blocks", "blocks", v.blocks, "lfm: blocks, the free one included (default: step sizes + 1, 9)");
  train_.options.push_back({"step_sizes", cmd.add_option("--step-sizes", train_.step_sizes,
                                                         "lfm: OU step sizes, comma separated (default 0.025,...,0.119)")});
  add("--block-epochs", "block_epochs", v.block_epochs, "lfm: epochs per block (default 1)");
  add("--solver", "solver", v.solver, "flows: ODE solver euler, heun, rk4, dopri5 (default dopri5)");
  add("--solver-steps", "solver_steps", v.solver_steps, "flows: steps of the fixed-step solvers (default 20)");
  add("--rtol", "rtol", v.rtol, "flows: dopri5 relative tolerance (default 1e-5)");
  add("--atol", "atol", v.atol, "flows: dopri5 absolute tolerance (default 1e-5)");
  add("--divergence", "divergence", v.divergence, "flows log_prob: exact, hutchinson, auto (exact up to 16 dims)");
  add("--dequantize", "dequantize", v.dequantize,
      "flows: none, uniform (train on (k + u) / 256, u ~ U[0, 1); log p(x) is then a bound on the 8-bit data's "
      "discrete likelihood), auto (default: uniform for fashion-mnist pixels, none otherwise)");
  add("--latent-of", "latent_of", v.latent_of,
      "fm, lfm: train on the latent codes (posterior means) of the autoencoder run AE_RUN and decode the samples "
      "(two-step generation); --data defaults to that run's data");
  cmd.add_option("--config", train_.config_file, "JSON file with the same settings (flags override it)");
  cmd.add_option("--resume", train_.resume_dir, "continue the run in this folder from its latest checkpoint");
  // Launch settings, not the run's: they are not written to config.json.
  cmd.add_option("--device", other_.device,
                 "where the model trains: cpu, cuda, cuda:N, or auto (default: cuda when a GPU is usable, else cpu)");
  cmd.add_flag("--distributed", other_.distributed,
               "data-parallel over the processes of an MPI job (mpirun -np N strata train ... --distributed): "
               "each process trains on its shard with --batch-size examples per step; gradients are averaged");
  cmd.add_option("--distributed-timeout", other_.distributed_timeout,
                 "--distributed: seconds to wait for the other processes before failing (default 600)");
  cmd.add_option("--distributed-backend", other_.distributed_backend,
                 "--distributed --device cuda: how gradients travel between GPUs: nccl, mpi (through host copies), "
                 "or auto (default: nccl when this build has it)");
  cmd.add_option("--distributed-bucket-mb", other_.distributed_bucket_mb,
                 "--distributed: MiB of gradients per all-reduce; smaller buckets start sooner during backward "
                 "over a network with idle cores (default 25, as PyTorch's DDP)");

  sample_cmd_ = app_.add_subcommand("sample", "draw samples from a trained run into a PNG grid");
  sample_cmd_->add_option("--run", other_.run_dir, "run folder")->required();
  sample_cmd_->add_option("--n", other_.sample_n, "number of samples (default 64)");
  sample_cmd_->add_option("--seed", other_.sample_seed, "seed of the draws (default 0)");
  sample_cmd_->add_option("--out", other_.sample_out,
                          "PNG file (default RUN/samples/sample.png, or RUN/traversals/traversal.png)");
  guidance_option_ = sample_cmd_->add_option(
      "--guidance-scale", guidance_scale_,
      "conditional fm: classifier-free guidance w, v_uncond + w (v_cond - v_uncond); 1 conditional (default), 0 "
      "unconditional");
  sample_cmd_->add_flag("--traversal", other_.traversal,
                        "latent traversal grid instead: a row per latent dim, swept over [-3, 3]");
  sample_cmd_->add_option("--dims", traversal_dims_, "--traversal: latent dims to sweep, e.g. 0,1,5 (default all)");
  sample_cmd_->add_option("--steps", other_.traversal_steps, "--traversal: columns per row, 2..101 (default 11)");
  sample_cmd_->add_option("--example", other_.traversal_example,
                          "--traversal: held-out example whose posterior mean is the center (default 0)");
  sample_cmd_->add_flag("--prior-center", other_.traversal_prior_center,
                        "--traversal: center at 0, the prior's mean, instead of an example's code");

  eval_cmd_ = app_.add_subcommand(
      "eval", "held-out reconstruction error, ELBO and importance-sampled log-likelihood of a trained run");
  eval_cmd_->add_option("--run", other_.run_dir, "run folder")->required();
  eval_cmd_->add_option("--checkpoint", other_.checkpoint, "best or latest (default best)")
      ->check(CLI::IsMember({"best", "latest"}));
  eval_cmd_->add_flag("--nll", other_.nll,
                      "flows: held-out NLL (nats), sliced W2 and MMD of samples against held-out data, and "
                      "function evaluations");
  eval_n_option_ = eval_cmd_->add_option("--n", other_.eval_n,
                                         "--nll: held-out examples and samples (default 2000); --sample-quality: "
                                         "samples and held-out images (default " +
                                             std::to_string(training::kSampleQualityDefaultN) + ")");
  eval_cmd_->add_option("--seed", other_.eval_seed,
                        "--nll, --metrics, --sample-quality: seed of the samples, projections and metric draws "
                        "(default 0)");
  eval_cmd_->add_flag("--sample-quality", other_.sample_quality,
                      "samples against held-out images in the features of a classifier trained by strata "
                      "(--classifier): Frechet distance (not Inception FID), precision/recall (k 3), "
                      "density/coverage (k 5); written to RUN/sample_quality.json");
  eval_cmd_->add_option("--classifier", other_.classifier_run,
                        "--sample-quality: a run of strata train --model classifier on the same data");
  eval_cmd_->add_option("--eval-samples", other_.eval_samples,
                        "importance samples K of the log-likelihood estimate (default 1000)");
  eval_cmd_->add_option("--limit", other_.eval_limit, "evaluate only the first N held-out examples (default 0: all)");
  eval_cmd_->add_option("--metrics", metrics_,
                        "disentanglement and diversity metrics instead, comma separated: mig, sap, dci, factorvae, "
                        "betavae, modularity (data with known factors: dsprites), vendi (prior samples), or all; "
                        "written to RUN/metrics.json");
  eval_cmd_->add_option("--metric-points", other_.metric_points,
                        "--metrics: training points per metric, test points half as many (default 0: the metrics' "
                        "own defaults, 10,000 and 5,000)");
  eval_cmd_->add_option("--metric-votes", other_.metric_votes,
                        "--metrics factorvae, betavae: training votes (each one batch of 64 encoded images for "
                        "factorvae, 64 pairs for betavae), evaluation votes half as many (default 0: as "
                        "--metric-points)");
  eval_cmd_->add_option("--vendi-samples", other_.vendi_samples, "--metrics vendi: samples from the prior (default 1000)");

  list_cmd_ = app_.add_subcommand("list", "the models and datasets strata knows");

  analyze_cmd_ = app_.add_subcommand("analyze", "manifold analysis of data and of trained runs' latent codes");
  analyze_cmd_->require_subcommand(1);
  latent_geometry_cmd_ = analyze_cmd_->add_subcommand(
      "latent-geometry", "CAE, DAE and VAE latent tensors under input noise: mode-unfolding Gram ranks, "
                         "log-Euclidean/Grassmann distances, kernel-PCA subspace angles; CSV and PNG");
  training::LatentGeometryOptions& lg = other_.latent_geometry;
  CLI::App& lc = *latent_geometry_cmd_;
  lc.add_option("--models", geometry_models_, "models, comma separated: cae, dae, vae (default all three)");
  lc.add_option("--epochs", lg.epochs, "training epochs per model (default 2)");
  lc.add_option("--limit-train", lg.limit_train, "train on the first N training images (default 0: all 60000)");
  lc.add_option("--batch-size", lg.batch_size, "minibatch size (default 128)");
  lc.add_option("--lr", lg.lr, "Adam learning rate (default 1e-3)");
  lc.add_option("--latent-channels", lg.latent_channels, "latent channels Cz of the Cz x 7 x 7 latent (default 16)");
  lc.add_flag_function("--no-code-relu", [&lg](int64_t) { lg.code_relu = false; }, "CAE/DAE: no ReLU on the code");
  lc.add_option("--dae-sigma", lg.dae_sigma, "DAE training noise standard deviation (default 0.3)");
  lc.add_option("--images", lg.images, "test images analysed, drawn with the seed (default 200)");
  lc.add_option("--sigmas", geometry_sigmas_, "noise levels, comma separated, the first 0 (default 0,0.05,...,0.5)");
  lc.add_option("--rank-rtol", lg.rank_rtol, "numerical rank: singular values above rtol * the largest (default 1e-5)");
  lc.add_option("--effective-rtol", lg.effective_rtol, "the looser rank tolerance reported beside it (default 1e-2)");
  lc.add_option("--components", lg.components, "kernel-PCA components per noise level (default 5)");
  lc.add_option("--seed", lg.seed, "seed of the initialisations, the images and the noise (default 0)");
  lc.add_option("--runs", lg.runs, "folder of the trained weights (default runs/latent-geometry)");
  lc.add_flag("--reuse", lg.reuse, "load RUNS/MODEL.safetensors when trained with the same settings");
  lc.add_option("--out", lg.out, "writes OUT-*.csv and OUT-*.png (default docs/latent-geometry)");
  lc.add_option("--threads", lg.threads, "CPU threads (default: all cores)");
  intrinsic_dim_cmd_ = analyze_cmd_->add_subcommand(
      "intrinsic-dim", "intrinsic dimension (MLE, TwoNN, local PCA) from exact k-NN, overall and per class");
  training::IntrinsicDimensionOptions& id = other_.intrinsic_dim;
  intrinsic_dim_cmd_->add_option("--data", id.data, "dataset (default fashion-mnist: train and test, 70,000 images)");
  intrinsic_dim_cmd_->add_option("--k", intrinsic_ks_, "neighbour counts, comma separated, each >= 2 (default 3,5,10,20)");
  intrinsic_dim_cmd_->add_option("--method", intrinsic_methods_, "mle, twonn, lpca, comma separated (default all three)");
  intrinsic_dim_cmd_->add_option("--run", id.run, "also the posterior means of the data under this autoencoder run");
  intrinsic_dim_cmd_->add_option("--out", id.out, "writes OUT.csv and OUT.svg (default docs/intrinsic-dimension)");
  intrinsic_dim_cmd_->add_option("--threads", id.threads, "CPU threads (default: all cores)");
  intrinsic_dim_cmd_->add_option("--limit", id.limit, "only the first N points (default 0: all)");
  intrinsic_dim_cmd_->add_option("--per-class-limit", id.per_class_limit,
                                 "per-class estimates on the first N points of each class (default 0: all)");
  intrinsic_dim_cmd_->add_option("--variance-fraction", id.variance_fraction,
                                 "lpca: share of the local variance the counted components explain (default 0.95)");
  intrinsic_dim_cmd_->add_flag_function(
      "--no-per-class", [&id](int64_t) { id.per_class = false; }, "only the estimates on all points");

  generalization_cmd_ = analyze_cmd_->add_subcommand(
      "generalization", "VAE generalization on a Fashion-MNIST subset: normal, flow-sample and shift-augmented "
                        "training; ELBO/IWAE/amortization gaps; a width sweep");
  training::GeneralizationOptions& g = other_.generalization;
  CLI::App& gc = *generalization_cmd_;
  // --quick: a tiny study for tests; flags given with it still win (quick_ holds the unset ones' values).
  auto gopt = [&](const char* flag, auto& target, auto quick, const std::string& help) {
    add_quick_option(gc, generalization_quick_, flag, target, quick, help);
  };
  using W = std::vector<int64_t>;
  gopt("--subset", g.subset, int64_t{200}, "training images, the first N of the training split (default 3000)");
  gopt("--test", g.test, int64_t{100}, "test images, the first N of the test split (default 2000)");
  gopt("--epochs", g.epochs, int64_t{2}, "VAE epochs per regime (default 80)");
  gopt("--batch-size", g.batch_size, int64_t{64}, "VAE and flow minibatch size (default 128)");
  gopt("--lr", g.lr, 1e-3, "VAE Adam learning rate (default 1e-3)");
  gopt("--latent", g.latent, int64_t{8}, "VAE latent dimensions (default 32)");
  gopt("--hidden", g.hidden, W{64, 32}, "VAE hidden widths, encoder order (default 512,256)");
  gopt("--generator-latent", g.generator_latent, int64_t{4},
       "latent size of the generator's VAE, whose codes flow matching models (default 16)");
  gopt("--generator-epochs", g.generator_epochs, int64_t{1}, "epochs of the generator's VAE on the subset (default 50)");
  gopt("--flow-hidden", g.flow_hidden, W{32}, "flow-matching velocity MLP widths (default 256,256,256)");
  gopt("--flow-epochs", g.flow_epochs, int64_t{2}, "flow-matching epochs on the generator's codes (default 200)");
  gopt("--flow-lr", g.flow_lr, 1e-3, "flow-matching Adam learning rate (default 1e-3)");
  gopt("--flow-solver-steps", g.flow_solver_steps, int64_t{2}, "Heun steps per sample (default 5)");
  gopt("--synthetic-epochs", g.synthetic_epochs, int64_t{0},
       "epochs' worth of distinct flow samples, cycled after (default 0: --epochs, fresh samples every epoch)");
  gopt("--synthetic-pixels", g.synthetic_pixels, std::string("bernoulli"),
       "binary images from the generator's pixel means: bernoulli (sampled) or threshold (> 0.5) (default bernoulli)");
  gopt("--max-shift", g.max_shift, int64_t{2}, "augmentation: random shifts of up to this many pixels (default 2)");
  gopt("--eval-points", g.eval_points, int64_t{50}, "final ELBO and IWAE on this many train and test images (default 1000)");
  gopt("--iw-samples", g.importance_samples, int64_t{10}, "IWAE importance samples K (default 500)");
  gopt("--amortization-points", g.amortization_points, int64_t{20},
       "train and test images whose Gaussian posteriors are optimised (default 500)");
  gopt("--amortization-steps", g.amortization_steps, int64_t{5}, "Adam steps per posterior (default 300)");
  gopt("--amortization-lr", g.amortization_lr, 1e-2, "Adam learning rate of (mu, log sigma) (default 1e-2)");
  gopt("--sweep-epochs", g.sweep_epochs, int64_t{1}, "epochs per width-sweep model (default 40)");
  gopt("--sweep-inner", g.sweep_inner, W{8, 16}, "inner (next to the latent) widths of the sweep (default 16,64,256,1024)");
  gopt("--sweep-outer", g.sweep_outer, W{16, 32}, "outer widths of the sweep (default 128,512,2048)");
  gopt("--sweep-outer-fixed", g.sweep_outer_fixed, int64_t{32}, "outer width while the inner one grows (default 512)");
  gopt("--sweep-inner-fixed", g.sweep_inner_fixed, int64_t{16}, "inner width while the outer one grows (default 64)");
  gopt("--regimes", g.regimes, std::vector<std::string>{"normal", "synthetic", "augmented"},
       "VAE training regimes, comma separated: normal, synthetic, augmented (default all three)");
  gc.add_option("--seed", g.seed, "seed of the initialisations and every draw (default 0)");
  gc.add_option("--threads", g.threads, "CPU threads (default: all cores)");
  gc.add_option("--out", g.out, "folder of the CSVs and PNG figures (default runs/generalization)");
  gc.add_flag_function("--skip-sweep", [&g](int64_t) { g.sweep = false; }, "no width sweep");
  gc.add_flag("--quick", generalization_quick_flag_, "a tiny study in seconds (tests): small data, models and budgets");

  two_step_cmd_ = analyze_cmd_->add_subcommand(
      "two-step",
      "autoencoder + LFM on its codes vs LFM in pixel space on Fashion-MNIST: sample quality, densities "
      "(on the manifold / dequantised), training time, the Wasserstein bound's terms");
  training::TwoStepOptions& ts = other_.two_step;
  CLI::App& tc = *two_step_cmd_;
  auto topt = [&](const char* flag, auto& target, auto quick, const std::string& help) {
    add_quick_option(tc, two_step_quick_, flag, target, quick, help);
  };
  topt("--autoencoders", ts.autoencoders, std::vector<std::string>{"vae", "ae"},
       "autoencoders of the two-step models, comma separated: vae, ae (default both)");
  topt("--limit-train", ts.limit_train, int64_t{256},
       "every model trains on the first N training images (default 0: all)");
  topt("--ae-hidden", ts.ae_hidden, W{32}, "autoencoder MLP widths, encoder order (default 512,256)");
  topt("--latent", ts.latent, int64_t{4}, "latent dimensions d (default 16)");
  topt("--ae-epochs", ts.ae_epochs, int64_t{1}, "autoencoder epochs (default 20)");
  topt("--ae-lr", ts.ae_lr, 1e-3, "autoencoder Adam learning rate (default 1e-3)");
  topt("--blocks", ts.blocks, int64_t{2}, "LFM blocks, the free one included (default 5)");
  topt("--step-sizes", ts.step_sizes, std::vector<double>{0.2},
       "LFM OU step sizes, blocks - 1 of them (default 0.05,0.1,0.2,0.4)");
  topt("--block-epochs", ts.block_epochs, int64_t{1}, "LFM epochs per block (default 2)");
  topt("--batch-size", ts.batch_size, int64_t{64}, "minibatch of the autoencoders and LFMs (default 128)");
  topt("--flow-lr", ts.flow_lr, 1e-3, "LFM Adam learning rate (default 1e-3)");
  topt("--latent-velocity-hidden", ts.latent_velocity_hidden, W{16},
       "velocity MLP widths on codes (default 256,256,256)");
  topt("--pixel-velocity-hidden", ts.pixel_velocity_hidden, W{32},
       "velocity MLP widths on pixels (default 512,512,512)");
  topt("--time-features", ts.time_features, int64_t{8},
       "sinusoidal time features of the velocity MLPs (default 64)");
  topt("--solver", ts.solver, std::string("heun"),
       "fixed-step solver of both LFMs: euler, heun, rk4 (default heun)");
  topt("--solver-steps", ts.solver_steps, int64_t{1}, "solver steps per block (default 5)");
  topt("--likelihood-solver-steps", ts.likelihood_solver_steps, int64_t{2},
       "RK4 steps per block of log p (default 20)");
  topt("--classifier-epochs", ts.classifier_epochs, int64_t{1},
       "epochs of the feature classifier (default 1)");
  topt("--n", ts.n, int64_t{40}, "test images and samples of W1 and sample quality (default 1000)");
  topt("--density-images", ts.density_images, int64_t{8}, "test images per density condition (default 200)");
  topt("--noise-sigmas", ts.noise_sigmas, std::vector<double>{0.3},
       "Gaussian noise levels of the density conditions (default 0.1,0.3)");
  topt("--lipschitz-codes", ts.lipschitz_codes, int64_t{8},
       "flow samples and segment points searched for Lip(g), each (default 200)");
  topt("--directions", ts.directions, int64_t{20}, "sliced W2 projections (default 1000)");
  tc.add_option("--classifier", ts.classifier_run,
                "an existing fashion-mnist classifier run, or none: no feature-space scores (default: train "
                "RUNS/classifier)");
  tc.add_option("--seed", ts.seed, "seed of every run and draw (default 0)");
  tc.add_option("--threads", ts.threads, "CPU threads (default: all cores)");
  tc.add_option("--runs", ts.runs, "folder of the trained runs (default runs/two-step)");
  tc.add_flag_function(
      "--no-pixel-fm", [&ts](int64_t) { ts.pixel_fm = false; }, "no global FM on the pixels");
  tc.add_flag("--reuse", ts.reuse,
              "load a finished run of the same settings from RUNS instead of training it");
  tc.add_option("--out", ts.out, "folder of the CSVs and PNG figures (default docs/two-step)");
  tc.add_flag("--quick", two_step_quick_flag_,
              "a tiny study in seconds (tests): small data, models and budgets");
}

RunConfig CommandLine::resolve() const {
  const TrainFlags& f = train_;
  nlohmann::json j = to_json(f.config_file.empty() ? RunConfig{} : training::load_config(f.config_file));
  const nlohmann::json given = to_json(f.values);
  for (const auto& [key, option] : f.options) {
    if (option->count() == 0) continue;
    if (key == "hidden") j["hidden"] = parse_widths(f.hidden);
    else if (key == "velocity_hidden") j["velocity_hidden"] = parse_widths(f.velocity_hidden);
    else if (key == "step_sizes") j["step_sizes"] = parse_numbers("--step-sizes", f.step_sizes);
    else j[key] = given.at(key);
  }
  // A run folder named after the model unless one was chosen.
  const bool out_given = std::any_of(f.options.begin(), f.options.end(),
                                     [](const auto& o) { return o.first == "out" && o.second->count() > 0; });
  if (!out_given && f.config_file.empty()) j["out"] = "runs/" + j["model"].get<std::string>();
  // A latent model's data are its autoencoder's, unless given (then they must agree: load_data checks).
  const bool data_given = std::any_of(f.options.begin(), f.options.end(),
                                      [](const auto& o) { return o.first == "data" && o.second->count() > 0; });
  if (!data_given && j.value("latent_of", std::string()) != "") {
    const std::string ae_config = (std::filesystem::path(j["latent_of"].get<std::string>()) / "config.json").string();
    j["data"] = training::load_config(ae_config).data;
  }
  RunConfig c = training::config_from_json(j, f.config_file.empty() ? "flags" : f.config_file);
  training::validate(c);
  return c;
}

Command CommandLine::parse(int argc, const char* const* argv) {
  app_.parse(argc, argv);
  Command c = other_;
  if (*train_cmd_) {
    STRATA_CHECK(c.distributed_timeout > 0, "--distributed-timeout must be a positive number of seconds, got ",
                 c.distributed_timeout);
    STRATA_CHECK(c.distributed_bucket_mb > 0, "--distributed-bucket-mb must be positive, got ", c.distributed_bucket_mb);
    if (train_.resume_dir.empty()) {
      c.action = Action::Train;
      c.config = resolve();
      return c;
    }
    c.action = Action::Resume;
    c.run_dir = train_.resume_dir;
    for (const auto& [key, option] : train_.options) {
      if (option->count() == 0) continue;
      STRATA_CHECK(key == "epochs" || key == "threads" || key == "log_every",
                   "--resume continues a run with its own settings; only --epochs, --threads and --log-every "
                   "may be given with it, not --",
                   key);
      if (key == "epochs") c.epochs = train_.values.epochs;
    }
    STRATA_CHECK(!c.epochs || *c.epochs >= 1, "epochs must be at least 1, got ", *c.epochs);
    STRATA_CHECK(train_.values.threads >= 0, "threads must be 0 (all cores) or more, got ", train_.values.threads);
    c.threads = train_.values.threads;
  } else if (*sample_cmd_) {
    c.action = Action::Sample;
    STRATA_CHECK(c.traversal || (traversal_dims_.empty() && !c.traversal_prior_center),
                 "--dims and --prior-center belong to --traversal");
    if (guidance_option_->count() > 0) {
      STRATA_CHECK(!c.traversal, "--guidance-scale is for sample grids of a conditional fm run, not --traversal");
      STRATA_CHECK(std::isfinite(guidance_scale_), "--guidance-scale must be a number, got ", guidance_scale_);
      c.guidance_scale = guidance_scale_;
    }
    if (!traversal_dims_.empty()) c.traversal_dims = parse_dims(traversal_dims_);
    STRATA_CHECK(c.traversal_steps >= 2 && c.traversal_steps <= 101, "--steps must be in 2..101, got ", c.traversal_steps);
    STRATA_CHECK(c.traversal_example >= 0, "--example must be 0 or more, got ", c.traversal_example);
  } else if (*latent_geometry_cmd_) {
    c.action = Action::AnalyzeLatentGeometry;
    c.latent_geometry.models.clear();
    std::stringstream in(geometry_models_);
    for (std::string m; std::getline(in, m, ',');) {
      STRATA_CHECK(m == "cae" || m == "dae" || m == "vae", "--models: unknown model \"", m, "\" (valid: cae, dae, vae)");
      c.latent_geometry.models.push_back(m);
    }
    STRATA_CHECK(!c.latent_geometry.models.empty(), "--models: no model given");
    c.latent_geometry.sigmas = parse_numbers("--sigmas", geometry_sigmas_);
    STRATA_CHECK(c.latent_geometry.threads >= 0, "--threads must be 0 (all cores) or more, got ",
                 c.latent_geometry.threads);
  } else if (*eval_cmd_) {
    c.action = Action::Eval;
    STRATA_CHECK(c.eval_samples >= 1, "--eval-samples must be at least 1, got ", c.eval_samples);
    STRATA_CHECK(c.eval_limit >= 0, "--limit must be 0 (all) or more, got ", c.eval_limit);
    if (!metrics_.empty()) {
      STRATA_CHECK(!c.nll, "--metrics and --nll are separate evaluations; ask for one at a time");
      c.metrics = training::parse_metric_names(metrics_);
    }
    STRATA_CHECK(!c.sample_quality || (!c.nll && metrics_.empty()),
                 "--sample-quality, --nll and --metrics are separate evaluations; ask for one at a time");
    STRATA_CHECK(!c.sample_quality || !c.classifier_run.empty(),
                 "--sample-quality needs --classifier CLS_RUN (a run of strata train --model classifier)");
    STRATA_CHECK(c.sample_quality || c.classifier_run.empty(), "--classifier belongs to --sample-quality");
    if (c.sample_quality && eval_n_option_->count() == 0) c.eval_n = training::kSampleQualityDefaultN;
    STRATA_CHECK(c.metric_points >= 0, "--metric-points must be 0 (the defaults) or more, got ", c.metric_points);
    STRATA_CHECK(c.metric_votes >= 0, "--metric-votes must be 0 (as --metric-points) or more, got ", c.metric_votes);
    STRATA_CHECK(c.vendi_samples >= 2, "--vendi-samples must be at least 2, got ", c.vendi_samples);
  } else if (*generalization_cmd_) {
    c.action = Action::AnalyzeGeneralization;
    if (generalization_quick_flag_) apply_quick(generalization_quick_);
    c.generalization = other_.generalization;
    STRATA_CHECK(c.generalization.threads >= 0, "--threads must be 0 (all cores) or more, got ",
                 c.generalization.threads);
    training::check_generalization_options(c.generalization);
  } else if (*two_step_cmd_) {
    c.action = Action::AnalyzeTwoStep;
    if (two_step_quick_flag_) apply_quick(two_step_quick_);
    c.two_step = other_.two_step;
    STRATA_CHECK(c.two_step.threads >= 0, "--threads must be 0 (all cores) or more, got ",
                 c.two_step.threads);
    training::check_two_step_options(c.two_step);
  } else if (*analyze_cmd_) {
    c.action = Action::AnalyzeIntrinsicDim;
    c.intrinsic_dim.ks.clear();
    for (double k : parse_numbers("--k", intrinsic_ks_)) {
      STRATA_CHECK(k == std::floor(k) && k >= 2, "--k: every k must be a whole number of at least 2, got ", k);
      c.intrinsic_dim.ks.push_back(static_cast<int64_t>(k));
    }
    STRATA_CHECK(!c.intrinsic_dim.ks.empty(), "--k: no k given");
    c.intrinsic_dim.methods.clear();
    std::stringstream in(intrinsic_methods_);
    for (std::string m; std::getline(in, m, ',');) {
      const auto& valid = training::intrinsic_dimension_methods();
      STRATA_CHECK(std::find(valid.begin(), valid.end(), m) != valid.end(), "--method: unknown method \"", m,
                   "\" (valid: ", joined(valid), ")");
      c.intrinsic_dim.methods.push_back(m);
    }
    STRATA_CHECK(c.intrinsic_dim.threads >= 0, "--threads must be 0 (all cores) or more, got ", c.intrinsic_dim.threads);
    STRATA_CHECK(c.intrinsic_dim.limit >= 0, "--limit must be 0 (all) or more, got ", c.intrinsic_dim.limit);
    STRATA_CHECK(c.intrinsic_dim.per_class_limit >= 0, "--per-class-limit must be 0 (all) or more, got ",
                 c.intrinsic_dim.per_class_limit);
  } else {
    c.action = Action::List;
  }
  return c;
}

}  // namespace strata::cli
