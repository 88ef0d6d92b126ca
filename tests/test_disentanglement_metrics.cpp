// The disentanglement metrics (analysis/disentanglement/): MIG, SAP, DCI, modularity/explicitness,
// the FactorVAE and BetaVAE scores, and the classifiers they train, on codes whose answer is known:
//  - a perfectly disentangled code (the factors themselves, permuted and rescaled:
//    z_j = a_j v_{pi(j)} + b_j) scores ~1 on MIG, DCI-D, FactorVAE, BetaVAE and modularity;
//  - a code independent of the factors scores ~0 on MIG, SAP and DCI-D;
//  - an entangled rotation of the factors scores in between;
// plus hand-computed MIG and DCI values and the errors. A fake FactorDataset (three factors of 4, 5
// and 6 values whose "image" is the factor classes themselves) stands in for dSprites.
#include <cmath>
#include <numbers>

#include "analysis/disentanglement/beta_vae_score.h"
#include "analysis/disentanglement/dci.h"
#include "analysis/disentanglement/factor_vae_score.h"
#include "analysis/disentanglement/gradient_boosting.h"
#include "analysis/disentanglement/logistic_regression.h"
#include "analysis/disentanglement/metric_utils.h"
#include "analysis/disentanglement/mig.h"
#include "analysis/disentanglement/modularity.h"
#include "analysis/disentanglement/sap.h"
#include "engine/data/dsprites.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::analysis;
using namespace strata::test;

namespace {

// Three factors of 4, 5 and 6 values; an observation is the 3 factor classes as floats.
class TinyFactors final : public FactorDataset {
 public:
  std::string name() const override { return "tiny"; }
  std::vector<std::string> factor_names() const override { return {"a", "b", "c"}; }
  std::vector<int64_t> factor_sizes() const override { return {4, 5, 6}; }
  int64_t channels() const override { return 3; }
  int64_t image_size() const override { return 1; }
  Tensor render(const Tensor& factor_classes) const override {
    const std::vector<int64_t> c = factor_classes.to_vector<int64_t>();
    return from_vector(std::vector<float>(c.begin(), c.end()), {factor_classes.size(0), 3});
  }
};

const std::vector<int64_t> kSizes = {4, 5, 6};

// z_j = a_j v_{pi(j)} + b_j with pi = (2, 0, 1).
const std::vector<int64_t> kPerm = {2, 0, 1};
const std::vector<double> kScale = {2.0, -0.5, 3.0}, kShift = {1.0, 4.0, -2.0};

std::vector<double> perfect_codes(const std::vector<int64_t>& factors, int64_t n) {
  std::vector<double> z(static_cast<size_t>(n * 3));
  for (int64_t i = 0; i < n; ++i)
    for (size_t j = 0; j < 3; ++j)
      z[static_cast<size_t>(i * 3) + j] =
          kScale[j] * static_cast<double>(factors[static_cast<size_t>(i * 3 + kPerm[j])]) + kShift[j];
  return z;
}

// The factors standardised (class - (size - 1)/2) / size, rotated by 45 degrees in the (0, 1) plane
// and then in the (1, 2) plane: every code mixes two or three factors.
std::vector<double> rotated_codes(const std::vector<int64_t>& factors, int64_t n) {
  const double c = std::cos(std::numbers::pi / 4), s = std::sin(std::numbers::pi / 4);
  std::vector<double> z(static_cast<size_t>(n * 3));
  for (int64_t i = 0; i < n; ++i) {
    double u[3];
    for (size_t k = 0; k < 3; ++k)
      u[k] = (static_cast<double>(factors[static_cast<size_t>(i * 3) + k]) - (kSizes[k] - 1) / 2.0) /
             static_cast<double>(kSizes[k]);
    const double a = c * u[0] - s * u[1], b = s * u[0] + c * u[1];
    z[static_cast<size_t>(i * 3)] = a;
    z[static_cast<size_t>(i * 3 + 1)] = c * b - s * u[2];
    z[static_cast<size_t>(i * 3 + 2)] = s * b + c * u[2];
  }
  return z;
}

struct Sample {
  Tensor codes, factors;
};

enum class Kind { Perfect, Random, Rotated };

Sample sample(Kind kind, int64_t n, uint64_t seed) {
  Generator gen(seed);
  const std::vector<int64_t> f = analysis::detail::random_factor_rows(kSizes, n, &gen);
  std::vector<double> z;
  if (kind == Kind::Perfect) z = perfect_codes(f, n);
  if (kind == Kind::Rotated) z = rotated_codes(f, n);
  if (kind == Kind::Random) z = randn({n, 3}, {DType::Float64}, &gen).to_vector<double>();
  return {from_vector(z, {n, 3}), from_vector(f, {n, 3})};
}

Representation perfect_representation() {
  return [](const Tensor& x) {
    const std::vector<float> v = x.to_vector<float>();
    const int64_t n = x.size(0);
    return from_vector(perfect_codes(std::vector<int64_t>(v.begin(), v.end()), n), {n, 3});
  };
}

Representation rotated_representation() {
  return [](const Tensor& x) {
    const std::vector<float> v = x.to_vector<float>();
    const int64_t n = x.size(0);
    return from_vector(rotated_codes(std::vector<int64_t>(v.begin(), v.end()), n), {n, 3});
  };
}

}  // namespace

