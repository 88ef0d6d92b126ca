// FactorVAE (models/autoencoders/factor_vae.h, training/factor_vae_trainable.h): permute_dims,
// the density-ratio TC estimate and the discriminator's cross-entropy against the paper's formulas
// in plain doubles, the separation of the two updates, and short training runs.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "by_hand.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/factor_vae.h"
#include "test_helpers.h"
#include "training/factor_vae_trainable.h"

using namespace strata;
using namespace strata::test;
using namespace strata::models;

namespace {

// A tiny float64 FactorVAE: 4 inputs, one hidden layer of 3, latent 2; D: 2 -> 5 -> 4 -> 2.
std::shared_ptr<FactorVae> tiny_factor_vae(uint64_t seed, double gamma = 7.0) {
  Generator init(seed);
  FactorVaeOptions f;
  f.gamma = gamma;
  f.discriminator_widths = {5, 4};
  auto m = std::make_shared<FactorVae>(
      AutoencoderOptions{.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}},
      VaeOptions{}, f, &init);
  m->to(DType::Float64);
  return m;
}

Tensor tiny_batch(uint64_t seed) {
  Generator g(seed);
  return rand({3, 4}, {DType::Float64}, &g);
}

// D's logits by hand: Linear, LeakyReLU(0.2), Linear, LeakyReLU(0.2), Linear.
Mat discriminator_by_hand(const Mat& z, const nn::Module& m) {
  return linear(linear(linear(z, m, "discriminator.0", 0.2), m, "discriminator.2", 0.2), m, "discriminator.4");
}

// D(z) = softmax(logits)_0, the probability that z came from q(z).
double d_of(const Mat& logits, int64_t i) {
  return std::exp(logits.at(i, 0)) / (std::exp(logits.at(i, 0)) + std::exp(logits.at(i, 1)));
}

// The paper's estimate (eq. 3): the mean over the batch of log D(z) / (1 - D(z)).
double tc_by_hand(const Mat& logits) {
  double s = 0;
  for (int64_t i = 0; i < logits.rows; ++i) s += std::log(d_of(logits, i) / (1 - d_of(logits, i)));
  return s / static_cast<double>(logits.rows);
}

// Algorithm 1 with the permutations a Generator(seed) draws, one column after another.
Mat permuted_by_hand(const Mat& z, uint64_t seed) {
  Generator g(seed);
  Mat out = z;
  for (int64_t j = 0; j < z.cols; ++j) {
    const std::vector<int64_t> perm = randperm(z.rows, &g).to_vector<int64_t>();
    for (int64_t i = 0; i < z.rows; ++i) out.at(i, j) = z.at(perm[static_cast<size_t>(i)], j);
  }
  return out;
}

std::vector<std::vector<double>> values_of(const std::vector<Tensor>& params) {
  std::vector<std::vector<double>> out;
  for (const Tensor& p : params) out.push_back(p.to_vector<double>());
  return out;
}

// Binary data with two-dimensional structure, x = [A u > 0] (as in test_autoencoders.cpp).
Tensor structured_data(int64_t n, int64_t dim, uint64_t seed) {
  Generator g(seed);
  const Tensor a = randn({2, dim}, {}, &g), u = randn({n, 2}, {}, &g);
  return to_dtype(gt(matmul(u, a), 0.0), DType::Float32);
}

}  // namespace

