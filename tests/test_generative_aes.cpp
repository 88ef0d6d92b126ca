// IWAE, WAE-MMD, InfoVAE and VQ-VAE (models/autoencoders/) and the MMD estimator they share
// (ops/mmd.h): every loss term against the paper's formula evaluated in plain double arithmetic,
// identities between estimators (IWAE with K = 1 is the one-sample ELBO; the bound grows with K),
// float64 gradient checks of the MMD, the vector quantiser's nearest-code choice, straight-through
// gradient and EMA step by hand, short training runs that must lower each loss, and `strata train`
// for each name, including a bit-exact resume of the VQ-VAE's EMA codebook.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <sstream>

#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/info_vae.h"
#include "models/autoencoders/iwae.h"
#include "models/autoencoders/vae.h"
#include "models/autoencoders/vq_vae.h"
#include "models/autoencoders/wae.h"
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

// The mlp of widths {3}: encoder.0 (ReLU) then the head `head`; decoder.0 (ReLU), decoder.2.
Mat encode_by_hand(const Mat& x, const nn::Module& m, const std::string& head) {
  return linear(linear(x, m, "encoder.0", true), m, head);
}
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

// KL(N(mu, exp(lv)) || N(0, 1)) summed over each row.
std::vector<double> kl_rows(const Mat& mu, const Mat& lv) {
  std::vector<double> out(static_cast<size_t>(mu.rows));
  for (int64_t i = 0; i < mu.rows; ++i)
    for (int64_t j = 0; j < mu.cols; ++j)
      out[static_cast<size_t>(i)] += -0.5 * (1 + lv.at(i, j) - mu.at(i, j) * mu.at(i, j) - std::exp(lv.at(i, j)));
  return out;
}

// The sum of the kernels over the scales for two points, in doubles.
double kernel_by_hand(const Mat& a, int64_t i, const Mat& b, int64_t j, MmdKernel kind, const std::vector<double>& scales) {
  double d2 = 0;
  for (int64_t c = 0; c < a.cols; ++c) d2 += (a.at(i, c) - b.at(j, c)) * (a.at(i, c) - b.at(j, c));
  double k = 0;
  for (double s : scales) k += kind == MmdKernel::InverseMultiquadric ? s / (s + d2) : std::exp(-d2 / s);
  return k;
}

// Gretton et al.'s U-statistic (unbiased) or V-statistic (biased), term by term.
double mmd_by_hand(const Mat& x, const Mat& y, MmdKernel kind, const std::vector<double>& scales, bool unbiased) {
  const double n = static_cast<double>(x.rows), m = static_cast<double>(y.rows);
  double kxx = 0, kyy = 0, kxy = 0;
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t j = 0; j < x.rows; ++j)
      if (!unbiased || i != j) kxx += kernel_by_hand(x, i, x, j, kind, scales);
  for (int64_t i = 0; i < y.rows; ++i)
    for (int64_t j = 0; j < y.rows; ++j)
      if (!unbiased || i != j) kyy += kernel_by_hand(y, i, y, j, kind, scales);
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t j = 0; j < y.rows; ++j) kxy += kernel_by_hand(x, i, y, j, kind, scales);
  return unbiased ? kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2 * kxy / (n * m)
                  : kxx / (n * n) + kyy / (m * m) - 2 * kxy / (n * m);
}

// A tiny float64 model: 4 inputs, one hidden layer of 3, latent 2.
AutoencoderOptions tiny_options(int64_t latent = 2) {
  return {.input_dim = 4, .latent_dim = latent, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}};
}

Tensor tiny_batch(uint64_t seed, int64_t rows = 3) {
  Generator g(seed);
  return rand({rows, 4}, {DType::Float64}, &g);
}

// Binary synthetic data with two-dimensional structure: x = [A u > 0], u ~ N(0, I_2).
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