TEST_CASE("sample_codes renders and encodes dataset.sample_factors' rows in batches", "[disentanglement]") {
  TinyFactors data;
  Generator g1(50), g2(50), g3(50);
  const CodeSample s = sample_codes(data, perfect_representation(), 10, &g1, 3);
  REQUIRE(s.codes.shape() == Shape{10, 3});
  REQUIRE(s.codes.dtype() == DType::Float64);
  REQUIRE(s.factors.to_vector<int64_t>() == data.sample_factors(10, &g2).to_vector<int64_t>());
  require_values(s.codes, perfect_codes(s.factors.to_vector<int64_t>(), 10), 0);
  // The intervention metrics' own draws are the same as the dataset's.
  REQUIRE(analysis::detail::random_factor_rows(kSizes, 10, &g3) == s.factors.to_vector<int64_t>());
  require_error(
      [&] {
        sample_codes(
            data,
            [](const Tensor&) {
              return zeros({2, 3});
            },
            10, &g1, 4);
      },
      {"sample_codes", "representation gave [2, 3]", "expected [4, L]"});
  require_error([&] { sample_codes(data, perfect_representation(), 0, &g1); },
                {"sample_codes", "n must be at least 1"});
}

TEST_CASE("MIG on a hand-computed example", "[disentanglement]") {
  // 4 points, 2 factors v1 = (0, 0, 1, 1), v2 = (0, 0, 0, 1); codes z0 = v1, z1 = v2 (values 0 and 1
  // land in bins 0 and 19).
  //   H(v1) = ln 2 = 0.693147;  H(v2) = 3/4 ln(4/3) + 1/4 ln 4 = 0.562335.
  //   m[z0, v1] = H(v1) = 0.693147;  m[z1, v2] = H(v2) = 0.562335.
  //   m[z1, v1]: joint (0,0) 2/4, (0,1) 1/4, (1,1) 1/4; marginals z1 (3/4, 1/4), v1 (1/2, 1/2):
  //     1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2 = 3/4 ln(4/3) = 0.215762;  m[z0, v2] = the same.
  //   gap(v1) = (0.693147 - 0.215762) / 0.693147 = 0.688721
  //   gap(v2) = (0.562335 - 0.215762) / 0.562335 = (1/4 ln 4) / 0.562335 = 0.616312
  //   MIG = (0.688721 + 0.616312) / 2 = 0.652517.
  const Tensor codes = tensor64({0, 0, 0, 0, 1, 0, 1, 1}, {4, 2});
  const Tensor factors = from_vector(std::vector<int64_t>{0, 0, 0, 0, 1, 0, 1, 1}, {4, 2});
  const MigResult r = mig(codes, factors);
  const double h2 = 0.75 * std::log(4.0 / 3) + 0.25 * std::log(4.0), m = 0.75 * std::log(4.0 / 3);
  REQUIRE(r.factor_entropy[0] == Approx(std::log(2.0)).epsilon(1e-12));
  REQUIRE(r.factor_entropy[1] == Approx(h2).epsilon(1e-12));
  require_values(from_vector(r.mutual_information, {2, 2}), {std::log(2.0), m, m, h2}, 1e-12);
  REQUIRE(r.per_factor[0] == Approx(0.688721).epsilon(1e-5));
  REQUIRE(r.per_factor[1] == Approx(0.616312).epsilon(1e-5));
  REQUIRE(r.score == Approx(0.652517).epsilon(1e-5));
  REQUIRE(r.score == Approx(((std::log(2.0) - m) / std::log(2.0) + (h2 - m) / h2) / 2).epsilon(1e-12));
}