TEST_CASE("permute_dims keeps each column's values and permutes the columns independently", "[autoencoders]") {
  const Tensor z = from_vector(std::vector<double>{0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24, 5, 15, 25},
                               {6, 3});
  Generator g(3);
  const Mat out = mat(permute_dims(z, &g)), in = mat(z);
  std::vector<std::vector<int64_t>> source_rows(3);
  for (int64_t j = 0; j < 3; ++j) {
    std::vector<double> a, b;
    for (int64_t i = 0; i < 6; ++i) a.push_back(in.at(i, j)), b.push_back(out.at(i, j));
    std::sort(b.begin(), b.end());
    REQUIRE(a == b);  // the same multiset (the column was sorted already)
    for (int64_t i = 0; i < 6; ++i) source_rows[j].push_back(static_cast<int64_t>(out.at(i, j)) % 10);
  }
  // Independent permutations: the columns do not move together, so rows of the joint are broken up.
  REQUIRE(source_rows[0] != source_rows[1]);
  REQUIRE(source_rows[1] != source_rows[2]);
  // Column j of the result is z[perm_j, j] with perm_j the j-th randperm drawn from the generator.
  const Mat expected = permuted_by_hand(in, 3);
  require_values(from_vector(out.v, {6, 3}), expected.v, 0);
  // Same generator state, same permutations.
  Generator g2(3);
  require_values(permute_dims(z, &g2), out.v, 0);

  // On a large batch it turns perfectly correlated columns into uncorrelated ones: draws of the
  // product of the marginals.
  Generator data(5);
  const Tensor u = randn({4000, 1}, {DType::Float64}, &data);
  const Mat p = mat(permute_dims(cat({u, u}, 1), &g));
  double m0 = 0, m1 = 0, c = 0, v0 = 0, v1 = 0;
  for (int64_t i = 0; i < p.rows; ++i) m0 += p.at(i, 0) / p.rows, m1 += p.at(i, 1) / p.rows;
  for (int64_t i = 0; i < p.rows; ++i) {
    c += (p.at(i, 0) - m0) * (p.at(i, 1) - m1);
    v0 += (p.at(i, 0) - m0) * (p.at(i, 0) - m0);
    v1 += (p.at(i, 1) - m1) * (p.at(i, 1) - m1);
  }
  REQUIRE(std::abs(c / std::sqrt(v0 * v1)) < 0.05);  // sd of the sample correlation: 1/sqrt(4000) = 0.016

  require_error([&] { permute_dims(zeros({4}), &g); }, {"permute_dims", "[4]"});
}

TEST_CASE("permute_dims: gradient check (the gradient of a row gather)", "[autoencoders]") {
  const Tensor z = leaf64({5, 3}, 1);
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        Generator g(4);  // the same permutations in every evaluation
        return permute_dims(in[0], &g);
      },
      {z});
}

TEST_CASE("FactorVAE: loss = reconstruction + kl + gamma * TC, TC = mean log D/(1-D), by hand", "[autoencoders]") {
  auto m = tiny_factor_vae(3);
  const Tensor x = tiny_batch(4);
  Generator g(7);
  const LossTerms terms = m->loss(x, &g);
  REQUIRE(m->loss_names() == std::vector<std::string>{"loss", "reconstruction", "kl", "tc"});

  const Mat xs = mat(x), h = linear(xs, *m, "encoder.0", 0);
  const Mat mu = linear(h, *m, "mean"), lv = linear(h, *m, "log_var");
  Generator eps_gen(7);
  const Mat eps = mat(randn({3, 2}, {DType::Float64}, &eps_gen));
  Mat z = mu;
  for (size_t i = 0; i < z.v.size(); ++i) z.v[i] = mu.v[i] + std::exp(0.5 * lv.v[i]) * eps.v[i];
  const double rec = mean_of(bce_rows(xs, linear(linear(z, *m, "decoder.0", 0), *m, "decoder.2")));
  const double kl = mean_of(kl_rows(mu, lv));
  const Mat logits = discriminator_by_hand(z, *m);
  const double tc = tc_by_hand(logits);
  REQUIRE(std::abs(tc) > 1e-3);  // a random D: the check below is not of a zero
  REQUIRE(term(terms, "reconstruction").item<double>() == Approx(rec).epsilon(1e-12));
  REQUIRE(term(terms, "kl").item<double>() == Approx(kl).epsilon(1e-12));
  REQUIRE(term(terms, "tc").item<double>() == Approx(tc).epsilon(1e-10));
  REQUIRE(term(terms, "loss").item<double>() == Approx(rec + kl + 7.0 * tc).epsilon(1e-12));
  // The estimate straight from D's logits.
  require_values(m->discriminator_logits(from_vector(z.v, {3, 2})), logits.v, 1e-12);
  REQUIRE(FactorVae::total_correlation(from_vector(logits.v, {3, 2})).item<double>() == Approx(tc).epsilon(1e-10));
}

