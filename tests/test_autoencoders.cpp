// The autoencoder family (models/autoencoders/): the shared architectures and likelihoods, each
// model's loss terms against a forward pass and the paper's formula evaluated in plain double
// arithmetic, the schedules, the importance-sampled log-likelihood, the DAE corruptions'
// statistics, short training runs that must lower each loss, and `strata train` for every name.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <sstream>

#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/ae.h"
#include "models/autoencoders/dae.h"
#include "models/autoencoders/mlp_vae.h"
#include "models/autoencoders/vae.h"
#include "test_helpers.h"
#include "training/metrics_log.h"
#include "training/registry.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
using namespace strata::models;
namespace fs = std::filesystem;

namespace {

// A row-major matrix of doubles: the by-hand side of every comparison.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double& at(int64_t r, int64_t c) { return v[static_cast<size_t>(r * cols + c)]; }
  double at(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
};

Mat mat(const Tensor& t) { return {t.size(0), t.numel() / t.size(0), t.to_vector<double>()}; }

// y = x W^T + b with the weights of the Linear called `name` (optionally followed by ReLU).
Mat linear(const Mat& x, const nn::Module& m, const std::string& name, bool relu = false) {
  std::map<std::string, Tensor> p;
  for (const auto& [n, t] : m.named_parameters()) p[n] = t;
  const Mat w = mat(p.at(name + ".weight"));
  const std::vector<double> b = p.at(name + ".bias").to_vector<double>();
  Mat y{x.rows, w.rows, std::vector<double>(static_cast<size_t>(x.rows * w.rows))};
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t o = 0; o < w.rows; ++o) {
      double s = b[static_cast<size_t>(o)];
      for (int64_t k = 0; k < x.cols; ++k) s += x.at(i, k) * w.at(o, k);
      y.at(i, o) = relu ? std::max(s, 0.0) : s;
    }
  return y;
}

// The mlp decoder of widths {3}: decoder.0 (ReLU), decoder.2 -> logits or means.
Mat decode_by_hand(const Mat& z, const nn::Module& m) {
  return linear(linear(z, m, "decoder.0", true), m, "decoder.2");
}

// Sum over each row of -log Bernoulli(x; sigmoid(logits)).
std::vector<double> bce_rows(const Mat& x, const Mat& logits) {
  std::vector<double> out(static_cast<size_t>(x.rows));
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t d = 0; d < x.cols; ++d) {
      const double p = 1 / (1 + std::exp(-logits.at(i, d)));
      out[static_cast<size_t>(i)] -= x.at(i, d) * std::log(p) + (1 - x.at(i, d)) * std::log(1 - p);
    }
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double log_normal(double x, double mu, double log_var) {
  return -0.5 * (std::log(2 * std::numbers::pi) + log_var + (x - mu) * (x - mu) / std::exp(log_var));
}

VaeOptions with_beta(double beta) {
  VaeOptions v;
  v.beta = beta;
  return v;
}

VaeOptions with_capacity(CapacitySchedule capacity) {
  VaeOptions v;
  v.capacity = capacity;
  return v;
}

// A tiny float64 model: 4 inputs, one hidden layer of 3, latent 2.
AutoencoderOptions tiny_options() {
  return {.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}};
}

Tensor tiny_batch(uint64_t seed, DType dtype = DType::Float64) {
  Generator g(seed);
  return rand({3, 4}, {dtype}, &g);
}

// KL(N(mu, exp(lv)) || N(0, 1)) summed over each row.
std::vector<double> kl_rows(const Mat& mu, const Mat& lv) {
  std::vector<double> out(static_cast<size_t>(mu.rows));
  for (int64_t i = 0; i < mu.rows; ++i)
    for (int64_t j = 0; j < mu.cols; ++j)
      out[static_cast<size_t>(i)] += -0.5 * (1 + lv.at(i, j) - mu.at(i, j) * mu.at(i, j) - std::exp(lv.at(i, j)));
  return out;
}

// The VAE's per-example reconstruction and KL by hand for the eps a Generator(seed) draws first.
struct VaeByHand {
  std::vector<double> rec, kl;
};
VaeByHand vae_by_hand(const Vae& vae, const Tensor& x, uint64_t seed) {
  const Mat xs = mat(x), h = linear(xs, vae, "encoder.0", true);
  const Mat mu = linear(h, vae, "mean"), lv = linear(h, vae, "log_var");
  Generator g(seed);
  const Mat eps = mat(randn({mu.rows, mu.cols}, {DType::Float64}, &g));
  Mat z = mu;
  for (size_t i = 0; i < z.v.size(); ++i) z.v[i] = mu.v[i] + std::exp(0.5 * lv.v[i]) * eps.v[i];
  return {bce_rows(xs, decode_by_hand(z, vae)), kl_rows(mu, lv)};
}

