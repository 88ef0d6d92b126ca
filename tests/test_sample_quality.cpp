// Sample quality in a feature space (analysis/sample_quality/): the Frechet distance against closed
// forms, k-NN precision / recall and density / coverage on hand-worked sets, the feature classifier
// (models/classifier/) and the refusals of `strata eval --sample-quality`.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "analysis/sample_quality/frechet_distance.h"
#include "analysis/sample_quality/precision_recall.h"
#include "cli/command_line.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "models/classifier/classifier.h"
#include "test_helpers.h"
#include "training/registry.h"
#include "training/sample_quality_evaluation.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
using namespace strata::training;
namespace fs = std::filesystem;

namespace {

Tensor column(const std::vector<double>& values) {
  return from_vector(values, {static_cast<int64_t>(values.size()), 1});
}

// n correlated 6-D feature vectors: N(0, I) through a fixed mixing matrix, shifted.
Tensor correlated_features(int64_t n, uint64_t seed, double shift = 0.0) {
  Generator gen(seed), mix_gen(99);
  const Tensor mix = randn({6, 6}, {DType::Float64}, &mix_gen);
  return add(matmul(randn({n, 6}, {DType::Float64}, &gen), mix), shift);
}

}  // namespace

TEST_CASE("frechet_distance of diagonal Gaussians is the closed form", "[sample-quality]") {
  const std::vector<double> mu1{1, 2, 3}, mu2{0, 0, 1}, s1{1, 4, 9}, s2{4, 1, 0.25};
  auto diagonal = [](const std::vector<double>& d) {
    std::vector<double> m(9, 0.0);
    for (size_t i = 0; i < 3; ++i) m[i * 4] = d[i];
    return from_vector(m, {3, 3});
  };
  double expected = 0;
  for (size_t i = 0; i < 3; ++i)
    expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1[i] + s2[i] - 2 * std::sqrt(s1[i] * s2[i]);
  const analysis::FrechetResult r =
      analysis::frechet_distance(from_vector(mu1, {3}), diagonal(s1), from_vector(mu2, {3}), diagonal(s2));
  REQUIRE(r.distance == Approx(expected).epsilon(1e-12));
  REQUIRE(r.mean_term == Approx(1 + 4 + 4).epsilon(1e-12));
  REQUIRE_FALSE(r.regularised);
}

TEST_CASE("frechet_distance of a 2x2 non-diagonal pair matches the hand computation", "[sample-quality]") {
  // For 2x2 M with eigenvalues l1, l2: (Tr M^1/2)^2 = l1 + l2 + 2 sqrt(l1 l2) = Tr M + 2 sqrt(det M).
  // S1 = [[2, 1], [1, 2]], S2 = [[1, 0], [0, 4]]: S1 S2 = [[2, 4], [1, 8]], Tr 10, det = 3 * 4 = 12,
  // so Tr (S1 S2)^1/2 = sqrt(10 + 2 sqrt 12) = sqrt(10 + 4 sqrt 3). mu1 = (1, 0), mu2 = (0, 2).
  // d^2 = 1 + 4 + (4 + 5) - 2 sqrt(10 + 4 sqrt 3).
  const double expected = 5 + 9 - 2 * std::sqrt(10 + 4 * std::sqrt(3.0));
  const Tensor mu1 = from_vector(std::vector<double>{1, 0}, {2}),
               mu2 = from_vector(std::vector<double>{0, 2}, {2});
  const Tensor s1 = from_vector(std::vector<double>{2, 1, 1, 2}, {2, 2});
  const Tensor s2 = from_vector(std::vector<double>{1, 0, 0, 4}, {2, 2});
  REQUIRE(analysis::frechet_distance(mu1, s1, mu2, s2).distance == Approx(expected).epsilon(1e-12));
  REQUIRE(analysis::frechet_distance(mu2, s2, mu1, s1).distance == Approx(expected).epsilon(1e-12));
}