TEST_CASE("FactorVAE: a discriminator with logit 0 gives TC = 0 and the plain VAE's loss", "[autoencoders]") {
  auto m = tiny_factor_vae(3);
  {
    NoGradGuard no_grad;
    for (auto& [name, p] : m->named_parameters())
      if (name.rfind("discriminator.4.", 0) == 0) fill_(p, 0.0);  // the output layer: both logits 0
  }
  Generator init(3);  // D is built after the VAE's layers, so the same generator gives the same VAE
  Vae vae(AutoencoderOptions{.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}},
          {}, &init);
  vae.to(DType::Float64);
  const Tensor x = tiny_batch(4);
  Generator g1(7), g2(7);
  const LossTerms f = m->loss(x, &g1), v = vae.loss(x, &g2);
  REQUIRE(term(f, "tc").item<double>() == 0.0);
  REQUIRE(term(f, "loss").item<double>() == term(v, "loss").item<double>());
  // D(z) = 1/2 everywhere: its cross-entropy is log 2, and argmax breaks the tie towards class 0,
  // right for the joint codes and wrong for the permuted ones.
  Generator g3(1);
  const DiscriminatorTerms d = m->discriminator_terms(m->loss_and_code(x, &g3).z, &g3);
  REQUIRE(d.loss.item<double>() == Approx(std::numbers::ln2).epsilon(1e-12));
  REQUIRE(d.accuracy.item<double>() == 0.5);
}

TEST_CASE("FactorVAE: the discriminator's cross-entropy on z and permute_dims(z), by hand", "[autoencoders]") {
  auto m = tiny_factor_vae(5);
  Generator zg(2);
  const Tensor z = randn({6, 2}, {DType::Float64}, &zg);
  Generator g(11);
  const DiscriminatorTerms d = m->discriminator_terms(z, &g);
  const Mat zs = mat(z), joint = discriminator_by_hand(zs, *m);
  const Mat permuted = discriminator_by_hand(permuted_by_hand(zs, 11), *m);
  double ce_joint = 0, ce_perm = 0, right = 0;
  for (int64_t i = 0; i < 6; ++i) {
    ce_joint -= std::log(d_of(joint, i)) / 6;        // class 0: drawn from q(z)
    ce_perm -= std::log(1 - d_of(permuted, i)) / 6;  // class 1: dimensions permuted
    right += (joint.at(i, 0) >= joint.at(i, 1)) + (permuted.at(i, 1) > permuted.at(i, 0));
  }
  REQUIRE(d.loss.item<double>() == Approx(0.5 * (ce_joint + ce_perm)).epsilon(1e-12));
  REQUIRE(d.accuracy.item<double>() == Approx(right / 12));
  // z is detached: the loss reaches D's parameters only.
  const Tensor zl = z.detach().set_requires_grad(true);
  Generator g2(11);
  m->discriminator_terms(zl, &g2).loss.backward();
  REQUIRE_FALSE(zl.grad().defined());
  for (const Tensor& p : m->discriminator_parameters()) REQUIRE(p.grad().defined());

  require_error([&] { m->discriminator_terms(zeros({1, 2}, {DType::Float64}), &g); }, {"FactorVAE", "[1, 2]"});
  require_error([&] { m->discriminator_logits(zeros({3, 5}, {DType::Float64})); }, {"FactorVAE", "[3, 5]", "2"});
  require_error([] { FactorVae({}, {}, FactorVaeOptions{.gamma = -1}); }, {"FactorVAE", "gamma", "-1"});
}