TEST_CASE("histogram discretisation follows np.digitize over np.histogram's edges", "[disentanglement]") {
  // Range [0, 2], 4 bins of width 0.5: left edges 0, 0.5, 1, 1.5; the maximum goes into the last bin.
  const analysis::detail::Matrix z{6, 1, {0.0, 0.49, 0.5, 1.2, 1.5, 2.0}};
  REQUIRE(analysis::detail::histogram_discretize(z, 0, 4) == std::vector<int64_t>{0, 0, 1, 2, 3, 3});
  const analysis::detail::Matrix constant{3, 1, {5.0, 5.0, 5.0}};
  REQUIRE(analysis::detail::histogram_discretize(constant, 0, 20) == std::vector<int64_t>{0, 0, 0});
}

// Tolerances. Perfect code: the top MI equals H(v_k) exactly (each code value falls in its own
// bin), and the runner-up is the plug-in MI of two independent discrete variables, whose bias is
// about (a - 1)(b - 1) / (2N) nats = 30 / 4000 at most here, i.e. < 0.01 of H(v_k) >= ln 4: so MIG
// > 0.98. Random code: every MI is the bias of 20 bins against <= 6 classes, (19 * 5) / (2N) ~ 0.024
// nats, and the top two differ by its fluctuation: MIG < 0.05.
TEST_CASE("MIG: perfect code ~1, random code ~0, rotation in between", "[disentanglement]") {
  const Sample p = sample(Kind::Perfect, 2000, 1), r = sample(Kind::Random, 2000, 2),
               q = sample(Kind::Rotated, 2000, 3);
  const double perfect = mig(p.codes, p.factors).score, random = mig(r.codes, r.factors).score,
               rotated = mig(q.codes, q.factors).score;
  INFO("MIG perfect " << perfect << ", random " << random << ", rotated " << rotated);
  REQUIRE(perfect > 0.98);
  REQUIRE(perfect <= 1.0);
  REQUIRE(random < 0.05);
  REQUIRE(rotated > random + 0.05);
  REQUIRE(rotated < perfect - 0.2);
}