// Binary synthetic data with two-dimensional structure: x = [A u > 0], u ~ N(0, I_2). Binary, so
// the Bernoulli reconstruction loss can approach 0 and its decrease measures learning.
Tensor structured_data(int64_t n, int64_t dim, uint64_t seed) {
  Generator g(seed);
  const Tensor a = randn({2, dim}, {}, &g), u = randn({n, 2}, {}, &g);
  return to_dtype(gt(matmul(u, a), 0.0), DType::Float32);
}

// Mean loss of the first and of the last five of `steps` Adam steps on x.
std::pair<double, double> train_briefly(Autoencoder& model, const Tensor& x, int steps, double lr = 1e-2) {
  optim::Adam adam(model.parameters(), {.lr = lr});
  Generator noise(5);
  double first = 0, last = 0;
  for (int i = 0; i < steps; ++i) {
    adam.zero_grad();
    model.set_step(i);
    const Tensor loss = model.loss(x, &noise).front().second;
    if (i == 0) first = loss.item<double>();
    if (i >= steps - 5) last += loss.item<double>() / 5;
    loss.backward();
    adam.step();
  }
  return {first, last};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Architectures and likelihoods

TEST_CASE("architectures: mlp mirrors its widths, conv follows W2 at 28x28 and 64x64", "[autoencoders]") {
  Generator init(1);
  const auto mlp = build_encoder(ArchitectureSpec::mlp({5, 3}), 7, "M", &init);
  REQUIRE(mlp.features == 3);
  REQUIRE(mlp.encoder->forward(zeros({2, 7})).shape() == Shape{2, 3});
  REQUIRE(build_decoder(ArchitectureSpec::mlp({5, 3}), 2, 7, "M", &init)->forward(zeros({2, 2})).shape() == Shape{2, 7});

  const auto conv28 = build_encoder(ArchitectureSpec::conv(), 784, "M", &init);
  REQUIRE(conv28.features == 256);
  REQUIRE(conv28.encoder->forward(zeros({2, 784})).shape() == Shape{2, 256});
  // The W2 parameter count: 2 convs, Linear 3136 -> 256.
  int64_t params = 0;
  for (const Tensor& p : conv28.encoder->parameters()) params += p.numel();
  REQUIRE(params == (32 * 1 * 16 + 32) + (64 * 32 * 16 + 64) + (3136 * 256 + 256));
  REQUIRE(build_decoder(ArchitectureSpec::conv(), 16, 784, "M", &init)->forward(zeros({2, 16})).shape() ==
          Shape{2, 784});
  const auto conv64 = build_encoder(ArchitectureSpec::conv(), 4096, "M", &init);
  REQUIRE(conv64.encoder->forward(zeros({1, 4096})).shape() == Shape{1, 256});
  REQUIRE(build_decoder(ArchitectureSpec::conv(), 10, 4096, "M", &init)->forward(zeros({1, 10})).shape() ==
          Shape{1, 4096});
  require_error([&] { build_encoder(ArchitectureSpec::conv(), 100, "CAE", &init); }, {"CAE", "28 x 28", "64 x 64", "100"});
  require_error([&] { build_encoder(ArchitectureSpec::mlp({}), 4, "AE", &init); }, {"AE", "hidden width"});
  require_error([] { parse_architecture("resnet"); }, {"resnet", "mlp, conv"});

  // conv4 (Burgess et al. 2018 / Locatello et al. 2019): 64 -> 32 -> 16 -> 8 -> 4 with 32, 32, 64,
  // 64 channels, then 1024 -> 256; parameters counted by hand, k4 kernels (16 taps), biases included.
  REQUIRE(parse_architecture("conv4") == ArchitectureKind::Conv4);
  REQUIRE(architecture_name(ArchitectureKind::Conv4) == "conv4");
  const auto conv4 = build_encoder(ArchitectureSpec::conv4(3), 3 * 4096, "M", &init);
  REQUIRE(conv4.features == 256);
  int64_t conv4_params = 0;
  for (const Tensor& p : conv4.encoder->parameters()) conv4_params += p.numel();
  REQUIRE(conv4_params == (32 * 3 * 16 + 32) + (32 * 32 * 16 + 32) + (64 * 32 * 16 + 64) + (64 * 64 * 16 + 64) +
                              (1024 * 256 + 256));
  REQUIRE(conv4.encoder->forward(zeros({2, 3 * 4096})).shape() == Shape{2, 256});
  const auto conv4_decoder = build_decoder(ArchitectureSpec::conv4(3), 10, 3 * 4096, "M", &init);
  int64_t decoder_params = 0;
  for (const Tensor& p : conv4_decoder->parameters()) decoder_params += p.numel();
  // Linear 10 -> 256 -> 1024, then transposed k4 convs 64 -> 64 -> 32 -> 32 -> 3 (weights [in, out, 4, 4]).
  REQUIRE(decoder_params == (10 * 256 + 256) + (256 * 1024 + 1024) + (64 * 64 * 16 + 64) + (64 * 32 * 16 + 32) +
                                (32 * 32 * 16 + 32) + (32 * 3 * 16 + 3));
  REQUIRE(conv4_decoder->forward(zeros({2, 10})).shape() == Shape{2, 3 * 4096});
  require_error([&] { build_encoder(ArchitectureSpec::conv4(), 784, "VAE", &init); }, {"VAE", "conv4", "64 x 64", "784"});
}

TEST_CASE("likelihoods: Bernoulli and Gaussian log p(x|z) summed over dimensions", "[autoencoders]") {
  const Tensor x = tensor64({0.0, 1.0, 0.25, 0.5, 0.75, 1.0}, {2, 3});
  const Tensor params = tensor64({0.3, -1.2, 2.0, 0.1, 0.9, -0.4}, {2, 3});
  const Mat xs = mat(x), ps = mat(params);

  Likelihood bern({LikelihoodKind::Bernoulli}, 3);
  const std::vector<double> bce = bce_rows(xs, ps);
  require_values(bern.log_prob(x, params), {-bce[0], -bce[1]}, 1e-12);
  require_values(bern.mean(params), {1 / (1 + std::exp(-0.3)), 1 / (1 + std::exp(1.2)), 1 / (1 + std::exp(-2.0)),
                                     1 / (1 + std::exp(-0.1)), 1 / (1 + std::exp(-0.9)), 1 / (1 + std::exp(0.4))},
                 1e-12);

  Likelihood fixed({LikelihoodKind::Gaussian, 0.5}, 3);
  REQUIRE(fixed.parameters().empty());
  std::vector<double> g(2);
  for (int i = 0; i < 2; ++i)
    for (int d = 0; d < 3; ++d) g[i] += log_normal(xs.at(i, d), ps.at(i, d), 2 * std::log(0.5));
  require_values(fixed.log_prob(x, params), g, 1e-12);
  require_values(fixed.mean(params), params.to_vector<double>(), 0);

  Likelihood learned({LikelihoodKind::GaussianLearned}, 3);
  learned.to(DType::Float64);
  REQUIRE(learned.parameters().size() == 1);
  {
    NoGradGuard no_grad;
    copy_(learned.log_var, tensor64({0.0, -1.0, 0.5}, {3}));
  }
  const std::vector<double> lv = {0.0, -1.0, 0.5};
  std::fill(g.begin(), g.end(), 0.0);
  for (int i = 0; i < 2; ++i)
    for (int d = 0; d < 3; ++d) g[i] += log_normal(xs.at(i, d), ps.at(i, d), lv[d]);
  require_values(learned.log_prob(x, params), g, 1e-12);

  require_error([&] { bern.log_prob(zeros({2, 4}), zeros({2, 4})); }, {"Likelihood::log_prob", "[2, 4]", "3"});
  require_error([] { Likelihood({LikelihoodKind::Gaussian, 0.0}, 3); }, {"sigma", "0"});
  require_error([] { parse_likelihood("poisson"); }, {"poisson", "bernoulli, gaussian, gaussian-learned"});
}

// ---------------------------------------------------------------------------------------------
// AE, CAE, DAE

TEST_CASE("AE: the loss is the batch mean of the reconstruction cross-entropy, by hand", "[autoencoders]") {
  Generator init(3);
  Ae ae(tiny_options(), &init);
  ae.to(DType::Float64);
  const Tensor x = tiny_batch(4);
  const LossTerms terms = ae.loss(x);
  REQUIRE(ae.loss_names() == std::vector<std::string>{"loss", "reconstruction"});
  REQUIRE(terms.size() == 2);

  const Mat xs = mat(x);
  const Mat code = linear(linear(xs, ae, "encoder.0", true), ae, "code");
  const double rec = mean_of(bce_rows(xs, decode_by_hand(code, ae)));
  REQUIRE(term(terms, "reconstruction").item<double>() == Approx(rec).epsilon(1e-12));
  REQUIRE(term(terms, "loss").item<double>() == Approx(rec).epsilon(1e-12));
  require_values(ae.encode(x).code, code.v, 1e-12);
  REQUIRE_FALSE(ae.encode(x).stochastic());

  // Gaussian likelihood with sigma: squared error / (2 sigma^2) + D/2 log(2 pi sigma^2).
  Generator init2(3);
  AutoencoderOptions o = tiny_options();
  o.likelihood = {LikelihoodKind::Gaussian, 0.5};
  Ae gauss(o, &init2);
  gauss.to(DType::Float64);
  const Mat means = decode_by_hand(code, gauss);  // same init: same weights
  double se = 0;
  for (size_t i = 0; i < xs.v.size(); ++i) se += (xs.v[i] - means.v[i]) * (xs.v[i] - means.v[i]);
  const double expected = (se / (2 * 0.25) + 3 * 4 * 0.5 * std::log(2 * std::numbers::pi * 0.25)) / 3;
  REQUIRE(term(gauss.loss(x), "loss").item<double>() == Approx(expected).epsilon(1e-12));
}

TEST_CASE("AE: no prior, so sample and log_prob throw naming the model; bad inputs name the shapes",
          "[autoencoders][errors]") {
  Ae ae(tiny_options());
  REQUIRE_FALSE(ae.has_prior());
  require_error([&] { ae.sample(4); }, {"AE::sample", "no prior"});
  require_error([&] { ae.log_prob(zeros({2, 4}), 5); }, {"AE::log_prob", "no prior"});
  require_error([&] { ae.loss(zeros({2, 5})); }, {"AE::loss", "[2, 5]", "4"});
  require_error([&] { ae.decode(zeros({2, 3})); }, {"AE::decode", "[2, 3]", "2"});
  // Images are accepted and flattened.
  REQUIRE(ae.reconstruct(zeros({2, 1, 2, 2})).shape() == Shape{2, 4});
}

TEST_CASE("CAE: the AE objective on the conv architecture, images in and flat reconstructions out",
          "[autoencoders]") {
  Generator init(2);
  Ae cae({.input_dim = 784, .latent_dim = 8, .architecture = ArchitectureSpec::conv(), .likelihood = {}}, &init, "CAE");
  Generator data(3);
  const Tensor x = rand({2, 784}, {}, &data);
  const LossTerms terms = cae.loss(x);
  // By hand from the model's own decoder output: the summed BCE, averaged over the batch.
  const Mat logits = mat(cae.decode(cae.encode(x).code));
  REQUIRE(terms[0].second.item<double>() == Approx(mean_of(bce_rows(mat(x), logits))).epsilon(1e-5));
  REQUIRE(cae.reconstruct(reshape(x, {2, 1, 28, 28})).shape() == Shape{2, 784});
  require_error([] { Ae({.input_dim = 100, .latent_dim = 2, .architecture = ArchitectureSpec::conv(), .likelihood = {}},
                        nullptr, "CAE"); },
                {"CAE", "100"});
}

TEST_CASE("DAE: the clean input is reconstructed from the corruption drawn from the generator",
          "[autoencoders]") {
  const Tensor x = tiny_batch(4);
  for (CorruptionKind kind : {CorruptionKind::Gaussian, CorruptionKind::Masking, CorruptionKind::SaltAndPepper}) {
    INFO(corruption_name(kind));
    Generator init(3);
    const Corruption corruption{kind, 0.4, 0.5};
    Dae dae(tiny_options(), corruption, &init);
    dae.to(DType::Float64);
    Generator g1(9), g2(9);
    const LossTerms terms = dae.loss(x, &g1);
    const Mat corrupted = mat(corruption.apply(x, &g2));
    const Mat code = linear(linear(corrupted, dae, "encoder.0", true), dae, "code");
    const double rec = mean_of(bce_rows(mat(x), decode_by_hand(code, dae)));  // against the CLEAN x
    REQUIRE(term(terms, "loss").item<double>() == Approx(rec).epsilon(1e-12));
  }
  require_error([] { Dae(tiny_options(), {CorruptionKind::Masking, 0.3, 1.5}); }, {"DAE", "corruption_fraction", "1.5"});
  require_error([] { parse_corruption("blur"); }, {"blur", "gaussian, masking, salt-and-pepper"});
}

TEST_CASE("DAE corruptions have the stated statistics", "[autoencoders]") {
  const int64_t n = 200000;
  const Tensor x = full({n / 100, 100}, 0.5);
  Generator g(21);
  const std::vector<double> gauss = Corruption{CorruptionKind::Gaussian, 0.3, 0}.apply(x, &g).to_vector<double>();
  double m = 0, m2 = 0;
  for (double v : gauss) m += (v - 0.5) / n, m2 += (v - 0.5) * (v - 0.5) / n;
  REQUIRE(std::abs(m) < 0.003);  // 0.3 / sqrt(n) = 0.0007
  REQUIRE(std::sqrt(m2) == Approx(0.3).epsilon(0.01));

  const std::vector<double> masked = Corruption{CorruptionKind::Masking, 0, 0.25}.apply(x, &g).to_vector<double>();
  int64_t zeros_seen = 0, other = 0;
  for (double v : masked) zeros_seen += v == 0.0, other += v != 0.0 && v != 0.5;
  REQUIRE(other == 0);
  REQUIRE(static_cast<double>(zeros_seen) / n == Approx(0.25).margin(0.005));  // sd 0.001

  const std::vector<double> sp = Corruption{CorruptionKind::SaltAndPepper, 0, 0.2}.apply(x, &g).to_vector<double>();
  int64_t salt = 0, pepper = 0, untouched = 0;
  for (double v : sp) salt += v == 1.0, pepper += v == 0.0, untouched += v == 0.5;
  REQUIRE(salt + pepper + untouched == n);
  REQUIRE(static_cast<double>(salt + pepper) / n == Approx(0.2).margin(0.005));
  REQUIRE(static_cast<double>(salt) / static_cast<double>(salt + pepper) == Approx(0.5).margin(0.01));
  // No corruption at zero noise.
  require_values(Corruption{CorruptionKind::Gaussian, 0.0, 0}.apply(tiny_batch(1), &g), tiny_batch(1).to_vector<double>(), 0);
}

// ---------------------------------------------------------------------------------------------
// VAE, beta-VAE, capacity, warm-up

TEST_CASE("VAE: reconstruction, KL and total against the negative SGVB estimator by hand", "[autoencoders]") {
  Generator init(3);
  Vae vae(tiny_options(), {}, &init);
  vae.to(DType::Float64);
  const Tensor x = tiny_batch(4);
  Generator g(7);
  const LossTerms terms = vae.loss(x, &g);
  REQUIRE(vae.loss_names() == std::vector<std::string>{"loss", "reconstruction", "kl"});
  const VaeByHand h = vae_by_hand(vae, x, 7);
  REQUIRE(term(terms, "reconstruction").item<double>() == Approx(mean_of(h.rec)).epsilon(1e-12));
  REQUIRE(term(terms, "kl").item<double>() == Approx(mean_of(h.kl)).epsilon(1e-12));
  REQUIRE(term(terms, "loss").item<double>() == Approx(mean_of(h.rec) + mean_of(h.kl)).epsilon(1e-12));
  REQUIRE(vae.encode(x).stochastic());
  require_values(vae.encode(x).code, vae.encode(x).mean.to_vector<double>(), 0);
}

TEST_CASE("beta-VAE: beta = 1 is exactly the plain VAE; beta = 4 weights the KL by 4", "[autoencoders]") {
  const Tensor x = tiny_batch(4, DType::Float32);
  Generator i1(3), i2(3), i3(3);
  Vae plain(tiny_options(), {}, &i1), beta1(tiny_options(), with_beta(1.0), &i2, "beta-VAE"),
      beta4(tiny_options(), with_beta(4.0), &i3, "beta-VAE");
  Generator g1(7), g2(7), g3(7);
  const LossTerms a = plain.loss(x, &g1), b = beta1.loss(x, &g2), c = beta4.loss(x, &g3);
  for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i].second.item<double>() == b[i].second.item<double>());
  const double rec = term(c, "reconstruction").item<double>(), kl = term(c, "kl").item<double>();
  REQUIRE(term(c, "loss").item<double>() == Approx(rec + 4 * kl).epsilon(1e-6));
  REQUIRE(kl == term(a, "kl").item<double>());
  require_error([] { Vae(tiny_options(), with_beta(-1)); }, {"VAE", "beta", "-1"});
}

