// The disentangling VAEs (models/autoencoders/): the KL decomposition of beta-TCVAE with its two
// estimators of log q(z) against the formulas evaluated in plain double loops, the identity
// mi + tc + dwkl = log q(z|x) - log p(z), beta-TCVAE's, alpha-TCVAE's and DIP-VAE's losses by hand,
// the settings that reduce each to the VAE, errors that name the setting at fault, short training
// runs that lower each loss, and `strata train` for each name.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <sstream>

#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/alpha_tcvae.h"
#include "models/autoencoders/beta_tcvae.h"
#include "models/autoencoders/dip_vae.h"
#include "models/autoencoders/kl_decomposition.h"
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

// A row-major [rows, cols] matrix of doubles: the by-hand side of every comparison.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double at(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
};

Mat mat(const Tensor& t) { return {t.size(0), t.numel() / t.size(0), t.to_vector<double>()}; }

double log_normal(double x, double mu, double log_var) {
  return -0.5 * (std::log(2 * std::numbers::pi) + log_var + (x - mu) * (x - mu) / std::exp(log_var));
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// The weight of item j in the estimate of q(z_i), written from the stratified design of Chen et
// al.'s Appendix C.2: the item itself 1/N; with m = B - 1 others, the next one (cyclically) stands
// for a stratum of N/m - 1 examples, the rest for strata of N/m each.
double mss_weight(int64_t i, int64_t j, int64_t b, int64_t n_data) {
  const double n = static_cast<double>(n_data), m = static_cast<double>(b - 1);
  if (i == j) return 1 / n;
  if (j == (i + 1) % b) return (n / m - 1) / n;
  return (n / m) / n;
}

// The decomposition by hand: naive sums of densities (the values are moderate, so exp does not
// under- or overflow in doubles).
struct DecompositionByHand {
  std::vector<double> log_q_z_given_x, log_q_z, log_prod, log_p_z;
  double mi = 0, tc = 0, dwkl = 0;
};
DecompositionByHand decompose_by_hand(const Mat& z, const Mat& mu, const Mat& lv, int64_t n_data,
                                      TcEstimator est) {
  const int64_t b = z.rows, l = z.cols;
  DecompositionByHand h;
  for (int64_t i = 0; i < b; ++i) {
    double cond = 0, prior = 0, joint = 0, prod = 0;
    for (int64_t d = 0; d < l; ++d) {
      cond += log_normal(z.at(i, d), mu.at(i, d), lv.at(i, d));
      prior += log_normal(z.at(i, d), 0, 0);
    }
    const auto weight = [&](int64_t j) {
      return est == TcEstimator::Mss && b >= 2 ? mss_weight(i, j, b, n_data)
                                               : 1.0 / static_cast<double>(n_data * b);
    };
    for (int64_t j = 0; j < b; ++j) {
      double density = 1;
      for (int64_t d = 0; d < l; ++d) density *= std::exp(log_normal(z.at(i, d), mu.at(j, d), lv.at(j, d)));
      joint += weight(j) * density;
    }
    for (int64_t d = 0; d < l; ++d) {
      double marginal = 0;
      for (int64_t j = 0; j < b; ++j)
        marginal += weight(j) * std::exp(log_normal(z.at(i, d), mu.at(j, d), lv.at(j, d)));
      prod += std::log(marginal);
    }
    h.log_q_z_given_x.push_back(cond);
    h.log_q_z.push_back(std::log(joint));
    h.log_prod.push_back(prod);
    h.log_p_z.push_back(prior);
    h.mi += (cond - std::log(joint)) / static_cast<double>(b);
    h.tc += (std::log(joint) - prod) / static_cast<double>(b);
    h.dwkl += (prod - prior) / static_cast<double>(b);
  }
  return h;
}

// KL(N(mu, exp(lv)) || N(0, 1)), summed over dimensions and averaged over rows.
double kl_by_hand(const Mat& mu, const Mat& lv) {
  double s = 0;
  for (size_t i = 0; i < mu.v.size(); ++i) s += -0.5 * (1 + lv.v[i] - mu.v[i] * mu.v[i] - std::exp(lv.v[i]));
  return s / static_cast<double>(mu.rows);
}

// Default options but for what `set` changes (designated initialisers would warn about the fields
// they leave out).
template <class Options, class Set>
Options with(Set set) {
  Options o;
  set(o);
  return o;
}

// A tiny float64 model: 4 inputs, one hidden layer of 3, latent 2.
AutoencoderOptions tiny_options() {
  return {.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}};
}