TEST_CASE("SAP: the 1-D nearest-class-mean classifier; random code ~0", "[disentanglement]") {
  // Class means 0 (class 3) and 10 (class 7): 4.9 -> 3, 5.1 -> 7, a tie at 5 -> the lower class 3.
  REQUIRE(nearest_class_mean_accuracy({-1, 1, 9, 11}, {3, 3, 7, 7}, {4.9, 5.1, 5.0}, {3, 7, 3}) == 1.0);
  REQUIRE(nearest_class_mean_accuracy({-1, 1, 9, 11}, {3, 3, 7, 7}, {4.9, 12}, {7, 7}) == 0.5);

  const Sample ptr = sample(Kind::Perfect, 2000, 4), pte = sample(Kind::Perfect, 1000, 5);
  const Sample rtr = sample(Kind::Random, 2000, 6), rte = sample(Kind::Random, 1000, 7);
  const Sample qtr = sample(Kind::Rotated, 2000, 8), qte = sample(Kind::Rotated, 1000, 9);
  const SapResult perfect = sap(ptr.codes, ptr.factors, pte.codes, pte.factors);
  const SapResult random = sap(rtr.codes, rtr.factors, rte.codes, rte.factors);
  const SapResult rotated = sap(qtr.codes, qtr.factors, qte.codes, qte.factors);
  INFO("SAP perfect " << perfect.score << ", random " << random.score << ", rotated " << rotated.score);
  // Perfect: the factor's own code predicts it exactly (S = 1); the others at about chance.
  for (int64_t j = 0; j < 3; ++j) REQUIRE(perfect.score_matrix[static_cast<size_t>(j * 3 + kPerm[j])] == 1.0);
  REQUIRE(perfect.score > 0.6);
  // Random: every code is at chance (1/4 .. 1/6) give or take sqrt(p(1-p)/1000) ~ 0.014: gaps < 0.05.
  REQUIRE(random.score < 0.05);
  REQUIRE(rotated.score > random.score);
  REQUIRE(rotated.score < perfect.score);
  // Continuous factors: squared correlation, 1 for the perfect code's own factor.
  SapOptions cont;
  cont.continuous_factors = true;
  const SapResult c = sap(ptr.codes, ptr.factors, Tensor(), Tensor(), cont);
  for (int64_t j = 0; j < 3; ++j)
    REQUIRE(c.score_matrix[static_cast<size_t>(j * 3 + kPerm[j])] == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("DCI formulas on hand-written importance matrices", "[disentanglement]") {
  // One code per factor and an unused third code: D = C = 1 (up to the 1e-11 smoothing).
  const DciScores one = dci_from_importance({1, 0, 0, 1, 0, 0}, 3, 2);
  REQUIRE(one.disentanglement == Approx(1.0).margin(1e-8));
  REQUIRE(one.completeness == Approx(1.0).margin(1e-8));
  REQUIRE(one.per_code[2] == Approx(0.0).margin(1e-12));  // an unused code: uniform P, D_2 = 0 (weight 0)
  // Every code equally important for every factor: D = C = 0.
  const DciScores flat = dci_from_importance({1, 1, 1, 1}, 2, 2);
  REQUIRE(flat.disentanglement == Approx(0.0).margin(1e-12));
  REQUIRE(flat.completeness == Approx(0.0).margin(1e-12));
  // R = [[0.6, 0.2], [0.4, 0.8]], base-2 entropies:
  //   P[0] = (0.75, 0.25): H = 0.811278, D_0 = 0.188722;  P[1] = (1/3, 2/3): H = 0.918296, D_1 = 0.081704
  //   rho = (0.8, 1.2) / 2:  D = 0.4 * 0.188722 + 0.6 * 0.081704 = 0.124511
  //   columns (0.6, 0.4): H = 0.970951, C_0 = 0.029049;  (0.2, 0.8): H = 0.721928, C_1 = 0.278072
  //   rho = (1, 1) / 2:  C = 0.153561
  const DciScores r = dci_from_importance({0.6, 0.2, 0.4, 0.8}, 2, 2);
  REQUIRE(r.per_code[0] == Approx(0.188722).epsilon(1e-5));
  REQUIRE(r.per_code[1] == Approx(0.081704).epsilon(1e-5));
  REQUIRE(r.disentanglement == Approx(0.124511).epsilon(1e-5));
  REQUIRE(r.per_factor[0] == Approx(0.029049).epsilon(1e-4));
  REQUIRE(r.per_factor[1] == Approx(0.278072).epsilon(1e-5));
  REQUIRE(r.completeness == Approx(0.153561).epsilon(1e-5));
  // All zero: codes and factors weighed equally, every entropy maximal.
  const DciScores zero = dci_from_importance({0, 0, 0, 0}, 2, 2);
  REQUIRE(zero.disentanglement == Approx(0.0).margin(1e-12));
}

// Perfect code: every tree splits only on the factor's own code (no other code ever lowers the
// squared error of a node once it is split by its own code), so R is diagonal up to the 1e-11
// smoothing: D and C within 1e-6 of 1; the trees classify held-out points exactly. Random code:
// R's rows are near uniform across factors (base-3 entropy near 1): D < 0.1.
TEST_CASE("DCI with gradient-boosted trees: perfect ~1, random ~0, rotation in between",
          "[disentanglement]") {
  DciOptions o;
  const Sample ptr = sample(Kind::Perfect, 600, 10), pte = sample(Kind::Perfect, 300, 11);
  const DciResult perfect = dci(ptr.codes, ptr.factors, pte.codes, pte.factors, o);
  const Sample rtr = sample(Kind::Random, 600, 12), rte = sample(Kind::Random, 300, 13);
  const DciResult random = dci(rtr.codes, rtr.factors, rte.codes, rte.factors, o);
  const Sample qtr = sample(Kind::Rotated, 600, 14), qte = sample(Kind::Rotated, 300, 15);
  const DciResult rotated = dci(qtr.codes, qtr.factors, qte.codes, qte.factors, o);
  INFO("DCI-D perfect " << perfect.disentanglement << ", random " << random.disentanglement << ", rotated "
                        << rotated.disentanglement << "; informativeness " << perfect.informativeness << ", "
                        << random.informativeness << ", " << rotated.informativeness);
  REQUIRE(perfect.disentanglement == Approx(1.0).margin(1e-6));
  REQUIRE(perfect.completeness == Approx(1.0).margin(1e-6));
  REQUIRE(perfect.informativeness == 1.0);
  REQUIRE(perfect.train_accuracy == 1.0);
  for (int64_t k = 0; k < 3; ++k) {
    double column = 0;
    for (int64_t j = 0; j < 3; ++j) column += perfect.importance[static_cast<size_t>(j * 3 + k)];
    REQUIRE(column == Approx(1.0).epsilon(1e-12));
  }
  REQUIRE(random.disentanglement < 0.1);
  REQUIRE(random.informativeness < 0.35);  // chance is 1/4, 1/5, 1/6
  REQUIRE(rotated.disentanglement > random.disentanglement + 0.05);
  REQUIRE(rotated.disentanglement < 0.9);
}

TEST_CASE("gradient boosting and logistic regression fit separable data", "[disentanglement]") {
  // Two features; the label is 1 when x0 > 0.5 (x1 is noise), three classes by x0's thirds.
  Generator gen(20);
  const int64_t n = 300;
  const std::vector<double> x = rand({n, 2}, {DType::Float64}, &gen).to_vector<double>();
  std::vector<int64_t> two(n), three(n);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[static_cast<size_t>(2 * i)];
    two[static_cast<size_t>(i)] = v > 0.5 ? 11 : 10;
    three[static_cast<size_t>(i)] = v < 1.0 / 3 ? 0 : (v < 2.0 / 3 ? 1 : 2);
  }
  GradientBoostingClassifier gb;
  gb.fit(x, n, 2, two);
  REQUIRE(gb.predict(x, n) == two);
  REQUIRE(gb.classes() == std::vector<int64_t>{10, 11});
  REQUIRE(gb.feature_importances()[0] == Approx(1.0).margin(1e-9));
  GradientBoostingClassifier gb3;
  gb3.fit(x, n, 2, three);
  REQUIRE(gb3.predict(x, n) == three);
  REQUIRE(gb3.feature_importances()[0] > 0.99);

  LogisticRegressionOptions lo;
  lo.c = 1e4;  // weak penalty: the separable classes are fitted exactly
  lo.max_iterations = 500;
  LogisticRegression lr(lo);
  lr.fit(x, n, 2, two);
  const std::vector<int64_t> pred = lr.predict(x, n);
  int64_t hit = 0;
  for (int64_t i = 0; i < n; ++i) hit += pred[static_cast<size_t>(i)] == two[static_cast<size_t>(i)];
  REQUIRE(hit >= n - 3);
  const std::vector<double> p = lr.predict_proba(x, n);
  for (int64_t i = 0; i < n; ++i)
    REQUIRE(p[static_cast<size_t>(2 * i)] + p[static_cast<size_t>(2 * i + 1)] == Approx(1.0));
}

TEST_CASE("logistic regression reaches the optimum of its penalised objective", "[disentanglement]") {
  // Overlapping classes: at the optimum the gradient of sum CE + |W|^2 / (2C) vanishes, so the fitted
  // model's iterations stop on the tolerance, before the limit.
  Generator gen(21);
  const int64_t n = 400;
  std::vector<double> x = randn({n, 3}, {DType::Float64}, &gen).to_vector<double>();
  std::vector<int64_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    const double s = x[static_cast<size_t>(3 * i)] - 0.5 * x[static_cast<size_t>(3 * i + 1)];
    y[static_cast<size_t>(i)] = s < -0.5 ? 0 : (s < 0.5 ? 1 : 2);
    x[static_cast<size_t>(3 * i)] += 0.3 * x[static_cast<size_t>(3 * i + 2)];
  }
  LogisticRegression lr;
  lr.fit(x, n, 3, y);
  REQUIRE(lr.iterations() < 100);
  const std::vector<int64_t> pred = lr.predict(x, n);
  int64_t hit = 0;
  for (int64_t i = 0; i < n; ++i) hit += pred[static_cast<size_t>(i)] == y[static_cast<size_t>(i)];
  REQUIRE(hit > n * 3 / 4);
}