TEST_CASE("frechet_distance from features: zero against itself, symmetric, fitted moments",
          "[sample-quality]") {
  const Tensor a = correlated_features(400, 1), b = correlated_features(300, 2, 0.5);
  const analysis::FrechetResult self = analysis::frechet_distance(a, a);
  REQUIRE(std::abs(self.distance) < 1e-8);
  REQUIRE_FALSE(self.regularised);
  const double ab = analysis::frechet_distance(a, b).distance, ba = analysis::frechet_distance(b, a).distance;
  REQUIRE(ab > 1.0);  // a mean shift of 0.5 in 6 dims alone gives 1.5
  REQUIRE(ab == Approx(ba).epsilon(1e-10));
  // The fit: points (0,0), (2,0), (0,2), (2,2) have mean (1, 1) and covariance (4/3) I (1 / (N - 1)).
  const analysis::GaussianFit g =
      analysis::fit_gaussian(from_vector(std::vector<double>{0, 0, 2, 0, 0, 2, 2, 2}, {4, 2}));
  REQUIRE(g.mean == std::vector<double>{1, 1});
  REQUIRE(g.covariance[0] == Approx(4.0 / 3));
  REQUIRE(g.covariance[1] == 0);
  REQUIRE(g.covariance[3] == Approx(4.0 / 3));
}

TEST_CASE("frechet_distance regularises a singular product and refuses bad shapes", "[sample-quality]") {
  // A constant feature (a dead ReLU unit) makes both covariances singular: 1e-6 joins the diagonals.
  const Tensor dead =
      cat({narrow(correlated_features(200, 3), 1, 0, 3), zeros({200, 1}, {DType::Float64})}, 1);
  const analysis::FrechetResult r = analysis::frechet_distance(dead, dead);
  REQUIRE(r.regularised);
  REQUIRE(std::abs(r.distance) < 1e-8);
  require_error(
      [&] {
        analysis::frechet_distance(zeros({5, 3}), zeros({5, 4}));
      },
      {"frechet_distance", "[5, 3]", "[5, 4]"});
  require_error(
      [&] {
        analysis::frechet_distance(zeros({1, 3}), zeros({5, 3}));
      },
      {"frechet_distance", "features1", "at least 2", "[1, 3]"});
  require_error(
      [&] {
        analysis::frechet_distance(zeros({3}), zeros({3, 3}), zeros({2}), zeros({3, 3}));
      },
      {"frechet_distance", "mean2 [2]"});
  const Tensor not_psd = from_vector(std::vector<double>{1, 0, 0, -1}, {2, 2});
  require_error([&] { analysis::frechet_distance(zeros({2}), not_psd, zeros({2}), not_psd); },
                {"symmetric_psd_sqrt", "not positive semi-definite"});
}

TEST_CASE("precision, recall, density and coverage on a hand-worked 1-D example", "[sample-quality]") {
  // Real x = 0, 1, 2, 4, 10; k = 2 (second nearest other point):
  //   r(0) = 2 (others at 1, 2, 4, 10), r(1) = 1 (1, 1, 3, 9), r(2) = 2 (1, 2, 2, 8),
  //   r(4) = 3 (2, 3, 4, 6), r(10) = 8 (6, 8, 9, 10).
  // Fake y = 3, 4, 6, 30, 31, 32: r(3) = 3, r(4) = 2, r(6) = 3, r(30) = 2, r(31) = 1, r(32) = 2.
  // Real balls holding each y (<=): y=3 in B(2), B(4), B(10); y=4 in B(2), B(4), B(10);
  //   y=6 in B(4), B(10); 30, 31, 32 in none. precision = 3/6, density = (3+3+2) / (2 * 6) = 2/3.
  // Fake balls holding each x: 0 in B(3) (d = 3 = r, on the boundary), 1, 2 in B(3), 4 in B(4),
  //   10 in none (nearest fakes 6 (r 3), 4 (r 2)): recall = 4/5.
  // Coverage, nearest fake < r strictly: 0 (3 vs 2) no, 1 (2 vs 1) no, 2 (1 vs 2), 4 (0 vs 3),
  //   10 (4 vs 8) yes: 3/5.
  const Tensor real = column({0, 1, 2, 4, 10}), fake = column({3, 4, 6, 30, 31, 32});
  const std::vector<double> radii = analysis::kth_neighbour_distances(real, 2);
  REQUIRE(radii == std::vector<double>{2, 1, 2, 3, 8});
  const analysis::PrecisionRecall pr = analysis::precision_recall(real, fake, 2);
  REQUIRE(pr.precision == Approx(0.5));
  REQUIRE(pr.recall == Approx(0.8));
  const analysis::DensityCoverage dc = analysis::density_coverage(real, fake, 2);
  REQUIRE(dc.density == Approx(2.0 / 3));
  REQUIRE(dc.coverage == Approx(0.6));
  // Identical sets: each ball holds its centre and its k neighbours at least. Balls B(0, 2) {0,1,2},
  // B(1, 1) {0,1,2}, B(2, 2) {0,1,2,4}, B(4, 3) {1,2,4}, B(10, 8) {2,4,10}: density 16 / (2 * 5).
  const analysis::DensityCoverage same = analysis::density_coverage(real, real, 2);
  REQUIRE(same.density == Approx(1.6));
  REQUIRE(same.coverage == 1);
}