Tensor tiny_batch(int64_t rows, uint64_t seed) {
  Generator g(seed);
  return rand({rows, 4}, {DType::Float64}, &g);
}

// The posterior q(z|x) of a model for x and the draw z that a Generator(seed) gives first, as the
// model's loss() draws it.
struct Posterior {
  Mat mu, lv, z;
};
Posterior posterior(Vae& model, const Tensor& x, uint64_t seed) {
  const Encoding q = model.encode(x);
  Generator g(seed);
  return {mat(q.mean), mat(q.log_var), mat(model.sample_posterior(q, &g))};
}

double value(const LossTerms& terms, const std::string& name) { return term(terms, name).item<double>(); }

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

}  // namespace

// ---------------------------------------------------------------------------------------------
// The KL decomposition and its estimators

TEST_CASE("KL decomposition: MWS and MSS against the formulas in double loops (B = 3 and 4, L = 2)",
          "[autoencoders]") {
  for (const int64_t b : {3, 4}) {
    for (const TcEstimator est : {TcEstimator::Mws, TcEstimator::Mss}) {
      INFO("B = " << b << ", " << tc_estimator_name(est));
      const Tensor mu = leaf64({b, 2}, 1, 0.8), lv = leaf64({b, 2}, 2, 0.4, -0.3), z = leaf64({b, 2}, 3);
      const int64_t n_data = 10;
      const KlDecomposition d = decompose_kl(z, mu, lv, n_data, est, "test");
      const DecompositionByHand h = decompose_by_hand(mat(z), mat(mu), mat(lv), n_data, est);
      require_values(d.log_q_z_given_x, h.log_q_z_given_x, 1e-12);
      require_values(d.log_q_z, h.log_q_z, 1e-12);
      require_values(d.log_prod_q_z_j, h.log_prod, 1e-12);
      require_values(d.log_p_z, h.log_p_z, 1e-12);
      REQUIRE(d.mi.item<double>() == Approx(h.mi).epsilon(1e-12).margin(1e-12));
      REQUIRE(d.tc.item<double>() == Approx(h.tc).epsilon(1e-12).margin(1e-12));
      REQUIRE(d.dwkl.item<double>() == Approx(h.dwkl).epsilon(1e-12).margin(1e-12));
      // The identity: the three terms sum to the minibatch estimate of E_q[log q(z|x) - log p(z)].
      std::vector<double> kl_estimate;
      for (int64_t i = 0; i < b; ++i) kl_estimate.push_back(h.log_q_z_given_x[i] - h.log_p_z[i]);
      REQUIRE(d.mi.item<double>() + d.tc.item<double>() + d.dwkl.item<double>() ==
              Approx(mean_of(kl_estimate)).epsilon(1e-12));
    }
  }
}