// The IWAE bound per example by hand, for the noise eps [K * N, L] (k-major) a generator draws.
std::vector<double> iwae_bound_by_hand(const nn::Module& m, const Mat& x, const Mat& eps, int64_t k,
                                       std::vector<double>* rec_rows = nullptr) {
  const Mat mu = encode_by_hand(x, m, "mean"), lv = encode_by_hand(x, m, "log_var");
  const int64_t n = x.rows, l = mu.cols;
  std::vector<std::vector<double>> log_w(static_cast<size_t>(k), std::vector<double>(static_cast<size_t>(n)));
  for (int64_t s = 0; s < k; ++s) {
    Mat z{n, l, std::vector<double>(static_cast<size_t>(n * l))};
    std::vector<double> log_ratio(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < l; ++j) {
        z.at(i, j) = mu.at(i, j) + std::exp(0.5 * lv.at(i, j)) * eps.at(s * n + i, j);
        log_ratio[i] += log_normal(z.at(i, j), 0, 0) - log_normal(z.at(i, j), mu.at(i, j), lv.at(i, j));
      }
    const std::vector<double> rec = bce_rows(x, decode_by_hand(z, m));
    for (int64_t i = 0; i < n; ++i) log_w[s][i] = -rec[i] + log_ratio[i];
    if (rec_rows) rec_rows->insert(rec_rows->end(), rec.begin(), rec.end());
  }
  std::vector<double> bound(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double top = -INFINITY, acc = 0;
    for (int64_t s = 0; s < k; ++s) top = std::max(top, log_w[s][i]);
    for (int64_t s = 0; s < k; ++s) acc += std::exp(log_w[s][i] - top);
    bound[i] = top + std::log(acc / static_cast<double>(k));
  }
  return bound;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MMD

TEST_CASE("MMD: U- and V-statistics on 3-point sets by hand, for the imq and rbf kernels", "[autoencoders][mmd]") {
  const Tensor x = tensor64({0.0, 0.0, 1.0, 0.5, -0.5, 2.0}, {3, 2});
  const Tensor y = tensor64({0.3, -1.0, 1.5, 1.5, 0.0, 0.7}, {3, 2});
  const std::vector<double> scales = {0.5, 4.0};
  for (MmdKernel kind : {MmdKernel::InverseMultiquadric, MmdKernel::Gaussian}) {
    INFO(mmd_kernel_name(kind));
    // One entry of the kernel matrix written out: ||x_1 - y_0||^2 = 0.7^2 + 1.5^2 = 2.74.
    const double k10 = kind == MmdKernel::InverseMultiquadric ? 0.5 / (0.5 + 2.74) + 4.0 / (4.0 + 2.74)
                                                                : std::exp(-2.74 / 0.5) + std::exp(-2.74 / 4.0);
    REQUIRE(mmd_kernel_matrix(x, y, kind, scales).to_vector<double>()[3] == Approx(k10).epsilon(1e-12));
    REQUIRE(mmd_unbiased(x, y, kind, scales).item<double>() ==
            Approx(mmd_by_hand(mat(x), mat(y), kind, scales, true)).epsilon(1e-12));
    REQUIRE(mmd_biased(x, y, kind, scales).item<double>() ==
            Approx(mmd_by_hand(mat(x), mat(y), kind, scales, false)).epsilon(1e-12));
    // Different sizes: 3 points against 2.
    const Tensor y2 = narrow(y, 0, 0, 2);
    REQUIRE(mmd_unbiased(x, y2, kind, scales).item<double>() ==
            Approx(mmd_by_hand(mat(x), mat(y2), kind, scales, true)).epsilon(1e-12));
  }
  // The WAE scales: C = 2 d sigma^2 times {0.1, ..., 10}.
  const std::vector<double> wae = wae_kernel_scales(8, 1.5);
  REQUIRE(wae.size() == 7);
  REQUIRE(wae.front() == Approx(0.1 * 2 * 8 * 2.25));
  REQUIRE(wae.back() == Approx(10 * 2 * 8 * 2.25));
}

TEST_CASE("MMD: zero for a sample against itself (V), near zero for two samples of one law (U)",
          "[autoencoders][mmd]") {
  Generator g(3);
  const Tensor a = randn({400, 3}, {DType::Float64}, &g);
  const Tensor b = randn({400, 3}, {DType::Float64}, &g);
  const Tensor shifted = add(randn({400, 3}, {DType::Float64}, &g), 0.5);
  const std::vector<double> scales = wae_kernel_scales(3);
  for (MmdKernel kind : {MmdKernel::InverseMultiquadric, MmdKernel::Gaussian}) {
    INFO(mmd_kernel_name(kind));
    // The V-statistic of a sample with itself is exactly 0 (the U-statistic is not: it leaves out
    // k(x_i, x_i) within each set but not between them).
    REQUIRE(mmd_biased(a, a, kind, scales).item<double>() == 0.0);
    REQUIRE(mmd_unbiased(a, a, kind, scales).item<double>() < 0);
    const double same = mmd_unbiased(a, b, kind, scales).item<double>();
    const double different = mmd_unbiased(a, shifted, kind, scales).item<double>();
    INFO("same law " << same << ", shifted by 0.5 " << different);
    // The U-statistic is unbiased for MMD^2 = 0 with standard deviation O(1/n) (here ~0.005 for
    // 7 scales); a mean shift of 0.5 in 3 dimensions gives an MMD^2 tens of times larger.
    REQUIRE(std::abs(same) < 0.02);
    REQUIRE(different > 10 * std::abs(same));
    REQUIRE(different > 0.05);
  }
}

TEST_CASE("MMD: gradients of both statistics and kernels pass gradcheck in float64", "[autoencoders][mmd][gradcheck]") {
  const std::vector<double> scales = {0.7, 3.0};
  for (MmdKernel kind : {MmdKernel::InverseMultiquadric, MmdKernel::Gaussian}) {
    INFO(mmd_kernel_name(kind));
    Tensor x = leaf64({4, 3}, 1), y = leaf64({5, 3}, 2, 1.0, 0.3);
    require_gradcheck([&](const std::vector<Tensor>& in) { return mmd_unbiased(in[0], in[1], kind, scales); }, {x, y});
    require_gradcheck([&](const std::vector<Tensor>& in) { return mmd_biased(in[0], in[1], kind, scales); }, {x, y});
    require_gradcheck([&](const std::vector<Tensor>& in) { return mmd_kernel_matrix(in[0], in[1], kind, scales); },
                      {x, y});
  }
}

TEST_CASE("MMD: bad samples, scales and kernel names are refused by name", "[autoencoders][mmd][errors]") {
  const std::vector<double> s = {1.0};
  require_error([&] { mmd_unbiased(zeros({3, 2}), zeros({3, 4}), MmdKernel::Gaussian, s); },
                {"mmd_unbiased", "[3, 2]", "[3, 4]"});
  require_error([&] { mmd_unbiased(zeros({1, 2}), zeros({3, 2}), MmdKernel::Gaussian, s); },
                {"mmd_unbiased", "at least 2", "1"});
  require_error([&] { mmd_biased(zeros({3, 2}), zeros({3, 2}), MmdKernel::Gaussian, {0.0}); }, {"mmd_biased", "scales", "0"});
  require_error([&] { mmd_biased(zeros({3, 2}), zeros({3, 2}), MmdKernel::Gaussian, {}); }, {"mmd_biased", "scale"});
  require_error([] { parse_mmd_kernel("laplace"); }, {"laplace", "imq, rbf"});
  REQUIRE(parse_mmd_kernel("imq") == MmdKernel::InverseMultiquadric);
  REQUIRE(parse_mmd_kernel("rbf") == MmdKernel::Gaussian);
}

// ---------------------------------------------------------------------------------------------
// IWAE

TEST_CASE("IWAE: K = 1 is the VAE's one-sample ELBO with the same noise; K = 3 by logsumexp by hand",
          "[autoencoders][iwae]") {
  const Tensor x = tiny_batch(4);
  const Mat xs = mat(x);
  Generator i1(3), i2(3);
  Iwae iwae1(tiny_options(), {.samples = 1}, &i1);
  Vae vae(tiny_options(), {}, &i2);  // the same initialisation order: the same weights
  iwae1.to(DType::Float64);
  vae.to(DType::Float64);
  REQUIRE(iwae1.loss_names() == std::vector<std::string>{"loss", "reconstruction", "kl"});

  Generator g1(11), g2(11), g3(11), draws(11);
  const LossTerms terms = iwae1.loss(x, &g1);
  const LossTerms vae_terms = vae.loss(x, &g2);
  // The same eps: the same z, so the same reconstruction term as the VAE's, bit for bit.
  REQUIRE(term(terms, "reconstruction").item<double>() == term(vae_terms, "reconstruction").item<double>());
  REQUIRE(term(terms, "kl").item<double>() == term(vae_terms, "kl").item<double>());
  // -loss = mean log w: minus log_prob with K = 1 (the same draw), and rec + the Monte Carlo KL by hand.
  REQUIRE(term(terms, "loss").item<double>() == Approx(-mean_of(vae.log_prob(x, 1, &g3).to_vector<double>())).epsilon(1e-12));
  const Mat eps1 = mat(randn({3, 2}, {DType::Float64}, &draws));
  REQUIRE(term(terms, "loss").item<double>() == Approx(-mean_of(iwae_bound_by_hand(iwae1, xs, eps1, 1))).epsilon(1e-12));

  Generator i3(3), g4(12), draws3(12);
  Iwae iwae3(tiny_options(), {.samples = 3}, &i3);
  iwae3.to(DType::Float64);
  const LossTerms t3 = iwae3.loss(x, &g4);
  const Mat eps3 = mat(randn({9, 2}, {DType::Float64}, &draws3));  // [K * N, L], k-major
  std::vector<double> rec_rows;
  const std::vector<double> bound = iwae_bound_by_hand(iwae3, xs, eps3, 3, &rec_rows);
  REQUIRE(term(t3, "loss").item<double>() == Approx(-mean_of(bound)).epsilon(1e-12));
  REQUIRE(term(t3, "reconstruction").item<double>() == Approx(mean_of(rec_rows)).epsilon(1e-12));
  REQUIRE(term(t3, "kl").item<double>() ==
          Approx(mean_of(kl_rows(encode_by_hand(xs, iwae3, "mean"), encode_by_hand(xs, iwae3, "log_var")))).epsilon(1e-12));
  require_error([] { Iwae(tiny_options(), {.samples = 0}); }, {"IWAE", "K", "0"});
}

TEST_CASE("IWAE: on a fixed model the bound is above the ELBO on average and grows with K", "[autoencoders][iwae]") {
  Generator init(3);
  Iwae iwae(tiny_options(), {.samples = 1}, &init);
  iwae.to(DType::Float64);
  const Tensor x = bernoulli(full({3, 4}, 0.5, {DType::Float64}), &init);
  NoGradGuard no_grad;
  // The average bound over many independent draws for K = 1, 5, 50 (the paper's values); the
  // K-sample bounds' standard errors here are below 0.01 nats, the gaps several times that.
  auto mean_bound = [&](int64_t k, int replicates, uint64_t seed) {
    Generator i(3);
    Iwae model(tiny_options(), {.samples = k}, &i);
    model.to(DType::Float64);
    Generator g(seed);
    double total = 0;
    for (int r = 0; r < replicates; ++r) total -= term(model.loss(x, &g), "loss").item<double>();
    return total / replicates;
  };
  const double l1 = mean_bound(1, 4000, 1), l5 = mean_bound(5, 800, 2), l50 = mean_bound(50, 200, 3);
  // The ELBO with the closed-form KL: the expectation of L_1.
  Generator i(3);
  Vae same(tiny_options(), {}, &i);
  same.to(DType::Float64);
  Generator e(4);
  double elbo = 0;
  for (int r = 0; r < 4000; ++r) elbo -= term(same.loss(x, &e), "loss").item<double>() / 4000;
  INFO("ELBO " << elbo << ", L1 " << l1 << ", L5 " << l5 << ", L50 " << l50);
  REQUIRE(l1 == Approx(elbo).margin(0.03));
  REQUIRE(l5 > l1 + 0.05);
  REQUIRE(l50 > l5 + 0.02);
  // And log p(x) from many samples bounds them all (Burda et al., Theorem 1).
  Generator lp(5);
  REQUIRE(mean_of(same.log_prob(x, 5000, &lp).to_vector<double>()) > l50 - 0.01);
}

// ---------------------------------------------------------------------------------------------
// WAE and InfoVAE

TEST_CASE("WAE: reconstruction + lambda * MMD_u(codes, prior draws) by hand, both kernels", "[autoencoders][wae]") {
  const Tensor x = tiny_batch(4, 4);
  const Mat xs = mat(x);
  for (MmdKernel kind : {MmdKernel::InverseMultiquadric, MmdKernel::Gaussian}) {
    INFO(mmd_kernel_name(kind));
    Generator init(3);
    Wae wae(tiny_options(), {.lambda = 7.5, .kernel = kind}, &init);
    wae.to(DType::Float64);
    REQUIRE(wae.loss_names() == std::vector<std::string>{"loss", "reconstruction", "mmd"});
    REQUIRE_FALSE(wae.encode(x).stochastic());
    Generator g(8), draws(8);
    const LossTerms terms = wae.loss(x, &g);
    const Mat code = encode_by_hand(xs, wae, "code");
    const double rec = mean_of(bce_rows(xs, decode_by_hand(code, wae)));
    const Mat prior = mat(randn({4, 2}, {DType::Float64}, &draws));
    // C = 2 * 2 * 1 = 4, times {0.1, 0.2, 0.5, 1, 2, 5, 10}.
    const double mmd = mmd_by_hand(code, prior, kind, {0.4, 0.8, 2, 4, 8, 20, 40}, true);
    REQUIRE(term(terms, "reconstruction").item<double>() == Approx(rec).epsilon(1e-12));
    REQUIRE(term(terms, "mmd").item<double>() == Approx(mmd).epsilon(1e-10));
    REQUIRE(term(terms, "loss").item<double>() == Approx(rec + 7.5 * mmd).epsilon(1e-12));
  }
  Wae wae(tiny_options());
  REQUIRE(wae.wae_options().lambda == 10);
  REQUIRE(wae.wae_options().kernel == MmdKernel::InverseMultiquadric);
  require_error([&] { wae.loss(zeros({1, 4})); }, {"WAE::loss", "at least 2", "1"});
  require_error([&] { wae.log_prob(zeros({2, 4}), 3); }, {"WAE::log_prob", "stochastic"});
  require_error([] { Wae(tiny_options(), {.lambda = -1}); }, {"WAE", "mmd_lambda", "-1"});
}

TEST_CASE("InfoVAE: rec + (1 - alpha) KL + (alpha + lambda - 1) MMD by hand", "[autoencoders][info-vae]") {
  const Tensor x = tiny_batch(4, 4);
  const Mat xs = mat(x);
  Generator init(3);
  InfoVae info(tiny_options(), {.alpha = 0.25, .lambda = 20, .kernel = MmdKernel::Gaussian}, &init);
  info.to(DType::Float64);
  REQUIRE(info.loss_names() == std::vector<std::string>{"loss", "reconstruction", "kl", "mmd"});
  Generator g(9), draws(9);
  const LossTerms terms = info.loss(x, &g);
  const Mat mu = encode_by_hand(xs, info, "mean"), lv = encode_by_hand(xs, info, "log_var");
  const Mat eps = mat(randn({4, 2}, {DType::Float64}, &draws));    // first eps ...
  const Mat prior = mat(randn({4, 2}, {DType::Float64}, &draws));  // ... then the prior draws
  Mat z = mu;
  for (size_t i = 0; i < z.v.size(); ++i) z.v[i] = mu.v[i] + std::exp(0.5 * lv.v[i]) * eps.v[i];
  const double rec = mean_of(bce_rows(xs, decode_by_hand(z, info)));
  const double kl = mean_of(kl_rows(mu, lv));
  const double mmd = mmd_by_hand(z, prior, MmdKernel::Gaussian, {4.0}, true);  // one kernel, C = 2 * latent_dim
  REQUIRE(term(terms, "reconstruction").item<double>() == Approx(rec).epsilon(1e-12));
  REQUIRE(term(terms, "kl").item<double>() == Approx(kl).epsilon(1e-12));
  REQUIRE(term(terms, "mmd").item<double>() == Approx(mmd).epsilon(1e-10));
  REQUIRE(term(terms, "loss").item<double>() == Approx(rec + 0.75 * kl + 19.25 * mmd).epsilon(1e-12));

  const InfoVaeOptions defaults;
  REQUIRE(defaults.alpha == 0);
  REQUIRE(defaults.lambda == 1000);
  require_error([] { InfoVae(tiny_options(), {.alpha = 1.5, .lambda = 10}); }, {"InfoVAE", "alpha", "1.5"});
  require_error([] { InfoVae(tiny_options(), {.alpha = -2, .lambda = 2}); }, {"InfoVAE", "alpha + lambda - 1", "-1"});
  require_error([] { InfoVae(tiny_options(), {.alpha = 0, .lambda = 0}); }, {"InfoVAE", "lambda", "0"});
}

// ---------------------------------------------------------------------------------------------
// VQ-VAE

namespace {
// A quantizer with a codebook set by hand: (0, 0), (1, 0), (0, 1), (2, 2).
std::shared_ptr<VectorQuantizer> hand_quantizer(bool ema, double decay = 0.99) {
  auto q = std::make_shared<VectorQuantizer>(VectorQuantizerOptions{.codebook_size = 4, .code_dim = 2, .ema = ema,
                                                                    .decay = decay},
                                             "VQ-VAE", nullptr);
  q->to(DType::Float64);
  NoGradGuard no_grad;
  copy_(q->codebook, tensor64({0, 0, 1, 0, 0, 1, 2, 2}, {4, 2}));
  return q;
}
}  // namespace

TEST_CASE("VQ-VAE: quantisation picks the nearest code, the lowest index on a tie", "[autoencoders][vq-vae]") {
  const auto q = hand_quantizer(true);
  // Squared distances, row by row: (0.9, 0.2) -> 1 (0.05); (0.1, 0.1) -> 0 (0.02); (1.5, 1.6) -> 3
  // (0.41); (0.4, 0.6) -> 2 (0.32); (0.5, 0) is 0.25 from both codes 0 and 1 -> 0.
  const Tensor z = tensor64({0.9, 0.2, 0.1, 0.1, 1.5, 1.6, 0.4, 0.6, 0.5, 0.0}, {5, 2});
  const Tensor idx = q->nearest(z);
  REQUIRE(idx.dtype() == DType::Int64);
  REQUIRE(idx.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 3, 2, 0});
  require_values(q->lookup(idx), {1, 0, 0, 0, 2, 2, 0, 1, 0, 0}, 0);
  // Perplexity of the usage {0: 2/5, 1: 1/5, 2: 1/5, 3: 1/5}.
  const double h = -(0.4 * std::log(0.4) + 3 * 0.2 * std::log(0.2));
  REQUIRE(q->perplexity(idx).item<double>() == Approx(std::exp(h)).epsilon(1e-12));
  REQUIRE(q->perplexity(from_vector(std::vector<int64_t>{2, 2, 2}, {3})).item<double>() == Approx(1.0));
  require_error([&] { q->nearest(zeros({3, 3}, {DType::Float64})); }, {"VQ-VAE", "[M, 2]", "[3, 3]"});
}