// Perfect code: each code's MI with its own factor is H (>= ln 4) and with the others the plug-in
// bias (< 0.01 nats), so delta_j < 2 (0.01 / 1.38)^2 / 2 and modularity > 0.99. Explicitness: the
// factor is a monotone function of one standardised code, so the per-class AUCs are near 1 for the
// end classes and lower for the middle ones a linear softmax separates less sharply: > 0.9.
TEST_CASE("modularity and explicitness: perfect code ~1", "[disentanglement]") {
  const Sample ptr = sample(Kind::Perfect, 2000, 16), pte = sample(Kind::Perfect, 1000, 17);
  const ModularityResult perfect = modularity_explicitness(ptr.codes, ptr.factors, pte.codes, pte.factors);
  const Sample rtr = sample(Kind::Random, 2000, 18), rte = sample(Kind::Random, 1000, 19);
  const ModularityResult random = modularity_explicitness(rtr.codes, rtr.factors, rte.codes, rte.factors);
  INFO("modularity perfect " << perfect.modularity << ", random " << random.modularity << "; explicitness "
                             << perfect.explicitness_test << ", " << random.explicitness_test);
  REQUIRE(perfect.modularity > 0.99);
  REQUIRE(random.modularity < perfect.modularity - 0.2);
  REQUIRE(perfect.explicitness_test > 0.9);
  REQUIRE(random.explicitness_test == Approx(0.5).margin(0.05));
  REQUIRE(std::isnan(modularity(ptr.codes, ptr.factors).explicitness_test));
  // The formula: codes (1 factor, 2 equal factors, nothing): 1, 0, 0.
  std::vector<double> per;
  REQUIRE(modularity_from_mutual_information({1, 0, 0.5, 0.5, 0, 0}, 3, 2, &per) == Approx(1.0 / 3));
  REQUIRE(per == std::vector<double>{1.0, 0.0, 0.0});
  // AUC: perfect ranking 1, reversed 0, ties 1/2.
  REQUIRE(roc_auc({0.1, 0.2, 0.8, 0.9}, {false, false, true, true}) == 1.0);
  REQUIRE(roc_auc({0.9, 0.8, 0.2, 0.1}, {false, false, true, true}) == 0.0);
  REQUIRE(roc_auc({0.5, 0.5, 0.5, 0.5}, {false, true, false, true}) == 0.5);
}

