// dSprites regenerated procedurally (engine/data/dsprites.h) and factor datasets in general
// (engine/data/factor_dataset.h): the factor count and numbering, pixels worked out by hand from the
// geometry the header fixes, rendering on demand through the DataLoader, and training on it.
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/data/dsprites.h"
#include "engine/data/loader.h"
#include "engine/io/safetensors.h"
#include "test_helpers.h"
#include "training/metrics_evaluation.h"
#include "training/metrics_log.h"
#include "training/run_config.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

// One 64 x 64 image of the given factor classes, as rows of 0/1 values.
std::vector<float> image_of(const std::vector<int64_t>& classes) {
  return DSprites().render(from_vector(classes, {1, 5})).to_vector<float>();
}

float pixel(const std::vector<float>& image, int row, int col) { return image[row * 64 + col]; }

int count_on(const std::vector<float>& image) {
  int n = 0;
  for (float v : image) n += v == 1.0f;
  return n;
}

int row_count(const std::vector<float>& image, int row) {
  int n = 0;
  for (int c = 0; c < 64; ++c) n += pixel(image, row, c) == 1.0f;
  return n;
}

int col_count(const std::vector<float>& image, int col) {
  int n = 0;
  for (int r = 0; r < 64; ++r) n += pixel(image, r, col) == 1.0f;
  return n;
}

}  // namespace

TEST_CASE("dSprites: five factors, 737,280 images, indices <-> factor classes round-trip", "[dsprites]") {
  const DSprites d;
  REQUIRE(d.num_factors() == 5);
  REQUIRE(d.factor_sizes() == std::vector<int64_t>{3, 6, 40, 32, 32});
  REQUIRE(d.factor_names() ==
          std::vector<std::string>{"shape", "scale", "orientation", "position_x", "position_y"});
  REQUIRE(d.size() == 737280);
  REQUIRE(d.observation_dim() == 4096);
  // The last factor fastest: index = shape 245760 + scale 40960 + orientation 1024 + x 32 + y.
  REQUIRE(d.index_of({1, 2, 3, 4, 5}) == 245760 + 2 * 40960 + 3 * 1024 + 4 * 32 + 5);
  REQUIRE(d.factors_of(0) == std::vector<int64_t>{0, 0, 0, 0, 0});
  REQUIRE(d.factors_of(737279) == std::vector<int64_t>{2, 5, 39, 31, 31});
  Generator gen(3);
  const Tensor idx = randint(0, d.size(), {200}, {DType::Int64}, &gen);
  REQUIRE(d.indices_of(d.factors_of(idx)).to_vector<int64_t>() == idx.to_vector<int64_t>());
  for (int64_t i : idx.to_vector<int64_t>()) REQUIRE(d.index_of(d.factors_of(i)) == i);
  // The factor values: linspace(0.5, 1, 6), linspace(0, 2 pi, 40), linspace(0, 1, 32).
  REQUIRE(DSprites::factor_value(DSprites::Scale, 5) == Approx(1.0));
  REQUIRE(DSprites::factor_value(DSprites::Orientation, 39) == Approx(2 * M_PI));
  REQUIRE(DSprites::factor_value(DSprites::PositionY, 31) == Approx(1.0));

  require_error([&] { d.factors_of(737280); }, {"dsprites", "737280", "out of range"});
  require_error([&] { d.index_of({0, 6, 0, 0, 0}); }, {"dsprites", "scale", "6 values", "got 6"});
  require_error([&] { d.index_of({0, 0, 0}); }, {"dsprites", "3 factor classes", "5 factors"});
  require_error(
      [&] {
        d.render(from_vector(std::vector<int64_t>{3, 0, 0, 0, 0}, {1, 5}));
      },
      {"dsprites", "shape", "0..2", "got 3"});
  require_error([&] { d.render(zeros({2, 5})); }, {"dsprites", "int64 [N, 5]", "float32"});
}