TEST_CASE("VQ-VAE: the straight-through estimator passes the decoder's gradient to the encoder unchanged",
          "[autoencoders][vq-vae]") {
  // The op: values of e, gradient of z.
  Tensor z = leaf64({3, 2}, 1);
  const Tensor e = tensor64({0, 0, 1, 0, 2, 2}, {3, 2});
  const Tensor w = tensor64({0.5, -1, 2, 3, -0.25, 1}, {3, 2});
  const Tensor zq = VectorQuantizer::straight_through(z, e);
  require_values(zq, e.to_vector<double>(), 1e-15);
  sum(mul(zq, w)).backward();
  require_values(z.grad(), w.to_vector<double>(), 0);

  // The model: with beta = 0 the encoder's gradient is exactly the decoder's input gradient at
  // z_q, pushed back through the encoder.
  Generator i1(3), i2(3);
  VqVae vq(tiny_options(4), {.codebook_size = 8, .code_dim = 2, .beta = 0.0}, &i1);
  VqVae twin(tiny_options(4), {.codebook_size = 8, .code_dim = 2, .beta = 0.0}, &i2);
  vq.to(DType::Float64);
  twin.to(DType::Float64);
  vq.eval();
  twin.eval();
  const Tensor x = tiny_batch(4);
  term(vq.loss(x), "loss").backward();
  // By parts on the twin: the reconstruction's gradient at a leaf holding z_q, then the encoder
  // output's vector-Jacobian product with it.
  Tensor zq_leaf = twin.encode(x).code.detach().set_requires_grad(true);
  const Tensor rec = div(sum(neg(twin.likelihood().log_prob(x, twin.decode(zq_leaf)))), 3.0);
  rec.backward();
  twin.zero_grad();
  std::map<std::string, Tensor> twin_params;
  for (const auto& [n, p] : twin.named_parameters()) twin_params[n] = p;
  // z_e of the twin, whose parameters now collect only the encoder's share.
  const Tensor z_e = twin.Autoencoder::encode(x).code;
  sum(mul(z_e, zq_leaf.grad())).backward();
  for (const auto& [n, p] : vq.named_parameters()) {
    if (n.rfind("decoder", 0) == 0) continue;
    INFO(n);
    require_values(p.grad(), twin_params.at(n).grad().to_vector<double>(), 1e-12);
  }
}