TEST_CASE("capacity annealing: gamma |KL - C(step)| with C linear to C_max, by hand", "[autoencoders]") {
  const CapacitySchedule cap{.max_nats = 25, .steps = 1000, .gamma = 1000};
  REQUIRE(cap.capacity(0) == 0.0);
  REQUIRE(cap.capacity(400) == Approx(10.0));
  REQUIRE(cap.capacity(1000) == Approx(25.0));
  REQUIRE(cap.capacity(5000) == Approx(25.0));

  Generator init(3);
  Vae vae(tiny_options(), with_capacity({.max_nats = 2.0, .steps = 100, .gamma = 30}), &init, "beta-VAE");
  vae.to(DType::Float64);
  REQUIRE(vae.loss_names() == std::vector<std::string>{"loss", "reconstruction", "kl", "capacity"});
  const Tensor x = tiny_batch(4);
  const VaeByHand h = vae_by_hand(vae, x, 7);
  const double rec = mean_of(h.rec), kl = mean_of(h.kl);
  for (int64_t step : {0, 30, 100, 250}) {
    INFO("step " << step);
    vae.set_step(step);
    Generator g(7);
    const LossTerms terms = vae.loss(x, &g);
    const double c = 2.0 * std::min(1.0, step / 100.0);
    REQUIRE(term(terms, "capacity").item<double>() == Approx(c));
    REQUIRE(term(terms, "loss").item<double>() == Approx(rec + 30 * std::abs(kl - c)).epsilon(1e-12));
  }
  require_error([] { Vae(tiny_options(), with_capacity({.max_nats = 5, .steps = 0, .gamma = 1})); }, {"capacity_steps", "0"});
}