TEST_CASE("membership is <= for the balls and coverage is strict", "[sample-quality]") {
  // Real 0, 1, 2 with k = 1: every radius is 1. Fake 3, 3: both on the boundary of B(2, 1), so
  // precision 1 and density 2 / (1 * 2) = 1; but no real point has a fake strictly within its radius
  // (2: distance 1 = r), so coverage 0. The fakes are duplicates: their radii are 0, recall 0.
  const Tensor real = column({0, 1, 2}), fake = column({3, 3});
  const analysis::PrecisionRecall pr = analysis::precision_recall(real, fake, 1);
  REQUIRE(pr.precision == 1);
  REQUIRE(pr.recall == 0);
  const analysis::DensityCoverage dc = analysis::density_coverage(real, fake, 1);
  REQUIRE(dc.density == 1);
  REQUIRE(dc.coverage == 0);
}

TEST_CASE("identical sets score 1 and a far-away set 0, with the default k", "[sample-quality]") {
  const Tensor x = correlated_features(300, 4);
  const analysis::PrecisionRecall same = analysis::precision_recall(x, x);
  REQUIRE(same.k == 3);
  REQUIRE(same.precision == 1);
  REQUIRE(same.recall == 1);
  const analysis::DensityCoverage dc = analysis::density_coverage(x, x);
  REQUIRE(dc.k == 5);
  REQUIRE(dc.coverage == 1);
  REQUIRE(dc.density >= 6.0 / 5);  // each ball holds its centre and its 5 neighbours
  // float32 copies sit within rounding of the points: still covered.
  REQUIRE(analysis::density_coverage(x, to_dtype(x, DType::Float32)).coverage == 1);
  const Tensor far = add(x, 1000.0);
  const analysis::PrecisionRecall apart = analysis::precision_recall(x, far);
  REQUIRE(apart.precision == 0);
  REQUIRE(apart.recall == 0);
  const analysis::DensityCoverage none = analysis::density_coverage(x, far);
  REQUIRE(none.density == 0);
  REQUIRE(none.coverage == 0);
}

TEST_CASE("blocked distances and radii match a direct computation", "[sample-quality]") {
  // 3000 points: the 3000 x 3000 distances come in three row blocks.
  Generator gen(5);
  const Tensor x = randn({3000, 2}, {DType::Float64}, &gen);
  const std::vector<double> v = x.to_vector<double>();
  const std::vector<double> radii = analysis::kth_neighbour_distances(x, 3);
  std::vector<double> row(3000);
  for (int64_t i = 0; i < 3000; i += 97) {
    for (int64_t j = 0; j < 3000; ++j) {
      const double dx = v[2 * i] - v[2 * j], dy = v[2 * i + 1] - v[2 * j + 1];
      row[static_cast<size_t>(j)] = j == i ? INFINITY : std::sqrt(dx * dx + dy * dy);
    }
    std::nth_element(row.begin(), row.begin() + 2, row.end());
    REQUIRE(radii[static_cast<size_t>(i)] == Approx(row[2]).epsilon(1e-9));
  }
  const Tensor a = narrow(x, 0, 0, 4), d2 = analysis::pairwise_squared_distances(a, narrow(x, 0, 4, 3));
  REQUIRE(d2.shape() == Shape{4, 3});
  const std::vector<double> d = d2.to_vector<double>();
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const double dx = v[2 * i] - v[2 * (4 + j)], dy = v[2 * i + 1] - v[2 * (4 + j) + 1];
      REQUIRE(d[static_cast<size_t>(i * 3 + j)] == Approx(dx * dx + dy * dy).epsilon(1e-12));
    }
}