TEST_CASE("dSprites: pixels by hand from the geometry (square, ellipse, heart; scale, position, orientation)",
          "[dsprites]") {
  // Square, scale 1 (R = 8 px), centre (8, 8) at position class 0: pixel centres j + 0.5 with
  // |j + 0.5 - 8| <= 8 are j = 0..15, so exactly rows and columns 0..15: 256 pixels.
  const std::vector<float> big = image_of({DSprites::Square, 5, 0, 0, 0});
  REQUIRE(count_on(big) == 256);
  REQUIRE(pixel(big, 0, 0) == 1.0f);
  REQUIRE(pixel(big, 15, 15) == 1.0f);
  REQUIRE(pixel(big, 16, 0) == 0.0f);
  REQUIRE(pixel(big, 0, 16) == 0.0f);
  for (float v : big) REQUIRE((v == 0.0f || v == 1.0f));  // binary: no anti-aliasing

  // Scale 0.5 (R = 4): |j + 0.5 - 8| <= 4 gives j = 4..11, 8 x 8 pixels.
  const std::vector<float> small = image_of({DSprites::Square, 0, 0, 0, 0});
  REQUIRE(count_on(small) == 64);
  REQUIRE(pixel(small, 4, 4) == 1.0f);
  REQUIRE(pixel(small, 11, 11) == 1.0f);
  REQUIRE(pixel(small, 3, 4) == 0.0f);
  // Position x class 31 moves the centre to 8 + 48 = 56: columns 52..59, rows still 4..11.
  const std::vector<float> right = image_of({DSprites::Square, 0, 0, 31, 0});
  REQUIRE(count_on(right) == 64);
  REQUIRE(pixel(right, 4, 52) == 1.0f);
  REQUIRE(pixel(right, 11, 59) == 1.0f);
  REQUIRE(pixel(right, 4, 51) == 0.0f);
  REQUIRE(pixel(right, 4, 60) == 0.0f);
  // Position y class 31 moves it down to rows 52..59.
  const std::vector<float> down = image_of({DSprites::Square, 0, 0, 0, 31});
  REQUIRE(pixel(down, 52, 4) == 1.0f);
  REQUIRE(pixel(down, 51, 4) == 0.0f);

  // Ellipse, scale 1, centre (8, 8), theta 0: u = (j + 0.5 - 8) / 8, v = (i + 0.5 - 8) / 8, inside
  // when u^2 + 4 v^2 <= 1. Row 3: v = -4.5/8, 4 v^2 = 1.27 > 1, empty. Row 4: v = -3.5/8,
  // 4 v^2 = 0.7656, |u| <= 0.4841, |j + 0.5 - 8| <= 3.873: j = 4..11, 8 pixels. Row 7: v = -0.5/8,
  // |u| <= 0.9922, |j + 0.5 - 8| <= 7.94: j = 0..15, 16 pixels.
  const std::vector<float> ellipse = image_of({DSprites::Ellipse, 5, 0, 0, 0});
  REQUIRE(row_count(ellipse, 3) == 0);
  REQUIRE(row_count(ellipse, 4) == 8);
  REQUIRE(pixel(ellipse, 4, 4) == 1.0f);
  REQUIRE(pixel(ellipse, 4, 3) == 0.0f);
  REQUIRE(row_count(ellipse, 7) == 16);
  // Orientation class 10 is 2 pi 10/39 = 92.3 degrees: the long axis is now nearly vertical.
  const std::vector<float> turned = image_of({DSprites::Ellipse, 5, 10, 16, 16});
  int best_col = 0, best_row = 0;
  for (int k = 0; k < 64; ++k) {
    best_col = std::max(best_col, col_count(turned, k));
    best_row = std::max(best_row, row_count(turned, k));
  }
  INFO("longest column " << best_col << ", longest row " << best_row);
  REQUIRE(best_col >= 15);
  REQUIRE(best_row <= 9);

  // Heart, scale 1, centre (8, 8), theta 0: (a, b) = (1.14 u, 0.118 - 1.14 v), inside when
  // (a^2 + b^2 - 1)^3 - a^2 b^3 <= 0. Row 14 (v = 0.8125, b = -0.80825), near its point:
  // column 7 (u = -0.0625, a = -0.07125): r = a^2 + b^2 - 1 = -0.3417, r^3 - a^2 b^3 = -0.0372, in;
  // column 8 is its mirror image, in; column 4 (u = -0.4375, a = -0.49875): r = -0.0980,
  // r^3 - a^2 b^3 = -0.00094 + 0.1313 > 0, out (where the square has it).
  const std::vector<float> heart = image_of({DSprites::Heart, 5, 0, 0, 0});
  REQUIRE(pixel(heart, 14, 7) == 1.0f);
  REQUIRE(pixel(heart, 14, 8) == 1.0f);
  REQUIRE(pixel(heart, 14, 4) == 0.0f);
  REQUIRE(pixel(big, 14, 4) == 1.0f);
  // Left-right symmetric at theta 0; the three shapes differ.
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) REQUIRE(pixel(heart, r, c) == pixel(heart, r, 15 - c));
  REQUIRE(count_on(heart) < count_on(big));
  REQUIRE(count_on(ellipse) < count_on(heart));

  // Orientation 2 pi (class 39) is orientation 0 again, for every shape.
  for (int64_t shape : {0, 1, 2})
    REQUIRE(image_of({shape, 3, 39, 12, 20}) == image_of({shape, 3, 0, 12, 20}));
}