TEST_CASE("VQ-VAE: commitment and codebook terms and the loss by hand", "[autoencoders][vq-vae]") {
  const Tensor x = tiny_batch(4);
  const Mat xs = mat(x);
  for (bool ema : {true, false}) {
    INFO("ema " << ema);
    Generator init(3);
    VqVae vq(tiny_options(4), {.codebook_size = 5, .code_dim = 2, .beta = 0.25, .ema = ema}, &init);
    vq.to(DType::Float64);
    vq.eval();  // no EMA step, so the codebook below is the one used
    const Mat code = encode_by_hand(xs, vq, "code");  // z_e [3, 4]: two code vectors per example
    const Mat book = mat(vq.quantizer().codebook);
    Mat zq = code;
    std::vector<double> commit(3);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t g = 0; g < 2; ++g) {
        int64_t best = 0;
        double best_d = INFINITY;
        for (int64_t c = 0; c < 5; ++c) {
          double d = 0;
          for (int64_t j = 0; j < 2; ++j) d += std::pow(code.at(i, 2 * g + j) - book.at(c, j), 2);
          if (d < best_d) best_d = d, best = c;
        }
        commit[i] += best_d;
        for (int64_t j = 0; j < 2; ++j) zq.at(i, 2 * g + j) = book.at(best, j);
      }
    const double rec = mean_of(bce_rows(xs, decode_by_hand(zq, vq)));
    const LossTerms terms = vq.loss(x);
    REQUIRE(term(terms, "reconstruction").item<double>() == Approx(rec).epsilon(1e-12));
    REQUIRE(term(terms, "commitment").item<double>() == Approx(mean_of(commit)).epsilon(1e-12));
    const double codebook_term = ema ? 0.0 : term(terms, "codebook").item<double>();
    if (!ema) REQUIRE(codebook_term == Approx(mean_of(commit)).epsilon(1e-12));
    REQUIRE(term(terms, "loss").item<double>() == Approx(rec + codebook_term + 0.25 * mean_of(commit)).epsilon(1e-12));
    REQUIRE(vq.loss_names().size() == terms.size());
    REQUIRE(vq.code_indices(x).shape() == Shape{3, 2});
    // The codebook is a parameter only without EMA.
    bool codebook_is_parameter = false;
    for (const auto& [n, p] : vq.named_parameters()) codebook_is_parameter |= n == "quantizer.codebook";
    REQUIRE(codebook_is_parameter == !ema);
  }
  require_error([] { VqVae(tiny_options(4), {.code_dim = 3}); }, {"VQ-VAE", "code_dim", "4", "3"});
  VqVae vq(tiny_options(4), {.codebook_size = 5, .code_dim = 2});
  require_error([&] { vq.log_prob(zeros({2, 4}), 3); }, {"VQ-VAE::log_prob", "stochastic"});
  Generator g(1);
  REQUIRE(vq.sample(6, &g).shape() == Shape{6, 4});
}