TEST_CASE("precision_recall and density_coverage refuse bad inputs naming them", "[sample-quality]") {
  require_error(
      [&] {
        analysis::precision_recall(zeros({10, 3}), zeros({10, 4}));
      },
      {"precision_recall", "[10, 3]", "[10, 4]"});
  require_error(
      [&] {
        analysis::precision_recall(zeros({3, 2}), zeros({10, 2}));
      },
      {"precision_recall", "k = 3", "[3, 2]"});
  require_error(
      [&] {
        analysis::density_coverage(zeros({10}), zeros({10, 1}));
      },
      {"density_coverage", "[N, F]", "[10]"});
  require_error(
      [&] {
        analysis::kth_neighbour_distances(zeros({10, 2}), 0);
      },
      {"kth_neighbour_distances", "k"});
}

TEST_CASE("the feature classifier learns a separable image problem", "[sample-quality][classifier]") {
  // Three classes of 1 x 8 x 8 images: a bright 4 x 4 quadrant (top-left, top-right, bottom-left)
  // under uniform noise.
  manual_seed(0);
  Generator gen(11);
  const int64_t n = 384;
  Tensor images = mul(rand({n, 1, 8, 8}, {}, &gen), 0.5);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  std::vector<float> mask(static_cast<size_t>(n * 64), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 3;
    labels[static_cast<size_t>(i)] = c;
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t q = 0; q < 4; ++q)
        mask[static_cast<size_t>(i * 64 + (r + (c == 2 ? 4 : 0)) * 8 + q + (c == 1 ? 4 : 0))] = 0.5f;
  }
  const Tensor x = reshape(add(images, from_vector(mask, {n, 1, 8, 8})), {n, 64});
  const Tensor y = from_vector(labels, {n});

  RunConfig config;
  config.model = "classifier";
  std::unique_ptr<Trainable> model = make_model(config, 64, 3, 1);
  REQUIRE(model->classifier() != nullptr);
  REQUIRE_FALSE(model->has_prior());
  REQUIRE_FALSE(model->has_reconstruction());
  REQUIRE(model->loss_names() == std::vector<std::string>{"loss", "error"});
  const double error_before = model->labelled_loss_terms(x, y, nullptr)[1].second.item<double>();
  optim::Adam adam(model->parameters(), {.lr = 3e-3});
  for (int step = 0; step < 30; ++step) {
    const Tensor batch = narrow(x, 0, (step % 6) * 64, 64), batch_labels = narrow(y, 0, (step % 6) * 64, 64);
    adam.zero_grad();
    model->labelled_loss_terms(batch, batch_labels, nullptr)[0].second.backward();
    adam.step();
  }
  const LossTerms after = model->labelled_loss_terms(x, y, nullptr);
  INFO("error before " << error_before << ", after " << after[1].second.item<double>());
  REQUIRE(error_before > 0.4);
  REQUIRE(after[1].second.item<double>() < 0.05);
  // The features are the penultimate layer: the head of them gives the logits.
  models::Classifier& c = *model->classifier();
  const Tensor f = c.features(narrow(x, 0, 0, 5));
  REQUIRE(f.shape() == Shape{5, 128});
  REQUIRE(min(f).item<double>() >= 0);  // after the ReLU
  require_values(c.logits(f), to_dtype(c.forward(narrow(x, 0, 0, 5)), DType::Float64).to_vector<double>(),
                 1e-6);
  require_error([&] { model->loss_terms(x, nullptr); }, {"classifier", "labels"});
  require_error([&] { model->sample(4, nullptr); }, {"classifier", "no samples"});
  require_error([&] { c.features(zeros({2, 63})); }, {"Classifier", "[N, 64]", "[2, 63]"});
  require_error([&] { make_model(config, 64, 0, 1); }, {"classifier", "labelled data"});
  require_error([&] { make_model(config, 60, 3, 1); }, {"classifier", "square images", "60"});
}