TEST_CASE("factor datasets: uniform factor draws, rendering on demand through the DataLoader", "[dsprites]") {
  auto d = std::make_shared<const DSprites>();
  Generator g1(5), g2(5);
  const Tensor f = d->sample_factors(3000, &g1);
  REQUIRE(f.shape() == Shape{3000, 5});
  REQUIRE(f.to_vector<int64_t>() == d->sample_factors(3000, &g2).to_vector<int64_t>());
  const std::vector<int64_t> v = f.to_vector<int64_t>();
  for (int k = 0; k < 5; ++k) {
    std::set<int64_t> seen;
    for (int i = 0; i < 3000; ++i) {
      REQUIRE(v[i * 5 + k] >= 0);
      REQUIRE(v[i * 5 + k] < d->factor_sizes()[k]);
      seen.insert(v[i * 5 + k]);
    }
    REQUIRE(static_cast<int64_t>(seen.size()) == d->factor_sizes()[k]);  // 3000 draws hit every value
  }

  // The loader's batches are the images of the examples its order names.
  DataLoader loader(std::make_shared<const FactorImages>(d), {.batch_size = 16, .shuffle = true, .seed = 2});
  REQUIRE(loader.num_batches() == 737280 / 16);
  loader.start_epoch();
  const Batch b = loader.batch(3);
  REQUIRE(b.inputs.shape() == Shape{16, 4096});
  REQUIRE_FALSE(b.labels.defined());
  const Tensor which = narrow(loader.order(), 0, 48, 16);
  REQUIRE(b.inputs.to_vector<float>() == d->render_indices(contiguous(which)).to_vector<float>());

  // A subset: example i is subset[i].
  const Tensor subset = from_vector(std::vector<int64_t>{7, 70000, 3}, {3});
  const FactorImages some(d, subset);
  REQUIRE(some.size() == 3);
  REQUIRE(some.gather(from_vector(std::vector<int64_t>{2, 0}, {2})).inputs.to_vector<float>() ==
          d->render_indices(from_vector(std::vector<int64_t>{3, 7}, {2})).to_vector<float>());
  require_error([&] { some.gather(from_vector(std::vector<int64_t>{3}, {1})); },
                {"dsprites", "example 3", "3 examples"});
  require_error([&] { FactorImages(d, from_vector(std::vector<int64_t>{-1}, {1})); },
                {"dsprites", "-1", "out of range"});
}

TEST_CASE("strata train --data dsprites: a conv VAE on images rendered on demand", "[dsprites][trainer]") {
  const fs::path dir = fs::temp_directory_path() / "strata_test_dsprites_train";
  fs::remove_all(dir);
  training::RunConfig c;
  c.model = "vae";
  c.data = "dsprites";
  c.arch = "conv";
  c.latent = 4;
  c.limit_train = 256;
  c.batch_size = 64;
  c.epochs = 1;  // one pass over the 5,000 held-out images (64 x 64 conv: the test's main cost)
  c.samples = 4;
  c.out = (dir / "vae").string();
  std::ostringstream log;
  training::train_run(c, {.log = &log});
  INFO(log.str());
  const training::MetricsTable t = training::read_metrics_csv(dir / "vae" / "metrics.csv");
  // 64 x 64 binary images, mostly black: after 4 steps the loss is already far below log 2 per
  // pixel (2839 nats), the loss of logits 0.
  REQUIRE(t.column("val_loss").back() < 2000);
  REQUIRE(fs::exists(dir / "vae" / "samples" / "epoch_001.png"));
  REQUIRE(fs::exists(dir / "vae" / "traversals" / "epoch_001.png"));

  // lfm transforms its training data between blocks, which images made on demand cannot be.
  training::RunConfig lfm = c;
  lfm.model = "lfm";
  lfm.out = (dir / "lfm").string();
  lfm.blocks = 2;
  lfm.epochs = 2;
  require_error([&] { training::train_run(lfm, {.log = &log}); }, {"lfm", "in memory", "dsprites"});
}