TEST_CASE("KL warm-up: linear and cyclical weights by hand, applied to the KL term", "[autoencoders]") {
  const KlWarmup linear_w{WarmupKind::Linear, 100};
  REQUIRE(linear_w.weight(0) == 0.0);
  REQUIRE(linear_w.weight(25) == Approx(0.25));
  REQUIRE(linear_w.weight(100) == 1.0);
  REQUIRE(linear_w.weight(1000) == 1.0);
  // Fu et al.: tau = (t mod T) / T; w = tau / R up to R, then 1. T = 100, R = 0.5.
  const KlWarmup cyc{WarmupKind::Cyclical, 100, 0.5};
  REQUIRE(cyc.weight(0) == 0.0);
  REQUIRE(cyc.weight(25) == Approx(0.5));
  REQUIRE(cyc.weight(50) == Approx(1.0));
  REQUIRE(cyc.weight(80) == 1.0);
  REQUIRE(cyc.weight(110) == Approx(0.2));
  REQUIRE(KlWarmup{}.weight(0) == 1.0);
  require_error([] { parse_warmup("sigmoid"); }, {"sigmoid", "none, linear, cyclical"});

  Generator init(3);
  VaeOptions warm = with_beta(2.0);
  warm.warmup = linear_w;
  Vae vae(tiny_options(), warm, &init);
  vae.to(DType::Float64);
  REQUIRE(vae.loss_names().back() == "kl_weight");
  const Tensor x = tiny_batch(4);
  const VaeByHand h = vae_by_hand(vae, x, 7);
  vae.set_step(25);
  Generator g(7);
  const LossTerms terms = vae.loss(x, &g);
  REQUIRE(term(terms, "kl_weight").item<double>() == Approx(0.25));
  REQUIRE(term(terms, "loss").item<double>() == Approx(mean_of(h.rec) + 2.0 * 0.25 * mean_of(h.kl)).epsilon(1e-12));
}