TEST_CASE("VQ-VAE: two EMA steps match Appendix A.1 with zero-debiasing and Laplace smoothing by hand",
          "[autoencoders][vq-vae]") {
  const double gamma = 0.9, eps = 1e-5;
  const auto q = hand_quantizer(true, gamma);
  // Step 1: rows assigned to codes 1, 1, 3 (codes 0 and 2 unused).
  const Tensor z1 = tensor64({0.9, 0.2, 1.1, -0.2, 1.5, 1.6}, {3, 2});
  const Tensor idx1 = q->nearest(z1);
  REQUIRE(idx1.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 3});
  q->ema_update(z1, idx1);
  // Biased averages after one step: (1 - gamma) * statistics; debiased by 1 - gamma: the statistics.
  require_values(q->ema_cluster_size, {0, 0.2, 0, 0.1}, 1e-15);
  REQUIRE(q->ema_updates.item<int64_t>() == 1);
  const std::vector<double> n1 = {0, 2, 0, 1};
  auto smoothed = [&](const std::vector<double>& n) {
    double total = 0;
    for (double v : n) total += v;
    std::vector<double> s;
    for (double v : n) s.push_back((v + eps) / (total + 4 * eps) * total);
    return s;
  };
  const std::vector<double> s1 = smoothed(n1);
  // Unused codes: sum 0, so the code becomes 0; used ones the smoothed mean of their rows.
  require_values(q->codebook, {0, 0, 2.0 / s1[1], 0.0 / s1[1], 0, 0, 1.5 / s1[3], 1.6 / s1[3]}, 1e-12);

  // Step 2 from there: rows to codes 0 ((0.1, 0.1) is nearest (0, 0)) and 3.
  const Tensor z2 = tensor64({0.1, 0.1, 1.2, 1.4}, {2, 2});
  const Tensor idx2 = q->nearest(z2);
  REQUIRE(idx2.to_vector<int64_t>() == std::vector<int64_t>{0, 3});
  q->ema_update(z2, idx2);
  const double debias = 1 - gamma * gamma;
  std::vector<double> n2 = {0.1 / debias, 0.9 * 0.2 / debias, 0, (0.9 * 0.1 + 0.1) / debias};
  require_values(q->ema_cluster_size, {0.1, 0.18, 0, 0.19}, 1e-15);
  const std::vector<double> m_code1 = {0.9 * 0.1 * 2.0, 0.0}, m_code3 = {0.9 * 0.1 * 1.5 + 0.1 * 1.2, 0.9 * 0.1 * 1.6 + 0.1 * 1.4};
  const std::vector<double> s2 = smoothed(n2);
  require_values(q->codebook,
                 {0.1 * 0.1 / debias / s2[0], 0.1 * 0.1 / debias / s2[0], m_code1[0] / debias / s2[1], 0.0, 0, 0,
                  m_code3[0] / debias / s2[3], m_code3[1] / debias / s2[3]},
                 1e-12);
  // The EMA state is held as buffers, so it is in the state dict (and so in checkpoints).
  const auto state = q->state_dict();
  for (const char* name : {"codebook", "ema_cluster_size", "ema_code_sum", "ema_updates"}) REQUIRE(state.count(name) == 1);
  require_error([] { hand_quantizer(false)->ema_update(zeros({1, 2}, {DType::Float64}), zeros({1}, {DType::Int64})); },
                {"VQ-VAE", "ema"});
}