TEST_CASE("strata eval --metrics on a dsprites run: every metric, metrics.json, seeds, refusals",
          "[dsprites][metrics]") {
  const fs::path dir = fs::temp_directory_path() / "strata_test_dsprites_metrics";
  fs::remove_all(dir);
  training::RunConfig c;  // a small MLP VAE: the metrics encode tens of thousands of images
  c.model = "vae";
  c.data = "dsprites";
  c.hidden = {16};
  c.latent = 3;
  c.limit_train = 128;
  c.batch_size = 64;
  c.samples = 4;
  c.out = (dir / "vae").string();
  std::ostringstream log;
  training::train_run(c, {.log = &log});

  const training::MetricsOptions options{.metrics = training::parse_metric_names("all"),
                                         .checkpoint = "latest",
                                         .points = 60,
                                         .vendi_samples = 40,
                                         .seed = 4};
  const training::MetricsReport report = training::evaluate_run_metrics(c.out, options);
  REQUIRE(report.metrics.size() == 7);
  std::vector<std::string> order;
  for (const auto& [name, fields] : report.metrics.items()) order.push_back(name);
  REQUIRE(order == training::metric_names());  // in the order asked
  for (const char* score : {"mig", "sap", "factorvae", "betavae"}) {
    const double s = report.metrics[score]["score"].get<double>();
    INFO(score << " " << s);
    REQUIRE(s >= 0);
    REQUIRE(s <= 1);
  }
  REQUIRE(report.metrics["dci"]["disentanglement"].get<double>() >= 0);
  REQUIRE(report.metrics["dci"]["disentanglement"].get<double>() <= 1);
  REQUIRE(report.metrics["mig"]["points"] == 60);
  REQUIRE(report.metrics["sap"]["test_points"] == 30);
  // The Vendi score of 40 samples lies between 1 (all alike) and 40.
  const double vendi = report.metrics["vendi"]["score"].get<double>();
  REQUIRE(vendi >= 1);
  REQUIRE(vendi <= 40);
  REQUIRE(report.metrics["vendi"]["kernel"] == "cosine");

  // metrics.json holds the report; the same seed gives the same numbers, metric by metric, whatever
  // else is asked for (each metric has its own generator).
  std::ifstream in(dir / "vae" / "metrics.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  REQUIRE(j.at("metrics").at("mig").at("score").get<double>() ==
          report.metrics["mig"]["score"].get<double>());
  REQUIRE(j.at("data") == "dsprites");
  training::MetricsOptions just_mig = options;
  just_mig.metrics = {"mig"};
  const training::MetricsReport again = training::evaluate_run_metrics(c.out, just_mig);
  REQUIRE(again.metrics["mig"]["score"].get<double>() == report.metrics["mig"]["score"].get<double>());
  REQUIRE(training::metrics_report_lines(again).size() == 3);

  require_error([] { training::parse_metric_names("mig,fid"); }, {"unknown metric \"fid\"", "mig, sap, dci"});
  // Data without known factors: the factor metrics are refused by name; an autoencoder without a prior
  // has no samples for vendi.
  training::RunConfig flat = c;
  const fs::path table = dir / "rows.safetensors";
  Generator gen(1);
  io::save_safetensors(table, {{"train", rand({64, 6}, {}, &gen)}});
  flat.data = "tensors:" + table.string();
  flat.model = "ae";
  flat.out = (dir / "ae").string();
  training::train_run(flat, {.log = &log});
  require_error(
      [&] { training::evaluate_run_metrics(flat.out, {.metrics = {"dci"}, .checkpoint = "latest"}); },
      {"dci", "known generative factors", "tensors:"});
  require_error(
      [&] { training::evaluate_run_metrics(flat.out, {.metrics = {"vendi"}, .checkpoint = "latest"}); },
      {"vendi", "ae", "no prior"});
}