TEST_CASE("KL decomposition: MSS weights sum to 1 per row, and MWS's constant offsets where q(z|x) = p(z)",
          "[autoencoders]") {
  for (const int64_t b : {2, 3, 5}) {
    const Mat w = mat(exp(mss_log_weights(b, 7)));
    for (int64_t i = 0; i < b; ++i) {
      double row = 0;
      for (int64_t j = 0; j < b; ++j) {
        row += w.at(i, j);
        REQUIRE(w.at(i, j) == Approx(mss_weight(i, j, b, 7)).epsilon(1e-14));
      }
      REQUIRE(row == Approx(1.0).epsilon(1e-14));
    }
  }
  // Every posterior equal to the prior: q(z) = p(z), so the true mi, tc and dwkl are all 0. MSS
  // recovers that exactly; MWS is off by the constants log N, (L - 1) log N and -L log N.
  const int64_t b = 4, l = 3, n_data = 50;
  const Tensor z = leaf64({b, l}, 4), zero = zeros({b, l}, {DType::Float64});
  const KlDecomposition mss = decompose_kl(z, zero, zero, n_data, TcEstimator::Mss, "test");
  const KlDecomposition mws = decompose_kl(z, zero, zero, n_data, TcEstimator::Mws, "test");
  const double log_n = std::log(static_cast<double>(n_data));
  REQUIRE(mss.mi.item<double>() == Approx(0).margin(1e-12));
  REQUIRE(mss.tc.item<double>() == Approx(0).margin(1e-12));
  REQUIRE(mss.dwkl.item<double>() == Approx(0).margin(1e-12));
  REQUIRE(mws.mi.item<double>() == Approx(log_n).epsilon(1e-12));
  REQUIRE(mws.tc.item<double>() == Approx((l - 1) * log_n).epsilon(1e-12));
  REQUIRE(mws.dwkl.item<double>() == Approx(-l * log_n).epsilon(1e-12));
  // One item: both estimators are log q(z|x) - log N.
  const Tensor mu1 = leaf64({1, 2}, 5), lv1 = leaf64({1, 2}, 6, 0.3), z1 = leaf64({1, 2}, 7);
  for (const TcEstimator est : {TcEstimator::Mws, TcEstimator::Mss}) {
    const KlDecomposition d = decompose_kl(z1, mu1, lv1, 9, est, "test");
    REQUIRE(d.log_q_z.item<double>() ==
            Approx(d.log_q_z_given_x.item<double>() - std::log(9.0)).epsilon(1e-12));
  }
}

TEST_CASE("KL decomposition: gradients of mi, tc and dwkl match finite differences",
          "[autoencoders][gradcheck]") {
  const Tensor mu = leaf64({3, 2}, 11, 0.7), lv = leaf64({3, 2}, 12, 0.3), z = leaf64({3, 2}, 13);
  for (const TcEstimator est : {TcEstimator::Mws, TcEstimator::Mss}) {
    INFO(tc_estimator_name(est));
    require_gradcheck(
        [est](const std::vector<Tensor>& in) {
          const KlDecomposition d = decompose_kl(in[0], in[1], in[2], 8, est, "test");
          return add(add(mul(d.mi, 0.3), mul(d.tc, 1.7)), mul(d.dwkl, -0.6));
        },
        {z, mu, lv});
  }
}

TEST_CASE("KL decomposition: missing dataset size, MSS with N < B and bad shapes name the values",
          "[autoencoders][errors]") {
  const Tensor z = leaf64({4, 2}, 1), mu = leaf64({4, 2}, 2), lv = leaf64({4, 2}, 3);
  require_error([&] { decompose_kl(z, mu, lv, 0, TcEstimator::Mws, "beta-TCVAE"); },
                {"beta-TCVAE", "dataset size", "set_dataset_size"});
  require_error([&] { decompose_kl(z, mu, lv, 3, TcEstimator::Mss, "beta-TCVAE"); },
                {"beta-TCVAE", "N = 3", "B = 4"});
  require_error(
      [&] {
        decompose_kl(z, leaf64({4, 3}, 2), lv, 10, TcEstimator::Mws, "beta-TCVAE");
      },
      {"beta-TCVAE", "[4, 3]"});
  require_error([] { parse_tc_estimator("mcmc"); }, {"tc_estimator", "mcmc", "mws, mss"});
}

// ---------------------------------------------------------------------------------------------
// beta-TCVAE

