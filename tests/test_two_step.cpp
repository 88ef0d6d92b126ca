// Two-step generation (training/two_step.h): a flow trained on an autoencoder run's latent codes
// (`strata train --model fm --latent-of AE_RUN`), whose samples are decoded.
#include <filesystem>
#include <sstream>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "models/autoencoders/autoencoder.h"
#include "test_helpers.h"
#include "training/registry.h"
#include "training/run_config.h"
#include "training/trainer.h"
#include "training/two_step.h"

using namespace strata;
using namespace strata::test;
using namespace strata::training;
namespace fs = std::filesystem;

namespace {

// Exactly equal values (the same computation done twice).
void require_same(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = to_dtype(a, DType::Float64).to_vector<double>();
  const std::vector<double> y = to_dtype(b, DType::Float64).to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) REQUIRE(x[i] == y[i]);
}

struct TwoStepRuns {
  fs::path dir;
  RunConfig autoencoder, flow;
};

// A VAE with a 2-D latent on 12-D data in [0, 1], then an fm on its codes: each trains in well
// under a second.
TwoStepRuns train_two_step(const std::string& name) {
  TwoStepRuns r;
  r.dir = fs::temp_directory_path() / ("strata_test_two_step_" + name);
  fs::remove_all(r.dir);
  fs::create_directories(r.dir);
  Generator gen(7);
  const fs::path data = r.dir / "tiny.safetensors";
  io::save_safetensors(data, {{"train", rand({256, 12}, {}, &gen)}, {"validation", rand({64, 12}, {}, &gen)}});
  r.autoencoder.model = "vae";
  r.autoencoder.data = "tensors:" + data.string();
  r.autoencoder.hidden = {16};
  r.autoencoder.latent = 2;
  r.autoencoder.batch_size = 32;
  r.autoencoder.out = (r.dir / "vae").string();
  std::ostringstream log;
  train_run(r.autoencoder, {.log = &log});
  r.flow.model = "fm";
  r.flow.data = r.autoencoder.data;
  r.flow.latent_of = r.autoencoder.out;
  r.flow.velocity_hidden = {16};
  r.flow.batch_size = 32;
  r.flow.solver = "rk4";
  r.flow.out = (r.dir / "fm").string();
  train_run(r.flow, {.log = &log});
  return r;
}

}  // namespace

TEST_CASE("a latent flow trains on the autoencoder's posterior means and decodes its samples", "[two-step]") {
  const TwoStepRuns runs = train_two_step("codes");
  LoadedRun flow = load_run(runs.flow.out, "best");
  // Its data are the encoder's means of the autoencoder's own splits, computed here directly.
  LoadedRun vae = load_run(runs.autoencoder.out, "best");
  NoGradGuard no_grad;
  const Tensor train_means = vae.model->autoencoder()->encode(vae.data->train_in_memory("test").inputs()).mean;
  const Tensor validation_means = vae.model->autoencoder()->encode(vae.data->validation.inputs()).mean;
  REQUIRE(flow.data->input_dim() == 2);
  require_same(flow.data->train_in_memory("test").inputs(), train_means);
  require_same(flow.data->validation.inputs(), validation_means);
  REQUIRE(flow.data->latent->latent_dim() == 2);
  // Samples are decoded: 12-D Bernoulli means, and exactly the decoder's image of the flow's codes.
  Generator a(3), b(3);
  const Tensor samples = flow.model->sample(5, &a);
  REQUIRE(samples.shape() == Shape{5, 12});
  auto* two_step = dynamic_cast<TwoStepTrainable*>(flow.model.get());
  REQUIRE(two_step != nullptr);
  const Tensor codes = two_step->latent_model().sample(5, &b);
  REQUIRE(codes.shape() == Shape{5, 2});
  require_same(samples, vae.model->autoencoder()->decode_mean(codes));
  // Likelihoods and distances are of codes; the decoded samples are compared with the images too.
  std::map<std::string, double> figures;
  for (const auto& [key, value] : evaluate_run_likelihood(runs.flow.out, "best", 32, 0)) figures[key] = value;
  REQUIRE(figures.count("nll") == 1);
  REQUIRE(figures.count("decoded_sliced_w2") == 1);
  REQUIRE(figures.count("bits_per_dim") == 0);
  REQUIRE(std::isfinite(figures["nll"]));
  REQUIRE(figures["decoded_sliced_w2"] > 0);
}

TEST_CASE("a latent flow refuses what it cannot train on, naming it", "[two-step]") {
  const TwoStepRuns runs = train_two_step("errors");
  RunConfig c = runs.flow;
  c.model = "vae";
  require_error([&] { validate(c); }, {"latent_of", "fm or lfm", "vae"});
  c = runs.flow;
  c.data = "toy:moons";
  require_error([&] { load_data(c); }, {"--latent-of", "trained on tensors:", "toy:moons"});
  c = runs.flow;
  c.latent_of = runs.flow.out;  // a latent model is not an autoencoder
  require_error([&] { load_data(c); }, {"itself a latent model", runs.autoencoder.out});
  c.latent_of = (runs.dir / "missing").string();
  require_error([&] { load_data(c); }, {"missing", "config.json"});
}