TEST_CASE("log_prob: K = 1 is minus the one-sample negative ELBO for the same draw; K = 3 by logsumexp",
          "[autoencoders]") {
  Generator init(3);
  Vae vae(tiny_options(), {}, &init);
  vae.to(DType::Float64);
  const Tensor x = tiny_batch(4);
  const Mat xs = mat(x), hid = linear(xs, vae, "encoder.0", true);
  const Mat mu = linear(hid, vae, "mean"), lv = linear(hid, vae, "log_var");

  // log w = log p(x|z) + log N(z; 0, I) - log N(z; mu, sigma^2), for the k-th draw of Generator(11);
  // -log w of the first draw is the one-sample negative ELBO: rec + a Monte Carlo estimate of the KL.
  Generator draws(11);
  std::vector<std::vector<double>> log_w;
  std::vector<double> rec0;
  for (int k = 0; k < 3; ++k) {
    const Mat eps = mat(randn({3, 2}, {DType::Float64}, &draws));
    Mat z = mu;
    std::vector<double> mc_kl(3);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        z.at(i, j) = mu.at(i, j) + std::exp(0.5 * lv.at(i, j)) * eps.at(i, j);
        mc_kl[i] += log_normal(z.at(i, j), mu.at(i, j), lv.at(i, j)) - log_normal(z.at(i, j), 0, 0);
      }
    const std::vector<double> rec = bce_rows(xs, decode_by_hand(z, vae));
    std::vector<double> w(3);
    for (int64_t i = 0; i < 3; ++i) w[i] = -(rec[i] + mc_kl[i]);
    log_w.push_back(w);
    if (k == 0) rec0 = rec;
  }
  Generator g1(11);
  require_values(vae.log_prob(x, 1, &g1), log_w[0], 1e-10);
  // loss() with the same generator uses the same draw: its reconstruction term is rec0.
  Generator g2(11);
  REQUIRE(term(vae.loss(x, &g2), "reconstruction").item<double>() == Approx(mean_of(rec0)).epsilon(1e-12));
  std::vector<double> k3(3);
  for (int64_t i = 0; i < 3; ++i) {
    const double m = std::max({log_w[0][i], log_w[1][i], log_w[2][i]});
    k3[i] = m + std::log((std::exp(log_w[0][i] - m) + std::exp(log_w[1][i] - m) + std::exp(log_w[2][i] - m)) / 3);
  }
  Generator g3(11);
  require_values(vae.log_prob(x, 3, &g3), k3, 1e-10);
  require_error([&] { vae.log_prob(x, 0); }, {"VAE::log_prob", "K", "0"});
}