TEST_CASE("FactorVAE and BetaVAE scores: perfect code 1, rotation lower", "[disentanglement]") {
  TinyFactors data;
  FactorVaeOptions fo;
  fo.num_variance_estimate = 1000;
  fo.num_train = 300;
  fo.num_eval = 200;
  Generator g1(30);
  const FactorVaeResult perfect = factor_vae_score(data, perfect_representation(), &g1, fo);
  // A fixed factor gives its own code variance exactly 0 in the batch: every vote is right.
  REQUIRE(perfect.eval_accuracy == 1.0);
  REQUIRE(perfect.train_accuracy == 1.0);
  REQUIRE(perfect.num_active_dims == 3);
  REQUIRE(perfect.dim_to_factor == kPerm);
  Generator g2(31);
  const FactorVaeResult rotated = factor_vae_score(data, rotated_representation(), &g2, fo);
  INFO("FactorVAE rotated " << rotated.eval_accuracy);
  REQUIRE(rotated.eval_accuracy < 0.9);
  // Same seed, same result (all draws come from the generator); grouping votes changes nothing.
  Generator g3(30);
  FactorVaeOptions fo2 = fo;
  fo2.votes_per_call = 7;
  const FactorVaeResult again = factor_vae_score(data, rotated_representation(), &g3, fo2);
  Generator g4(30);
  REQUIRE(again.training_votes == factor_vae_score(data, rotated_representation(), &g4, fo).training_votes);

  // Collapsed codes (standard deviation below 0.05) are dropped; none left: both accuracies 0.
  const Representation constant = [](const Tensor& x) { return zeros({x.size(0), 2}); };
  Generator g5(32);
  const FactorVaeResult none = factor_vae_score(data, constant, &g5, fo);
  REQUIRE(none.num_active_dims == 0);
  REQUIRE(none.eval_accuracy == 0.0);

  BetaVaeOptions bo;
  bo.num_train = 300;
  bo.num_eval = 200;
  Generator g6(33);
  const BetaVaeResult bperfect = beta_vae_score(data, perfect_representation(), &g6, bo);
  // The feature of factor k is exactly 0 at code pi^-1(k) and >= 0.5 / 64-ish elsewhere: separable,
  // so the logistic regression classifies (nearly) every point: >= 0.98.
  INFO("BetaVAE perfect " << bperfect.eval_accuracy << " (train " << bperfect.train_accuracy << ", "
                          << bperfect.iterations << " L-BFGS iterations)");
  REQUIRE(bperfect.eval_accuracy >= 0.98);
  Generator g7(34);
  const BetaVaeResult brandom = beta_vae_score(
      data,
      [g = Generator(35)](const Tensor& x) mutable {
        return randn({x.size(0), 3}, {DType::Float64}, &g);
      },
      &g7, bo);
  INFO("BetaVAE random " << brandom.eval_accuracy);
  REQUIRE(brandom.eval_accuracy < 0.5);  // chance is 1/3
}