TEST_CASE("beta-TCVAE: every term by hand, and mi + tc + dwkl is the KL estimate", "[autoencoders]") {
  for (const TcEstimator est : {TcEstimator::Mws, TcEstimator::Mss}) {
    INFO(tc_estimator_name(est));
    Generator init(3), init_vae(3);
    const BetaTcVaeOptions o{.alpha = 0.5, .beta = 6, .gamma = 2, .estimator = est, .warmup = {}};
    BetaTcVae model(tiny_options(), o, &init);
    Vae twin(tiny_options(), {}, &init_vae);
    model.to(DType::Float64);
    twin.to(DType::Float64);
    model.set_dataset_size(20);
    const Tensor x = tiny_batch(4, 4);
    Generator g(7), g_twin(7);
    const LossTerms terms = model.loss(x, &g);
    REQUIRE(model.loss_names() ==
            std::vector<std::string>{"loss", "reconstruction", "mi", "tc", "dwkl", "kl"});
    const Posterior p = posterior(model, x, 7);
    const DecompositionByHand h = decompose_by_hand(p.z, p.mu, p.lv, 20, est);
    const double rec =
        value(twin.loss(x, &g_twin), "reconstruction");  // the twin VAE: same weights, same draw
    REQUIRE(value(terms, "reconstruction") == Approx(rec).epsilon(1e-12));
    REQUIRE(value(terms, "mi") == Approx(h.mi).epsilon(1e-12).margin(1e-12));
    REQUIRE(value(terms, "tc") == Approx(h.tc).epsilon(1e-12).margin(1e-12));
    REQUIRE(value(terms, "dwkl") == Approx(h.dwkl).epsilon(1e-12).margin(1e-12));
    const double kl = kl_by_hand(p.mu, p.lv);
    REQUIRE(value(terms, "kl") == Approx(kl).epsilon(1e-12));
    std::vector<double> kl_estimate;
    for (size_t i = 0; i < h.log_p_z.size(); ++i) kl_estimate.push_back(h.log_q_z_given_x[i] - h.log_p_z[i]);
    REQUIRE(h.mi + h.tc + h.dwkl == Approx(mean_of(kl_estimate)).epsilon(1e-12));
    // loss = rec + kl + (alpha - 1) mi + (beta - 1) tc + (gamma - 1) dwkl
    REQUIRE(value(terms, "loss") == Approx(rec + kl - 0.5 * h.mi + 5 * h.tc + 1 * h.dwkl).epsilon(1e-12));
  }
}

TEST_CASE("beta-TCVAE: alpha = beta = gamma = 1 is exactly the VAE, and a warm-up weights the KL part",
          "[autoencoders]") {
  const Tensor x = tiny_batch(5, 8);
  for (const TcEstimator est : {TcEstimator::Mws, TcEstimator::Mss}) {
    Generator i1(3), i2(3);
    BetaTcVae model(tiny_options(), {.alpha = 1, .beta = 1, .gamma = 1, .estimator = est, .warmup = {}}, &i1);
    Vae vae(tiny_options(), {}, &i2);
    model.to(DType::Float64);
    vae.to(DType::Float64);
    model.set_dataset_size(30);
    Generator g1(7), g2(7);
    const LossTerms a = model.loss(x, &g1), b = vae.loss(x, &g2);
    for (const char* name : {"loss", "reconstruction", "kl"}) REQUIRE(value(a, name) == value(b, name));
  }
  // A linear warm-up at step 2 of 8 weights the whole KL part by 1/4.
  Generator i3(3);
  BetaTcVae warm(tiny_options(),
                 {.alpha = 1,
                  .beta = 6,
                  .gamma = 1,
                  .estimator = TcEstimator::Mss,
                  .warmup = {.kind = WarmupKind::Linear, .steps = 8}},
                 &i3);
  warm.to(DType::Float64);
  warm.set_dataset_size(30);
  warm.set_step(2);
  Generator g3(7);
  const LossTerms t = warm.loss(x, &g3);
  REQUIRE(value(t, "kl_weight") == 0.25);
  REQUIRE(value(t, "loss") ==
          Approx(value(t, "reconstruction") + 0.25 * (value(t, "kl") + 5 * value(t, "tc"))).epsilon(1e-12));
}

TEST_CASE("beta-TCVAE: negative or non-finite weights and a missing dataset size name the setting",
          "[autoencoders][errors]") {
  require_error([] { BetaTcVae(tiny_options(), with<BetaTcVaeOptions>([](auto& o) { o.alpha = -1; })); },
                {"beta-TCVAE", "mi_alpha", "-1"});
  require_error([] { BetaTcVae(tiny_options(), with<BetaTcVaeOptions>([](auto& o) { o.beta = -0.5; })); },
                {"beta-TCVAE", "beta", "-0.5"});
  require_error([] { BetaTcVae(tiny_options(), with<BetaTcVaeOptions>([](auto& o) { o.gamma = -2; })); },
                {"beta-TCVAE", "dwkl_gamma", "-2"});
  require_error(
      [] { BetaTcVae(tiny_options(), with<BetaTcVaeOptions>([](auto& o) { o.beta = std::nan(""); })); },
      {"beta-TCVAE", "beta"});
  BetaTcVae model(tiny_options());
  model.to(DType::Float64);
  require_error([&] { model.loss(tiny_batch(3, 1)); }, {"beta-TCVAE", "dataset size"});
}