TEST_CASE("log_prob: with many samples it is above the ELBO and below log 1 for Bernoulli data",
          "[autoencoders]") {
  Generator init(3);
  Vae vae(tiny_options(), {}, &init);
  vae.to(DType::Float64);
  const Tensor x = bernoulli(full({3, 4}, 0.5, {DType::Float64}), &init);
  Generator g(1), e(2);
  const std::vector<double> lp = vae.log_prob(x, 2000, &g).to_vector<double>();
  double elbo = 0;
  for (int r = 0; r < 200; ++r) elbo -= term(vae.loss(x, &e), "loss").item<double>() / 200;
  REQUIRE(mean_of(lp) > elbo);  // the IWAE bound tightens with K (Burda et al., Theorem 1)
  for (double v : lp) REQUIRE(v < 0);
}

TEST_CASE("sample and reconstruct: likelihood means of the right shape; MlpVae is the VAE", "[autoencoders]") {
  Generator init(8);
  Vae vae({.input_dim = 5, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({4}), .likelihood = {}}, {}, &init);
  Generator g(9);
  const Tensor s = vae.sample(3, &g);
  REQUIRE(s.shape() == Shape{3, 5});
  for (double v : s.to_vector<double>()) REQUIRE((v > 0 && v < 1));
  require_error([&] { vae.sample(0, &g); }, {"VAE::sample", "0"});

  // The W1 front has the same initialisation order, so the same seed gives the same model.
  Generator a(4), b(4);
  MlpVae w1({.input_dim = 6, .hidden = {5, 4}, .latent_dim = 2}, &a);
  Vae same({.input_dim = 6, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({5, 4}), .likelihood = {}}, {}, &b);
  const Tensor x6 = rand({3, 6});
  Generator n1(3), n2(3);
  REQUIRE(w1.loss(x6, &n1).total.item<double>() == term(same.loss(x6, &n2), "loss").item<double>());
}