TEST_CASE("disentanglement metrics reject bad input with the metric and shapes named", "[disentanglement]") {
  const Sample p = sample(Kind::Perfect, 50, 40);
  require_error([&] { mig(tensor64({1, 2, 3}, {3}), p.factors); }, {"mig", "codes must be [N, L]", "[3]"});
  require_error(
      [&] {
        mig(p.codes, from_vector(std::vector<int64_t>(49 * 3, 0), {49, 3}));
      },
      {"mig", "codes [50, 3] and factors [49, 3]"});
  require_error(
      [&] {
        mig(p.codes, from_vector(std::vector<double>(50 * 3, 0), {50, 3}));
      },
      {"mig", "factors must be int64", "float64"});
  std::vector<int64_t> f = p.factors.to_vector<int64_t>();
  for (int64_t i = 0; i < 50; ++i) f[static_cast<size_t>(i * 3 + 1)] = 2;
  require_error([&] { mig(p.codes, from_vector(f, {50, 3})); }, {"mig: factor 1 takes a single value"});
  f[7] = -1;
  require_error(
      [&] {
        mig(p.codes, from_vector(f, {50, 3}));
      },
      {"mig", "negative class (-1)", "row 2, column 1"});
  require_error(
      [&] {
        mig(tensor64(std::vector<double>(50, 0), {50, 1}), p.factors);
      },
      {"mig", "at least 2 code dimensions", "[50, 1]"});
  std::vector<double> z = p.codes.to_vector<double>();
  z[4] = std::nan("");
  require_error([&] { mig(from_vector(z, {50, 3}), p.factors); }, {"mig", "non-finite", "row 1, column 1"});
  require_error(
      [&] {
        sap(p.codes, p.factors, tensor64(std::vector<double>(20, 0), {10, 2}), p.factors);
      },
      {"sap", "test"});
  require_error(
      [&] {
        dci(p.codes, p.factors, p.codes, from_vector(std::vector<int64_t>(50 * 2, 0), {50, 2}));
      },
      {"dci", "do not match", "[50, 2]"});
  require_error([&] { dci_from_importance({1, -1}, 1, 2); }, {"dci", "R[0, 1] = -1"});
  require_error(
      [&] {
        modularity(p.codes, from_vector(std::vector<int64_t>(50, 0), {50, 1}));
      },
      {"modularity", "at least 2 factors"});
  TinyFactors data;
  Generator gen(41);
  FactorVaeOptions fo;
  fo.num_variance_estimate = 100;
  require_error(
      [&] {
        factor_vae_score(
            data,
            [](const Tensor&) {
              return zeros({5, 3});
            },
            &gen, fo);
      },
      {"factor_vae_score", "representation gave [5, 3]", "expected [100, L]"});
  fo.batch_size = 1;
  require_error([&] { factor_vae_score(data, perfect_representation(), &gen, fo); },
                {"factor_vae_score", "batch_size"});
  require_error([&] { beta_vae_score(data, Representation(), &gen); }, {"beta_vae_score", "empty"});
  require_error(
      [&] {
        LogisticRegression().fit({1, 2}, 2, 1, {4, 4});
      },
      {"logistic regression", "single value (4)"});
  require_error(
      [&] {
        GradientBoostingClassifier().fit({1, 2}, 2, 1, {4, 4});
      },
      {"gradient boosting", "single value (4)"});
}