TEST_CASE("eval --sample-quality refuses a non-classifier, a model without samples, non-images",
          "[sample-quality]") {
  const fs::path dir = fs::temp_directory_path() / "strata_test_sample_quality";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Generator gen(3);
  const fs::path data = dir / "labelled.safetensors";
  std::vector<int64_t> labels(128);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 2);
  io::save_safetensors(data,
                       {{"train", rand({128, 64}, {}, &gen)}, {"train_labels", from_vector(labels, {128})}});
  std::ostringstream log;
  auto train = [&](const std::string& model) {
    RunConfig c;
    c.model = model;
    c.data = "tensors:" + data.string();
    c.hidden = {16};
    c.latent = 2;
    c.batch_size = 64;
    c.out = (dir / model).string();
    train_run(c, {.log = &log});
    return c.out;
  };
  const std::string classifier = train("classifier"), vae = train("vae"), ae = train("ae");
  require_error([&] { evaluate_sample_quality(vae, {.classifier_run = vae, .n = 100}); },
                {"--classifier", vae, "vae run, not a classifier"});
  require_error([&] { evaluate_sample_quality(ae, {.classifier_run = classifier, .n = 100}); },
                {ae, "(ae) has no samples"});
  require_error([&] { evaluate_sample_quality(classifier, {.classifier_run = classifier, .n = 100}); },
                {"(classifier) has no samples"});
  require_error([&] { evaluate_sample_quality(vae, {.classifier_run = classifier, .n = 100}); },
                {"samples of", vae, "are not images"});
  require_error([&] { evaluate_sample_quality(vae, {.classifier_run = classifier, .n = 3}); },
                {"n must be more than 5"});
  // A classifier of other data: a Fashion-MNIST run's samples are not what it was trained on.
  RunConfig images;
  images.data = "fashion-mnist";
  images.limit_train = 128;
  images.hidden = {16};
  images.latent = 2;
  images.batch_size = 64;
  images.out = (dir / "fashion-vae").string();
  try {
    train_run(images, {.log = &log});
    require_error([&] { evaluate_sample_quality(images.out, {.classifier_run = classifier, .n = 100}); },
                  {"the classifier", "was trained on tensors:", "(not images: vectors of 64 values)",
                   "makes fashion-mnist images (1 x 28 x 28)"});
  } catch (const Error& e) {
    if (std::string(e.what()).find("dataset-fashion-mnist") == std::string::npos) throw;
    WARN("data mismatch check skipped: " << e.what());
  }
  // The flags: --sample-quality needs --classifier, which belongs to it alone; its --n default.
  auto parse = [](std::vector<const char*> argv) {
    cli::CommandLine command_line;
    return command_line.parse(static_cast<int>(argv.size()), argv.data());
  };
  require_error([&] { parse({"strata", "eval", "--run", "r", "--sample-quality"}); }, {"needs --classifier"});
  require_error(
      [&] {
        parse({"strata", "eval", "--run", "r", "--classifier", "c"});
      },
      {"--classifier belongs to --sample-quality"});
  require_error(
      [&] {
        parse({"strata", "eval", "--run", "r", "--sample-quality", "--classifier", "c", "--nll"});
      },
      {"separate evaluations"});
  const cli::Command c = parse({"strata", "eval", "--run", "r", "--sample-quality", "--classifier", "c"});
  REQUIRE(c.sample_quality);
  REQUIRE(c.classifier_run == "c");
  REQUIRE(c.eval_n == kSampleQualityDefaultN);
  REQUIRE(
      parse({"strata", "eval", "--run", "r", "--sample-quality", "--classifier", "c", "--n", "300"}).eval_n ==
      300);
  fs::remove_all(dir);
}