// ---------------------------------------------------------------------------------------------
// Training

TEST_CASE("short training lowers every model's loss", "[autoencoders][training]") {
  const Tensor flat = structured_data(64, 12, 1);
  const AutoencoderOptions o{.input_dim = 12, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({16}), .likelihood = {}};
  struct Case {
    std::string name;
    std::shared_ptr<Autoencoder> model;
    Tensor x;
    double factor;  // final loss must be below factor * initial loss
  };
  Generator init(2);
  std::vector<Case> cases;
  cases.push_back({"ae", std::make_shared<Ae>(o, &init), flat, 0.6});
  cases.push_back({"dae", std::make_shared<Dae>(o, Corruption{CorruptionKind::Masking, 0, 0.25}, &init), flat, 0.6});
  cases.push_back({"vae", std::make_shared<Vae>(o, VaeOptions{}, &init), flat, 0.85});
  cases.push_back({"beta-vae", std::make_shared<Vae>(o, with_beta(4), &init), flat, 0.95});  // most of the KL is pushed out
  cases.push_back({"capacity", std::make_shared<Vae>(o, with_capacity({.max_nats = 2, .steps = 20, .gamma = 10}), &init),
                   flat, 0.95});
  cases.push_back({"gaussian-learned", std::make_shared<Vae>(AutoencoderOptions{.input_dim = 12, .latent_dim = 2,
                                                                                .architecture = ArchitectureSpec::mlp({16}),
                                                                                .likelihood = {LikelihoodKind::GaussianLearned}},
                                                             VaeOptions{}, &init),
                   flat, 0.9});
  // The CAE on a few 28x28 images: a bright square on a dark ground at four positions.
  std::vector<float> img(8 * 784, 0.05f);
  for (int i = 0; i < 8; ++i)
    for (int r = 0; r < 10; ++r)
      for (int c = 0; c < 10; ++c) img[static_cast<size_t>(i * 784 + (4 + 10 * (i % 2) + r) * 28 + 4 + 10 * (i / 4) + c)] = 0.95f;
  cases.push_back({"cae",
                   std::make_shared<Ae>(AutoencoderOptions{.input_dim = 784, .latent_dim = 4,
                                                           .architecture = ArchitectureSpec::conv(), .likelihood = {}},
                                        &init, "CAE"),
                   from_vector(img, {8, 784}), 0.7});
  for (Case& c : cases) {
    const auto [first, last] = train_briefly(*c.model, c.x, c.name == "cae" ? 15 : 40);
    INFO(c.name << ": first " << first << ", last " << last);
    CHECK(last < c.factor * first);
  }
}