// On the real dSprites renderer (engine/data/dsprites.h): a hand-made code of image moments (area,
// centroid x, centroid y) identifies the positions (MIG of each position factor near its ceiling:
// 20 bins for 32 positions cap I at ln 20 of H = ln 32, ratio 0.86) and says nothing of orientation;
// FactorVAE's classifier maps the centroid codes to the position factors, and with 3 codes for 5
// factors at most 3/5 of the votes can be right.
TEST_CASE("metrics on dSprites images with an image-moment code", "[disentanglement]") {
  const DSprites data;
  const Representation moments = [](const Tensor& x) {
    const int64_t n = x.size(0), s = 64;
    const std::vector<float> v = x.to_vector<float>();
    std::vector<double> z(static_cast<size_t>(n * 3));
    for (int64_t i = 0; i < n; ++i) {
      double a = 0, cx = 0, cy = 0;
      for (int64_t r = 0; r < s; ++r)
        for (int64_t c = 0; c < s; ++c) {
          const double p = v[static_cast<size_t>(i * s * s + r * s + c)];
          a += p, cx += p * static_cast<double>(c), cy += p * static_cast<double>(r);
        }
      z[static_cast<size_t>(i * 3)] = a, z[static_cast<size_t>(i * 3 + 1)] = cx / a,
                                z[static_cast<size_t>(i * 3 + 2)] = cy / a;
    }
    return from_vector(z, {n, 3});
  };
  Generator gen(60);
  const CodeSample s = sample_codes(data, moments, 600, &gen);
  const MigResult m = mig(s.codes, s.factors);
  INFO("MIG " << m.score << " per factor " << m.per_factor[0] << " " << m.per_factor[1] << " "
              << m.per_factor[2] << " " << m.per_factor[3] << " " << m.per_factor[4]);
  REQUIRE(m.per_factor[DSprites::PositionX] > 0.6);
  REQUIRE(m.per_factor[DSprites::PositionY] > 0.6);
  REQUIRE(m.per_factor[DSprites::Orientation] < 0.05);
  FactorVaeOptions fo;
  fo.num_variance_estimate = 300;
  fo.num_train = 100;
  fo.num_eval = 50;
  const FactorVaeResult f = factor_vae_score(data, moments, &gen, fo);
  INFO("FactorVAE " << f.eval_accuracy);
  REQUIRE(f.dim_to_factor[1] == DSprites::PositionX);
  REQUIRE(f.dim_to_factor[2] == DSprites::PositionY);
  REQUIRE(f.eval_accuracy > 0.3);
  REQUIRE(f.eval_accuracy <= 0.6 + 0.15);  // 3/5 of the votes in expectation, 50 votes
}