// ---------------------------------------------------------------------------------------------
// Training

TEST_CASE("short training lowers the loss of IWAE, WAE, InfoVAE and VQ-VAE", "[autoencoders][training]") {
  const Tensor flat = structured_data(64, 12, 1);
  const AutoencoderOptions o{.input_dim = 12, .latent_dim = 4, .architecture = ArchitectureSpec::mlp({16}), .likelihood = {}};
  struct Case {
    std::string name;
    std::shared_ptr<Autoencoder> model;
    double factor;  // final loss must be below factor * initial loss
  };
  Generator init(2);
  std::vector<Case> cases;
  cases.push_back({"iwae", std::make_shared<Iwae>(o, IwaeOptions{.samples = 5}, &init), 0.85});
  cases.push_back({"wae-imq", std::make_shared<Wae>(o, WaeOptions{}, &init), 0.7});
  cases.push_back({"wae-rbf", std::make_shared<Wae>(o, WaeOptions{.kernel = MmdKernel::Gaussian}, &init), 0.7});
  // lambda = 10 rather than the paper's 1000: on 64 examples the MMD U-statistic's noise (about
  // 0.01 per batch) times 999 is +-10 nats a step, which drowns the encoder's gradient at this size.
  cases.push_back({"info-vae", std::make_shared<InfoVae>(o, InfoVaeOptions{.alpha = 0, .lambda = 10}, &init), 0.8});
  cases.push_back({"vq-vae-ema", std::make_shared<VqVae>(o, VqVaeOptions{.codebook_size = 16, .code_dim = 2}, &init), 0.8});
  cases.push_back({"vq-vae-grad",
                   std::make_shared<VqVae>(o, VqVaeOptions{.codebook_size = 16, .code_dim = 2, .ema = false}, &init), 0.8});
  for (Case& c : cases) {
    const auto [first, last] = train_briefly(*c.model, flat, 80);
    INFO(c.name << ": first " << first << ", last " << last);
    CHECK(last < c.factor * first);
  }
}