// ---------------------------------------------------------------------------------------------
// strata train --model NAME

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_autoencoders_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

training::RunConfig tiny_run(const fs::path& dir, const std::string& model, int64_t dim) {
  Generator gen(42);
  const fs::path path = dir / "tiny.safetensors";
  io::save_safetensors(path, {{"train", rand({64, dim}, {}, &gen)}, {"validation", rand({16, dim}, {}, &gen)}});
  training::RunConfig c;
  c.model = model;
  c.data = "tensors:" + path.string();
  c.hidden = {8};
  c.latent = 2;
  c.batch_size = 16;
  c.epochs = 1;
  c.out = (dir / "run").string();
  return c;
}

}  // namespace

TEST_CASE("strata train runs every autoencoder by name and logs its loss terms", "[autoencoders][trainer]") {
  for (const std::string model : {"ae", "cae", "dae", "vae", "beta-vae"}) {
    INFO(model);
    const fs::path dir = fresh_dir(model);
    training::RunConfig c = tiny_run(dir, model, model == "cae" ? 784 : 12);
    std::ostringstream log;
    const training::TrainResult r = training::train_run(c, {.log = &log});
    REQUIRE(r.global_step == 4);
    REQUIRE(std::isfinite(r.best_validation_loss));
    const training::MetricsTable t = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
    REQUIRE(t.has("reconstruction"));
    REQUIRE(t.has("kl") == (model == "vae" || model == "beta-vae"));
    fs::remove_all(dir);
  }
  const auto names = training::model_names();
  for (const char* m : {"ae", "cae", "dae", "vae", "beta-vae"})
    REQUIRE(std::find(names.begin(), names.end(), m) != names.end());
}

TEST_CASE("strata train: the trainer's step drives the KL warm-up and capacity schedules",
          "[autoencoders][trainer]") {
  const fs::path dir = fresh_dir("schedule");
  training::RunConfig c = tiny_run(dir, "beta-vae", 12);
  c.kl_warmup = "linear";
  c.kl_warmup_steps = 8;
  c.capacity_max = 3;
  c.capacity_steps = 2;
  std::ostringstream log;
  training::train_run(c, {.log = &log});
  const training::MetricsTable t = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
  // Rows of training steps 1..4 carry the schedules at global steps 0..3.
  const auto& steps = t.column("step");
  const auto& weight = t.column("kl_weight");
  const auto& capacity = t.column("capacity");
  int checked = 0;
  for (size_t i = 0; i < t.rows(); ++i) {
    if (std::isnan(weight[i]) || steps[i] > 4) continue;
    REQUIRE(weight[i] == Approx((steps[i] - 1) / 8.0));
    REQUIRE(capacity[i] == Approx(3.0 * std::min(1.0, (steps[i] - 1) / 2.0)));
    ++checked;
  }
  REQUIRE(checked >= 4);
  fs::remove_all(dir);
}

TEST_CASE("strata train: bad autoencoder settings name the valid choices", "[autoencoders][trainer][errors]") {
  training::RunConfig c;
  c.arch = "resnet";
  require_error([&] { training::validate(c); }, {"arch", "resnet", "auto, mlp, conv"});
  c = {};
  c.model = "cae";
  c.arch = "mlp";
  require_error([&] { training::validate(c); }, {"cae", "--model ae"});
  c = {};
  c.likelihood = "poisson";
  require_error([&] { training::validate(c); }, {"poisson", "bernoulli, gaussian, gaussian-learned"});
  c = {};
  c.kl_warmup = "sigmoid";
  require_error([&] { training::validate(c); }, {"sigmoid", "none, linear, cyclical"});
  c = {};
  c.model = "dae";
  c.corruption = "blur";
  require_error([&] { training::validate(c); }, {"blur", "gaussian, masking, salt-and-pepper"});
  c = {};
  c.beta = -2;
  require_error([&] { training::validate(c); }, {"beta", "-2"});
  c = {};
  c.capacity_max = 10;
  c.capacity_steps = 0;
  require_error([&] { training::validate(c); }, {"capacity_steps", "0"});
  // Every new key round-trips through the saved config.
  c = {};
  c.model = "dae";
  c.corruption = "salt-and-pepper";
  c.corruption_fraction = 0.1;
  c.kl_warmup = "cyclical";
  REQUIRE(training::to_json(training::config_from_json(training::to_json(c), "t")) == training::to_json(c));
}
