// Uniform dequantisation of 8-bit data for the flows (models/flows/dequantization.h) and how the
// flow runs use it (training/registry.cpp's FlowTrainable).
#include <cmath>

#include "engine/autograd.h"
#include "models/flows/dequantization.h"
#include "models/flows/flow_model.h"
#include "test_helpers.h"
#include "training/registry.h"
#include "training/run_config.h"

using namespace strata;
using namespace strata::test;

namespace {

// Pixels k / 255 as the Fashion-MNIST loader gives them, float32, [rows, cols].
Tensor pixels(int64_t rows, int64_t cols, uint64_t seed, std::vector<int64_t>* levels = nullptr) {
  Generator gen(seed);
  std::vector<float> values;
  for (int64_t i = 0; i < rows * cols; ++i) {
    const int64_t k = static_cast<int64_t>(std::floor(rand({1}, {DType::Float64}, &gen).item<double>() * 256));
    if (levels) levels->push_back(k);
    values.push_back(static_cast<float>(k) / 255.0f);
  }
  return from_vector(values, {rows, cols});
}

training::RunConfig flow_config(const std::string& model) {
  training::RunConfig c;
  c.model = model;
  c.data = "fashion-mnist";
  c.velocity_hidden = {8};
  c.solver = "rk4";
  c.blocks = 2;
  c.epochs = 2;
  return c;
}

}  // namespace

TEST_CASE("uniform dequantisation fills each level's cell", "[flows][dequantization]") {
  std::vector<int64_t> levels;
  const Tensor x = pixels(500, 8, 3, &levels);
  Generator gen(1);
  const std::vector<double> y = to_dtype(models::dequantize_uniform(x, 256, &gen), DType::Float64).to_vector<double>();
  double mean_offset = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    // y = (k + u) / 256 with u in [0, 1): the level is the cell y falls into.
    REQUIRE(static_cast<int64_t>(std::floor(y[i] * 256)) == levels[i]);
    mean_offset += y[i] * 256 - static_cast<double>(levels[i]);
  }
  // u ~ U[0, 1): mean 1/2, sd of the mean of 4000 draws 0.0046.
  REQUIRE(mean_offset / static_cast<double>(y.size()) == Approx(0.5).margin(0.02));
  // The same generator state gives the same draw.
  Generator a(9), b(9);
  REQUIRE(to_dtype(models::dequantize_uniform(x, 256, &a), DType::Float64).to_vector<double>() ==
          to_dtype(models::dequantize_uniform(x, 256, &b), DType::Float64).to_vector<double>());
  REQUIRE(models::dequantization_log_volume(784, 256) == Approx(-784 * std::log(256.0)));
  require_error([&] { models::dequantize_uniform(add(x, 1.5), 256, &gen); }, {"dequantize_uniform", "[0, 1]", "[500, 8]"});
  require_error([&] { models::dequantize_uniform(x, 1, &gen); }, {"dequantize_uniform", "2 levels", "1"});
}

TEST_CASE("a flow on 8-bit pixels trains on dequantised data and bounds the discrete likelihood", "[flows][dequantization]") {
  const training::RunConfig c = flow_config("fm");
  REQUIRE(training::flow_dequantize_levels(c) == 256);
  manual_seed(4);
  std::unique_ptr<training::Trainable> run = training::make_model(c, 4);
  auto& flow = dynamic_cast<models::FlowModel&>(run->module());
  const Tensor x = pixels(6, 4, 5);
  NoGradGuard no_grad;
  // log_prob = the flow's density at the dequantised point - D log 256, drawn from the same generator.
  Generator a(11), b(11);
  const Tensor bound = run->log_prob(x, &a);
  const Tensor y = models::dequantize_uniform(x, 256, &b);
  const std::vector<double> expected = to_dtype(flow.log_prob(y, &b), DType::Float64).to_vector<double>();
  const std::vector<double> got = to_dtype(bound, DType::Float64).to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(expected[i] - 4 * std::log(256.0)).margin(1e-5));  // added in float32
  // The training loss is the flow's loss on the dequantised batch, noise drawn in that order.
  Generator c1(12), c2(12);
  const double loss = run->loss_terms(x, &c1).front().second.item<double>();
  const Tensor y2 = models::dequantize_uniform(x, 256, &c2);
  REQUIRE(loss == flow.loss(y2, &c2).front().second.item<double>());
}

TEST_CASE("lfm dequantises once, with fixed noise, before pushing data to a later block", "[flows][dequantization]") {
  manual_seed(4);
  std::unique_ptr<training::Trainable> run = training::make_model(flow_config("lfm"), 4);
  const Tensor x = pixels(6, 4, 5);
  NoGradGuard no_grad;
  // Block 0 takes the raw levels (dequantised afresh at every step); block 1 the same pushed data every time.
  REQUIRE(to_dtype(run->stage_data(0, x), DType::Float64).to_vector<double>() ==
          to_dtype(x, DType::Float64).to_vector<double>());
  run->set_stage(1, true);
  const std::vector<double> first = to_dtype(run->stage_data(1, x), DType::Float64).to_vector<double>();
  REQUIRE(first == to_dtype(run->stage_data(1, x), DType::Float64).to_vector<double>());
  REQUIRE(first != to_dtype(x, DType::Float64).to_vector<double>());
}

TEST_CASE("dequantize settings are checked against the data", "[flows][dequantization][errors]") {
  training::RunConfig c = flow_config("fm");
  c.data = "toy:moons";
  REQUIRE(training::flow_dequantize_levels(c) == 0);  // auto: continuous points
  c.dequantize = "uniform";
  require_error([&] { training::validate(c); }, {"dequantize uniform", "8-bit", "toy:moons"});
  c.dequantize = "dither";
  require_error([&] { training::validate(c); }, {"unknown dequantize", "dither", "auto, none, uniform"});
  c = flow_config("fm");
  c.dequantize = "none";
  REQUIRE(training::flow_dequantize_levels(c) == 0);
}