TEST_CASE("FactorVAE: the VAE step leaves D untouched and D's step leaves the VAE untouched", "[autoencoders]") {
  training::FactorVaeTrainable trainable(tiny_factor_vae(3));
  FactorVae& m = trainable.model();
  const std::vector<Tensor> vae_params = trainable.parameters(), d_params = m.discriminator_parameters();
  REQUIRE(vae_params.size() + d_params.size() == m.parameters().size());
  optim::Adam adam(vae_params, {.lr = 1e-2});
  Generator noise(9);
  const Tensor x = tiny_batch(4);

  const auto vae_before = values_of(vae_params), d_before = values_of(d_params);
  adam.zero_grad();
  trainable.loss_terms(x, &noise).front().second.backward();
  for (const Tensor& p : d_params) REQUIRE(p.grad().defined());  // gamma * TC reaches D's parameters...
  adam.step();
  REQUIRE(values_of(d_params) == d_before);  // ...but the VAE's optimizer does not move them
  REQUIRE(values_of(vae_params) != vae_before);

  const auto vae_after = values_of(vae_params);
  const LossTerms d = trainable.after_step(&noise);
  REQUIRE(d.size() == 2);
  REQUIRE(d[0].first == "discriminator_loss");
  REQUIRE(values_of(vae_params) == vae_after);  // D's step reads z detached
  REQUIRE(values_of(d_params) != d_before);
  REQUIRE(trainable.discriminator_optimizer().step_count() == 1);
  // A second after_step without a training loss in between has no code to learn from.
  require_error([&] { trainable.after_step(&noise); }, {"FactorVAE", "discriminator step"});
  // Evaluation (no gradients) does not leave a code for the discriminator.
  {
    NoGradGuard no_grad;
    trainable.loss_terms(x, &noise);
  }
  require_error([&] { trainable.after_step(&noise); }, {"FactorVAE", "discriminator step"});
}

TEST_CASE("FactorVAE: the discriminator learns to tell correlated codes from permuted ones", "[autoencoders][training]") {
  Generator init(1);
  FactorVaeOptions f;
  f.discriminator_widths = {32, 32};
  f.discriminator_optimizer.lr = 1e-3;
  FactorVae m({.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}}, {}, f, &init);
  optim::Adam adam(m.discriminator_parameters(), f.discriminator_optimizer);
  // z2 = z1 + small noise: a total correlation far from 0, which permuting removes.
  Generator data(2), g(3);
  const Tensor u = randn({256, 1}, {}, &data);
  const Tensor z = cat({u, add(u, mul(randn({256, 1}, {}, &data), 0.1))}, 1);
  double first = 0, last = 0;
  for (int i = 0; i < 150; ++i) {
    adam.zero_grad();
    const DiscriminatorTerms d = m.discriminator_terms(z, &g);
    if (i == 0) first = d.loss.item<double>();
    if (i == 149) last = d.loss.item<double>();
    d.loss.backward();
    adam.step();
  }
  INFO("discriminator loss: first " << first << ", last " << last);
  REQUIRE(first == Approx(std::numbers::ln2).margin(0.05));
  REQUIRE(last < 0.5);
  REQUIRE(m.discriminator_terms(z, &g).accuracy.item<double>() > 0.75);
  NoGradGuard no_grad;
  REQUIRE(FactorVae::total_correlation(m.discriminator_logits(z)).item<double>() > 0.5);
}

TEST_CASE("FactorVAE: short training with both updates lowers the VAE's loss", "[autoencoders][training]") {
  Generator init(2);
  FactorVaeOptions f;
  f.gamma = 5;
  f.discriminator_widths = {16, 16};
  training::FactorVaeTrainable trainable(std::make_shared<FactorVae>(
      AutoencoderOptions{.input_dim = 12, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({16}), .likelihood = {}},
      VaeOptions{}, f, &init));
  const Tensor x = structured_data(64, 12, 1);
  optim::Adam adam(trainable.parameters(), {.lr = 1e-2});
  Generator noise(5);
  double first = 0, last = 0;
  const int steps = 60;
  for (int i = 0; i < steps; ++i) {
    adam.zero_grad();
    trainable.set_step(i);
    const Tensor loss = trainable.loss_terms(x, &noise).front().second;
    if (i == 0) first = loss.item<double>();
    if (i >= steps - 5) last += loss.item<double>() / 5;
    loss.backward();
    adam.step();
    const LossTerms d = trainable.after_step(&noise);
    REQUIRE(std::isfinite(d[0].second.item<double>()));
  }
  INFO("first " << first << ", last " << last);
  REQUIRE(last < 0.85 * first);
}