// ---------------------------------------------------------------------------------------------
// alpha-TCVAE

TEST_CASE("alpha-TCVAE: the paper form and the public-code form by hand, following the notes",
          "[autoencoders]") {
  const Tensor x = tiny_batch(4, 9);
  for (const AlphaTcForm form : {AlphaTcForm::Paper, AlphaTcForm::PublicCode}) {
    INFO(alpha_tc_form_name(form));
    Generator init(3), init_vae(3);
    const AlphaTcVaeOptions o{
        .alpha = 0.25, .beta = 2, .views = 0, .form = form, .estimator = TcEstimator::Mss, .warmup = {}};
    AlphaTcVae model(tiny_options(), o, &init);
    Vae twin(tiny_options(), {}, &init_vae);
    model.to(DType::Float64);
    twin.to(DType::Float64);
    model.set_dataset_size(25);
    Generator g(7), g_twin(7);
    const LossTerms terms = model.loss(x, &g);
    const double rec = value(twin.loss(x, &g_twin), "reconstruction");
    const Posterior p = posterior(model, x, 7);
    const DecompositionByHand h = decompose_by_hand(p.z, p.mu, p.lv, 25, TcEstimator::Mss);
    const double kl = kl_by_hand(p.mu, p.lv);
    // K: the latent size (2) for the paper form, B - 1 = 3 for the public code.
    const double k = form == AlphaTcForm::Paper ? 2 : 3;
    const double vib = (1 - 0.25) / (1 - 0.25 / k), ceb = k * 0.25 / (k - 0.25);
    REQUIRE(value(terms, "kl") == Approx(kl).epsilon(1e-12));
    REQUIRE(value(terms, "kl_ceb") == Approx(h.mi).epsilon(1e-12).margin(1e-12));
    REQUIRE(value(terms, "tc") == Approx(h.tc).epsilon(1e-12).margin(1e-12));
    REQUIRE(value(terms, "dwkl") == Approx(h.dwkl).epsilon(1e-12).margin(1e-12));
    const double expected = form == AlphaTcForm::Paper ? rec + 2 * (vib * kl + ceb * h.mi)
                                                       : rec + 2 * (ceb * h.mi - vib * h.dwkl);
    REQUIRE(value(terms, "loss") == Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("alpha-TCVAE: alpha = 0 is beta-VAE (beta = 1: the VAE) exactly", "[autoencoders]") {
  const Tensor x = tiny_batch(4, 10);
  for (const double beta : {1.0, 4.0}) {
    Generator i1(3), i2(3);
    AlphaTcVae model(tiny_options(), with<AlphaTcVaeOptions>([&](auto& o) { o.alpha = 0, o.beta = beta; }),
                     &i1);
    VaeOptions v;
    v.beta = beta;
    Vae vae(tiny_options(), v, &i2);
    model.to(DType::Float64);
    vae.to(DType::Float64);
    model.set_dataset_size(12);
    Generator g1(7), g2(7);
    const LossTerms a = model.loss(x, &g1), b = vae.loss(x, &g2);
    for (const char* name : {"loss", "reconstruction", "kl"}) REQUIRE(value(a, name) == value(b, name));
  }
}

TEST_CASE("alpha-TCVAE: alpha outside [0, 1], negative beta or views, and K <= alpha name the setting",
          "[autoencoders][errors]") {
  require_error([] { AlphaTcVae(tiny_options(), with<AlphaTcVaeOptions>([](auto& o) { o.alpha = 1.5; })); },
                {"alpha-TCVAE", "alpha", "[0, 1]", "1.5"});
  require_error([] { AlphaTcVae(tiny_options(), with<AlphaTcVaeOptions>([](auto& o) { o.alpha = -0.1; })); },
                {"alpha-TCVAE", "alpha", "-0.1"});
  require_error([] { AlphaTcVae(tiny_options(), with<AlphaTcVaeOptions>([](auto& o) { o.beta = -1; })); },
                {"alpha-TCVAE", "beta", "-1"});
  require_error([] { AlphaTcVae(tiny_options(), with<AlphaTcVaeOptions>([](auto& o) { o.views = -3; })); },
                {"alpha-TCVAE", "views", "-3"});
  require_error(
      [] { AlphaTcVae(tiny_options(), with<AlphaTcVaeOptions>([](auto& o) { o.alpha = 1, o.views = 1; })); },
      {"alpha-TCVAE", "K) = 1", "alpha = 1"});
  require_error([] { parse_alpha_tc_form("code"); }, {"alpha_tc_form", "code", "paper, public-code"});
}

// ---------------------------------------------------------------------------------------------
// DIP-VAE

TEST_CASE("DIP-VAE I and II: the covariance and both penalties by hand", "[autoencoders]") {
  const Tensor x = tiny_batch(5, 11);
  for (const DipType type : {DipType::I, DipType::II}) {
    INFO(dip_type_name(type));
    Generator init(3), init_vae(3);
    DipVae model(tiny_options(),
                 with<DipVaeOptions>([&](auto& o) { o.type = type, o.lambda_od = 3, o.lambda_d = 7; }),
                 &init);
    Vae twin(tiny_options(), {}, &init_vae);
    model.to(DType::Float64);
    twin.to(DType::Float64);
    Generator g(7), g_twin(7);
    const LossTerms terms = model.loss(x, &g);
    const LossTerms vae_terms = twin.loss(x, &g_twin);
    const Posterior p = posterior(model, x, 7);
    const int64_t b = p.mu.rows, l = p.mu.cols;
    // C = (1/B) sum_n (mu_n - mean)(mu_n - mean)^T, plus the mean variance on the diagonal for type II.
    std::vector<double> cov(static_cast<size_t>(l * l));
    for (int64_t i = 0; i < l; ++i)
      for (int64_t j = 0; j < l; ++j) {
        double mi = 0, mj = 0;
        for (int64_t n = 0; n < b; ++n) mi += p.mu.at(n, i) / b, mj += p.mu.at(n, j) / b;
        double c = 0;
        for (int64_t n = 0; n < b; ++n) c += (p.mu.at(n, i) - mi) * (p.mu.at(n, j) - mj) / b;
        if (type == DipType::II && i == j)
          for (int64_t n = 0; n < b; ++n) c += std::exp(p.lv.at(n, i)) / b;
        cov[static_cast<size_t>(i * l + j)] = c;
      }
    require_values(model.penalised_covariance(model.encode(x)), cov, 1e-12);
    double off = 0, diag = 0;
    for (int64_t i = 0; i < l; ++i)
      for (int64_t j = 0; j < l; ++j) {
        const double c = cov[static_cast<size_t>(i * l + j)];
        if (i == j)
          diag += (c - 1) * (c - 1);
        else
          off += c * c;
      }
    REQUIRE(value(terms, "dip_off_diagonal") == Approx(off).epsilon(1e-12));
    REQUIRE(value(terms, "dip_diagonal") == Approx(diag).epsilon(1e-12));
    REQUIRE(value(terms, "reconstruction") == value(vae_terms, "reconstruction"));
    REQUIRE(value(terms, "kl") == Approx(kl_by_hand(p.mu, p.lv)).epsilon(1e-12));
    REQUIRE(value(terms, "loss") == Approx(value(vae_terms, "loss") + 3 * off + 7 * diag).epsilon(1e-12));
  }
}

TEST_CASE("DIP-VAE: lambda_od = lambda_d = 0 is exactly the VAE, and the paper's lambda_d defaults",
          "[autoencoders]") {
  const Tensor x = tiny_batch(4, 12);
  for (const DipType type : {DipType::I, DipType::II}) {
    Generator i1(3), i2(3);
    DipVae model(tiny_options(),
                 with<DipVaeOptions>([&](auto& o) { o.type = type, o.lambda_od = 0, o.lambda_d = 0; }), &i1);
    Vae vae(tiny_options(), {}, &i2);
    model.to(DType::Float64);
    vae.to(DType::Float64);
    Generator g1(7), g2(7);
    const LossTerms a = model.loss(x, &g1), b = vae.loss(x, &g2);
    for (const char* name : {"loss", "reconstruction", "kl"}) REQUIRE(value(a, name) == value(b, name));
  }
  REQUIRE(DipVaeOptions::default_lambda_d(DipType::I, 10) == 100);
  REQUIRE(DipVaeOptions::default_lambda_d(DipType::II, 10) == 10);
  // The registry resolves lambda_d = 0 to these; validate() accepts the defaults of every model.
  training::RunConfig c;
  c.model = "dip-vae";
  training::validate(c);
}

TEST_CASE("DIP-VAE: negative penalties and an unknown type name the setting", "[autoencoders][errors]") {
  require_error([] { DipVae(tiny_options(), with<DipVaeOptions>([](auto& o) { o.lambda_od = -1; })); },
                {"DIP-VAE-I", "lambda_od", "-1"});
  require_error(
      [] {
        DipVae(tiny_options(), with<DipVaeOptions>([](auto& o) { o.type = DipType::II, o.lambda_d = -5; }));
      },
      {"DIP-VAE-II", "lambda_d", "-5"});
  require_error([] { parse_dip_type("iii"); }, {"dip_type", "iii", "i, ii"});
}

// ---------------------------------------------------------------------------------------------
// Training

TEST_CASE("short training lowers each disentangling VAE's loss", "[autoencoders][training]") {
  const Tensor x = structured_data(64, 12, 1);
  const AutoencoderOptions o{
      .input_dim = 12, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({16}), .likelihood = {}};
  struct Case {
    std::string name;
    std::shared_ptr<Autoencoder> model;
  };
  // Each model initialised from its own Generator(2), so that each case stands alone.
  Generator i1(2), i2(2), i3(2), i4(2), i5(2);
  std::vector<Case> cases;
  cases.push_back({"beta-tcvae mws", std::make_shared<BetaTcVae>(o, BetaTcVaeOptions{}, &i1)});
  cases.push_back({"beta-tcvae mss",
                   std::make_shared<BetaTcVae>(
                       o, with<BetaTcVaeOptions>([](auto& t) { t.estimator = TcEstimator::Mss; }), &i2)});
  cases.push_back({"alpha-tcvae", std::make_shared<AlphaTcVae>(o, AlphaTcVaeOptions{}, &i3)});
  cases.push_back({"dip-vae i", std::make_shared<DipVae>(o, DipVaeOptions{}, &i4)});
  cases.push_back({"dip-vae ii",
                   std::make_shared<DipVae>(
                       o, with<DipVaeOptions>([](auto& t) { t.type = DipType::II, t.lambda_d = 10; }), &i5)});
  for (Case& c : cases) {
    c.model->set_dataset_size(x.size(0));
    const auto [first, last] = train_briefly(*c.model, x, 80);
    INFO(c.name << ": first " << first << ", last " << last);
    CHECK(last < first - 2.0);
  }
}

TEST_CASE("alpha-TCVAE public-code form: the subtracted dimension-wise KL makes the loss unbounded below",
          "[autoencoders][training]") {
  // Not a training success: the optimiser pushes the aggregate posterior away from the prior, the
  // DWKL grows without limit and the loss with it; the paper form (above) trains normally.
  const Tensor x = structured_data(64, 12, 1);
  const AutoencoderOptions o{
      .input_dim = 12, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({16}), .likelihood = {}};
  Generator init(2);
  AlphaTcVae model(o, with<AlphaTcVaeOptions>([](auto& t) { t.form = AlphaTcForm::PublicCode; }), &init);
  model.set_dataset_size(x.size(0));
  train_briefly(model, x, 40);
  Generator g(9);
  const LossTerms terms = model.loss(x, &g);
  INFO("loss " << value(terms, "loss") << ", dwkl " << value(terms, "dwkl"));
  CHECK(value(terms, "dwkl") > 1e3);
  CHECK(value(terms, "loss") < -1e3);
}

// ---------------------------------------------------------------------------------------------
// strata train --model NAME

TEST_CASE("strata train runs beta-tcvae, alpha-tcvae and dip-vae and logs their terms",
          "[autoencoders][trainer]") {
  const fs::path dir = fs::temp_directory_path() / "strata_test_disentangling_vaes";
  const std::pair<std::string, std::vector<std::string>> runs[] = {
      {"beta-tcvae", {"mi", "tc", "dwkl", "kl"}},
      {"alpha-tcvae", {"kl", "kl_ceb", "tc", "dwkl"}},
      {"dip-vae", {"kl", "dip_off_diagonal", "dip_diagonal"}}};
  for (const auto& [model, columns] : runs) {
    INFO(model);
    fs::remove_all(dir);
    fs::create_directories(dir);
    Generator gen(42);
    const fs::path data = dir / "tiny.safetensors";
    io::save_safetensors(data,
                         {{"train", rand({64, 12}, {}, &gen)}, {"validation", rand({16, 12}, {}, &gen)}});
    training::RunConfig c;
    c.model = model;
    c.data = "tensors:" + data.string();
    c.hidden = {8};
    c.latent = 2;
    c.batch_size = 16;
    c.out = (dir / "run").string();
    c.tc_estimator = "mss";
    std::ostringstream log;
    const training::TrainResult r = training::train_run(c, {.log = &log});
    REQUIRE(r.global_step == 4);
    REQUIRE(std::isfinite(r.best_validation_loss));
    const training::MetricsTable t = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
    for (const std::string& column : columns) {
      REQUIRE(t.has(column));
      REQUIRE(t.has("val_" + column));
    }
  }
  fs::remove_all(dir);
  const auto names = training::model_names();
  for (const char* m : {"beta-tcvae", "alpha-tcvae", "dip-vae"})
    REQUIRE(std::find(names.begin(), names.end(), m) != names.end());
}

TEST_CASE("strata train: bad disentangling settings name the setting and the valid choices",
          "[autoencoders][trainer][errors]") {
  training::RunConfig c;
  c.model = "beta-tcvae";
  c.tc_estimator = "exact";
  require_error([&] { training::validate(c); }, {"tc_estimator", "exact", "auto, mws, mss"});
  c = {};
  c.model = "beta-tcvae";
  c.mi_alpha = -1;
  require_error([&] { training::validate(c); }, {"mi_alpha", "-1"});
  c = {};
  c.model = "beta-tcvae";
  c.dwkl_gamma = -3;
  require_error([&] { training::validate(c); }, {"dwkl_gamma", "-3"});
  c = {};
  c.model = "alpha-tcvae";
  c.alpha = 2;
  require_error([&] { training::validate(c); }, {"alpha", "[0, 1]", "2"});
  c = {};
  c.model = "alpha-tcvae";
  c.alpha_tc_form = "official";
  require_error([&] { training::validate(c); }, {"alpha_tc_form", "official", "paper, public-code"});
  c = {};
  c.model = "dip-vae";
  c.dip_type = "iii";
  require_error([&] { training::validate(c); }, {"dip_type", "iii", "i, ii"});
  c = {};
  c.model = "dip-vae";
  c.lambda_od = -1;
  require_error([&] { training::validate(c); }, {"lambda_od", "-1"});
  c = {};
  c.model = "beta-tcvae";
  c.capacity_max = 25;
  require_error([&] { training::validate(c); }, {"capacity_max", "beta-tcvae"});
  // Every new key round-trips through the saved config.
  c = {};
  c.model = "alpha-tcvae";
  c.tc_estimator = "mws";
  c.mi_alpha = 0.5;
  c.dwkl_gamma = 2;
  c.alpha = 0.75;
  c.views = 5;
  c.alpha_tc_form = "public-code";
  c.dip_type = "ii";
  c.lambda_od = 3;
  c.lambda_d = 4;
  REQUIRE(training::to_json(training::config_from_json(training::to_json(c), "t")) == training::to_json(c));
}