// ---------------------------------------------------------------------------------------------
// strata train --model NAME

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_generative_aes_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

training::RunConfig tiny_run(const fs::path& dir, const std::string& model) {
  Generator gen(42);
  const fs::path path = dir / "tiny.safetensors";
  io::save_safetensors(path, {{"train", rand({64, 12}, {}, &gen)}, {"validation", rand({16, 12}, {}, &gen)}});
  training::RunConfig c;
  c.model = model;
  c.data = "tensors:" + path.string();
  c.hidden = {8};
  c.latent = 4;
  c.code_dim = 2;
  c.codebook_size = 16;
  c.batch_size = 16;
  c.epochs = 1;
  c.out = (dir / "run").string();
  return c;
}

}  // namespace

TEST_CASE("strata train runs iwae, wae, info-vae and vq-vae by name and logs their terms", "[autoencoders][trainer]") {
  const std::map<std::string, std::vector<std::string>> columns = {
      {"iwae", {"reconstruction", "kl"}},
      {"wae", {"reconstruction", "mmd"}},
      {"info-vae", {"reconstruction", "kl", "mmd"}},
      {"vq-vae", {"reconstruction", "commitment", "perplexity"}}};
  for (const auto& [model, names] : columns) {
    INFO(model);
    const fs::path dir = fresh_dir(model);
    const training::RunConfig c = tiny_run(dir, model);
    std::ostringstream log;
    const training::TrainResult r = training::train_run(c, {.log = &log});
    REQUIRE(r.global_step == 4);
    REQUIRE(std::isfinite(r.best_validation_loss));
    const training::MetricsTable t = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
    for (const std::string& n : names) REQUIRE(t.has(n));
    REQUIRE(fs::exists(fs::path(c.out) / "curves.svg"));
    fs::remove_all(dir);
  }
  const auto names = training::model_names();
  for (const char* m : {"iwae", "wae", "info-vae", "vq-vae"})
    REQUIRE(std::find(names.begin(), names.end(), m) != names.end());
}

TEST_CASE("strata train: a VQ-VAE run resumed mid-epoch continues its EMA codebook bit for bit",
          "[autoencoders][trainer][resume]") {
  const fs::path dir = fresh_dir("vq_resume");
  training::RunConfig whole = tiny_run(dir, "vq-vae");
  whole.epochs = 2;
  whole.out = (dir / "whole").string();
  std::ostringstream log;
  training::train_run(whole, {.log = &log});
  training::RunConfig parts = whole;
  parts.out = (dir / "parts").string();
  REQUIRE(training::train_run(parts, {.stop_after_steps = 3, .log = &log}).interrupted);
  REQUIRE(training::resume_run(parts.out, std::nullopt, {.log = &log}).global_step == 8);
  const auto a = io::load_safetensors(fs::path(parts.out) / "checkpoints/latest.safetensors").tensors;
  const auto b = io::load_safetensors(fs::path(whole.out) / "checkpoints/latest.safetensors").tensors;
  REQUIRE(a.size() == b.size());
  int ema_tensors = 0;
  for (const auto& [name, t] : b) {
    INFO(name);
    ema_tensors += name.find("ema_") != std::string::npos;
    REQUIRE(a.at(name).to_vector<double>() == t.to_vector<double>());
  }
  REQUIRE(ema_tensors == 3);
  fs::remove_all(dir);
}

TEST_CASE("strata train: bad iwae / wae / info-vae / vq-vae settings name the values at fault",
          "[autoencoders][trainer][errors]") {
  training::RunConfig c;
  c.model = "iwae";
  c.iw_samples = 0;
  require_error([&] { training::validate(c); }, {"iw_samples", "0"});
  c = {};
  c.model = "wae";
  c.mmd_kernel = "laplace";
  require_error([&] { training::validate(c); }, {"laplace", "auto, imq, rbf"});
  c = {};
  c.model = "info-vae";
  c.info_alpha = 2;
  require_error([&] { training::validate(c); }, {"info-vae", "info_alpha", "2"});
  c = {};
  c.model = "vq-vae";
  c.latent = 10;
  c.code_dim = 4;
  require_error([&] { training::validate(c); }, {"code_dim 4", "latent 10"});
  c = {};
  c.vq_decay = 1;
  require_error([&] { training::validate(c); }, {"vq_decay", "1"});
  // The new keys round-trip through the saved config.
  c = {};
  c.model = "vq-vae";
  c.vq_ema = false;
  c.codebook_size = 64;
  c.mmd_kernel = "rbf";
  c.iw_samples = 50;
  REQUIRE(training::to_json(training::config_from_json(training::to_json(c), "t")) == training::to_json(c));
}
