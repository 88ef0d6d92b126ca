// The image U-Net velocity field (velocity_unet.h) and FM's classifier-free guidance
// (flow_matching.h): output shapes, rows independent of each other, the zero initial velocity, a
// float64 gradient check of the conditional loss, the guidance scale's end points exactly, label
// dropping, a short conditional training on two classes of 8 x 8 images, and the registry's
// --velocity-net / --conditional fm wiring and refusals.
#include <chrono>
#include <filesystem>
#include <sstream>

#include "engine/optim/adam.h"
#include "models/flows/flow_matching.h"
#include "models/flows/local_flow_matching.h"
#include "models/flows/velocity_unet.h"
#include "test_helpers.h"
#include "training/registry.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::models;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

// 1 x 8 x 8 images, two levels of widths 8 and 16: fast enough for many evaluations.
VelocityUnetOptions tiny_unet(int64_t num_classes = 0, bool zero_output = false) {
  return {.channels = 1,
          .image_size = 8,
          .base_channels = 8,
          .channel_multipliers = {1, 2},
          .time_features = 8,
          .num_classes = num_classes,
          .norm_groups = 4,
          .zero_output = zero_output};
}

Tensor labels_of(const std::vector<int64_t>& labels) {
  return from_vector(labels, {static_cast<int64_t>(labels.size())});
}

bool same_values(const Tensor& a, const Tensor& b) { return a.to_vector<double>() == b.to_vector<double>(); }

// Class 0: the top half bright, class 1: the bottom half, plus N(0, 0.05^2) noise; [n, 64].
std::pair<Tensor, Tensor> two_class_images(int64_t n, uint64_t seed) {
  Generator gen(seed);
  const std::vector<double> noise = randn({n, 64}, {DType::Float64}, &gen).to_vector<double>();
  std::vector<float> pixels(static_cast<size_t>(n * 64));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = i % 2;
    for (int64_t p = 0; p < 64; ++p) {
      const bool top = p < 32;
      pixels[i * 64 + p] =
          static_cast<float>(((top == (labels[i] == 0)) ? 1.0 : 0.0) + 0.05 * noise[i * 64 + p]);
    }
  }
  return {from_vector(pixels, {n, 64}), labels_of(labels)};
}

// Mean of the top half minus the mean of the bottom half, per row of [n, 64] images.
std::vector<double> top_minus_bottom(const Tensor& images) {
  const std::vector<double> v = images.to_vector<double>();
  std::vector<double> out;
  for (size_t i = 0; i < v.size() / 64; ++i) {
    double top = 0, bottom = 0;
    for (size_t p = 0; p < 64; ++p) (p < 32 ? top : bottom) += v[i * 64 + p] / 32;
    out.push_back(top - bottom);
  }
  return out;
}

}  // namespace

TEST_CASE("VelocityUnet: [N, C*S*S] in and out at 28x28 and 32x32, zero at initialisation", "[flows][unet]") {
  Generator init(1);
  VelocityUnet fashion({}, &init);  // the default layout: 1 x 28 x 28, widths 32, 64, 64
  REQUIRE(fashion.dim() == 784);
  Generator gen(2);
  const Tensor x = rand({3, 784}, {}, &gen);
  const Tensor v = fashion.velocity(x, rand({3}, {}, &gen));
  REQUIRE(v.shape() == Shape{3, 784});
  REQUIRE(v.dtype() == DType::Float32);
  // The output convolution starts at zero, so the initial velocity is exactly 0.
  for (double value : v.to_vector<double>()) REQUIRE(value == 0.0);

  VelocityUnet colour({.channels = 3, .image_size = 32, .base_channels = 8}, &init);
  REQUIRE(colour.velocity(rand({2, 3072}, {}, &gen), rand({2}, {}, &gen)).shape() == Shape{2, 3072});

  // The layout: per level a ResBlock and (but the last) a stride-2 conv; the first up-path block
  // reads the middle output beside its skip (2 x 64 channels at 7 x 7).
  const auto params = fashion.named_parameters();
  const auto shape_of = [&](const std::string& name) {
    for (const auto& [n, p] : params)
      if (n == name) return p.shape();
    FAIL("no parameter " << name);
    return Shape{};
  };
  REQUIRE(shape_of("input.weight") == Shape{32, 1, 3, 3});
  REQUIRE(shape_of("down1.conv1.weight") == Shape{64, 32, 3, 3});
  REQUIRE(shape_of("downsample1.weight") == Shape{64, 64, 3, 3});
  REQUIRE(shape_of("up2.conv1.weight") == Shape{64, 128, 3, 3});
  REQUIRE(shape_of("upsample1.weight") == Shape{32, 64, 3, 3});
  REQUIRE(shape_of("time1.weight") == Shape{128, 64});
  REQUIRE(shape_of("output.weight") == Shape{1, 32, 3, 3});
}

TEST_CASE("VelocityUnet: a row's velocity does not depend on the other rows of the batch", "[flows][unet]") {
  Generator init(3), gen(4);
  VelocityUnet net(tiny_unet(3), &init);
  const Tensor x = randn({4, 64}, {}, &gen), t = rand({4}, {}, &gen);
  const Tensor labels = labels_of({2, 0, 3, 1});
  const Tensor v = net.labelled_velocity(x, t, labels);
  // Other rows replaced (values, times and labels): row 0 is unchanged, to the last bit.
  const Tensor x2 = cat({narrow(x, 0, 0, 1), randn({3, 64}, {}, &gen)}, 0);
  const Tensor t2 = cat({narrow(t, 0, 0, 1), rand({3}, {}, &gen)}, 0);
  const Tensor v2 = net.labelled_velocity(x2, t2, labels_of({2, 3, 3, 0}));
  REQUIRE(same_values(narrow(v, 0, 0, 1), narrow(v2, 0, 0, 1)));
  REQUIRE_FALSE(same_values(narrow(v, 0, 1, 1), narrow(v2, 0, 1, 1)));
  // A row alone gives what it gives in the batch (up to the gemm's summation order).
  require_values(net.labelled_velocity(narrow(x, 0, 2, 1), narrow(t, 0, 2, 1), labels_of({3})),
                 narrow(v, 0, 2, 1).to_vector<double>(), 1e-5);
}

TEST_CASE("VelocityUnet: the conditional FM loss passes gradcheck in float64", "[flows][unet][gradcheck]") {
  Generator init(5);
  VelocityUnetOptions o = tiny_unet(2);
  o.image_size = 4;
  o.base_channels = 4;
  o.time_features = 4;
  o.norm_groups = 2;
  auto net = std::make_shared<VelocityUnet>(o, &init);
  net->to(DType::Float64);
  FlowMatching fm(net, {.p_uncond = 0.5});
  Generator data_gen(6);
  const Tensor x = rand({3, 16}, {DType::Float64}, &data_gen);
  const Tensor labels = labels_of({0, 1, 1});
  // A few parameters from every part: the time MLP, the label embedding, a down block, the middle's
  // time bias, an up block's norm, the upsampling conv and the output.
  const std::vector<std::string> names = {
      "time1.bias",       "label_embedding.weight", "down0.conv1.bias", "middle.embedding_bias.bias",
      "up1.norm1.weight", "upsample1.bias",         "output.bias"};
  std::vector<Tensor> inputs;
  for (const auto& [name, p] : net->named_parameters())
    if (std::find(names.begin(), names.end(), name) != names.end()) inputs.push_back(p);
  REQUIRE(inputs.size() == names.size());
  require_gradcheck(
      [&](const std::vector<Tensor>&) {
        Generator noise(7);  // the same x0, t and dropped labels at every evaluation
        return fm.labelled_loss(x, labels, &noise).front().second;
      },
      inputs);
  // The input too: the field is differentiable in x (what the divergence of log_prob needs).
  Tensor xs = leaf64({2, 16}, 8);
  require_gradcheck(
      [&](const std::vector<Tensor>& in) {
        return net->labelled_velocity(in[0], full({2}, 0.3, {DType::Float64}), labels_of({1, 2}));
      },
      {xs});
}

TEST_CASE("FM guidance: w = 1 is the conditional field, w = 0 the unconditional one, exactly",
          "[flows][unet][cfg]") {
  Generator init(9), gen(10);
  FlowMatching fm(std::make_shared<VelocityUnet>(tiny_unet(3), &init));
  REQUIRE(fm.num_classes() == 3);
  const Tensor x = randn({4, 64}, {}, &gen), t = rand({4}, {}, &gen);
  const Tensor labels = labels_of({0, 1, 2, 1}), null = labels_of({3, 3, 3, 3});
  const Tensor conditional = fm.velocity().labelled_velocity(x, t, labels);
  const Tensor unconditional = fm.velocity().labelled_velocity(x, t, null);
  REQUIRE(same_values(fm.guided_velocity(x, t, labels, 1.0), conditional));
  REQUIRE(same_values(fm.guided_velocity(x, t, labels, 0.0), unconditional));
  // velocity(x, t) of a conditional field is the null label's.
  REQUIRE(same_values(fm.velocity().velocity(x, t), unconditional));
  REQUIRE_FALSE(same_values(conditional, unconditional));
  // Between and beyond: v_u + w (v_c - v_u), the two evaluated in one batch of 2N rows.
  const std::vector<double> c = conditional.to_vector<double>(), u = unconditional.to_vector<double>();
  std::vector<double> expected;
  for (size_t i = 0; i < c.size(); ++i) expected.push_back(u[i] + 3.0 * (c[i] - u[i]));
  require_values(fm.guided_velocity(x, t, labels, 3.0), expected, 1e-5);
  // Guided sampling at w = 1 and w = 0 integrates those fields.
  fm.set_solver({.ode = {.method = OdeMethod::Euler, .steps = 4}});
  Generator a(11), b(11), c2(11), d(11);
  REQUIRE(same_values(fm.labelled_sample(labels, 0.0, &a), fm.sample(4, &b)));
  REQUIRE(fm.labelled_sample(labels, 2.0, &c2).shape() == Shape{4, 64});
  REQUIRE(fm.last_function_evaluations() == 4);
  // Bad labels and scales are refused by name.
  require_error(
      [&] {
        fm.guided_velocity(x, t, labels_of({0, 4, 1, 1}), 2.0);
      },
      {"FM.guided_velocity", "label 4", "0..3"});
  require_error(
      [&] {
        fm.guided_velocity(x, t, labels_of({0, 1}), 2.0);
      },
      {"FM.guided_velocity", "int64 [4]", "[2]"});
  require_error([&] { fm.guided_velocity(x, t, labels, std::nan("")); },
                {"FM.guided_velocity", "guidance scale"});
  require_error(
      [&] {
        fm.labelled_sample(from_vector(std::vector<float>{0, 1}, {2}), 1.0, &d);
      },
      {"FM.labelled_sample", "int64 [N]", "float32"});
  FlowMatching plain(std::make_shared<VelocityUnet>(tiny_unet(0), &init));
  require_error([&] { plain.labelled_loss(x, labels, &gen); },
                {"FM.labelled_loss", "VelocityUnet has no classes"});
  require_error([&] { plain.velocity().labelled_velocity(x, t, labels); },
                {"VelocityUnet", "num_classes > 0"});
  FlowMatching ot(std::make_shared<VelocityUnet>(tiny_unet(3), &init), {.coupling = Coupling::ExactOt});
  require_error([&] { ot.labelled_loss(x, labels, &gen); }, {"FM.labelled_loss", "exact-ot"});
}

TEST_CASE("FM label dropping: p_uncond 1 makes every label the null label, 0 none", "[flows][unet][cfg]") {
  Generator init(12), gen(13);
  const Tensor labels = labels_of(std::vector<int64_t>(4000, 1));
  const auto dropped_share = [&](double p) {
    FlowMatching fm(std::make_shared<VelocityUnet>(tiny_unet(2), &init), {.p_uncond = p});
    const std::vector<int64_t> out = fm.drop_labels(labels, &gen).to_vector<int64_t>();
    double null = 0;
    for (int64_t c : out) {
      REQUIRE((c == 1 || c == 2));
      null += c == 2;
    }
    return null / static_cast<double>(out.size());
  };
  REQUIRE(dropped_share(1.0) == 1.0);
  REQUIRE(dropped_share(0.0) == 0.0);
  REQUIRE(dropped_share(0.1) == Approx(0.1).margin(0.02));  // 4000 draws: sd 0.005
  // With every label dropped the labelled loss is the unlabelled (null-label) loss, draw for draw.
  FlowMatching all_null(std::make_shared<VelocityUnet>(tiny_unet(2), &init), {.p_uncond = 1.0});
  const Tensor x = rand({5, 64}, {}, &gen);
  Generator a(14), b(14);
  REQUIRE(all_null.labelled_loss(x, labels_of({0, 1, 0, 1, 0}), &a).front().second.item<double>() ==
          all_null.loss(x, &b).front().second.item<double>());
  require_error([&] { FlowMatching(std::make_shared<VelocityUnet>(tiny_unet(2), &init), {.p_uncond = 1.5}); },
                {"FM", "p_uncond", "1.5"});
}

TEST_CASE("conditional FM with a tiny U-Net learns two classes of 8x8 images",
          "[flows][unet][cfg][training]") {
  const auto start = std::chrono::steady_clock::now();
  manual_seed(15);
  FlowMatching fm(std::make_shared<VelocityUnet>(tiny_unet(2, true)),
                  {.solver = {.ode = {.method = OdeMethod::Euler, .steps = 8}}, .p_uncond = 0.2});
  const auto [images, labels] = two_class_images(256, 16);
  optim::Adam adam(fm.parameters(), {.lr = 3e-3});
  Generator gen(17), batch_gen(18);
  double first = 0, last = 0;
  const int steps = 120;
  for (int step = 0; step < steps; ++step) {
    const Tensor idx = narrow(randperm(256, &batch_gen), 0, 0, 32);
    const Tensor loss =
        fm.labelled_loss(index_select(images, 0, idx), index_select(labels, 0, idx), &gen).front().second;
    adam.zero_grad();
    loss.backward();
    adam.step();
    const double v = loss.item<double>();
    if (step < 10) first += v / 10;
    if (step >= steps - 10) last += v / 10;
  }
  INFO("mean loss of the first 10 steps " << first << ", of the last 10 " << last);
  // The loss starts at E||x1 - x0||^2 (v = 0): about 64 + 32 = 96; a learnt field roughly halves it.
  REQUIRE(first > 80);
  REQUIRE(last < 0.6 * first);
  // Samples follow their class: bright top for class 0, bright bottom for class 1, more so with guidance.
  NoGradGuard no_grad;
  Generator draw(19);
  const Tensor wanted = labels_of({0, 0, 0, 0, 1, 1, 1, 1});
  const std::vector<double> plain = top_minus_bottom(fm.labelled_sample(wanted, 1.0, &draw));
  const std::vector<double> guided = top_minus_bottom(fm.labelled_sample(wanted, 3.0, &draw));
  double class0 = 0, class1 = 0, class0_guided = 0, class1_guided = 0;
  for (int i = 0; i < 4; ++i) class0 += plain[i] / 4, class1 += plain[4 + i] / 4;
  for (int i = 0; i < 4; ++i) class0_guided += guided[i] / 4, class1_guided += guided[4 + i] / 4;
  INFO("top - bottom: class 0 " << class0 << " (guided " << class0_guided << "), class 1 " << class1
                                << " (guided " << class1_guided << ")");
  REQUIRE(class0 > 0.3);
  REQUIRE(class1 < -0.3);
  REQUIRE(class0_guided > 0.3);
  REQUIRE(class1_guided < -0.3);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("conditional U-Net FM: " << steps << " steps in " << seconds << " s");
}

TEST_CASE("registry: --velocity-net unet builds U-Nets for fm and every lfm block; bad uses are refused",
          "[flows][unet][trainer][config]") {
  training::RunConfig c;
  c.model = "fm";
  c.data = "fashion-mnist";
  c.velocity_net = "unet";
  c.unet_channels = 8;
  training::validate(c);
  auto fm = training::make_model(c, 784, 10, 1);
  REQUIRE(fm->num_classes() == 0);
  REQUIRE(fm->module().named_parameters().front().first.rfind("velocity.time1", 0) == 0);
  require_error([&] { fm->set_guidance_scale(2.0); }, {"guidance scale", "--conditional"});
  c.conditional = true;
  auto conditional = training::make_model(c, 784, 10, 1);
  REQUIRE(conditional->num_classes() == 10);
  conditional->set_guidance_scale(2.0);
  require_error([&] { training::make_model(c, 784, 0, 1); }, {"--conditional needs labelled data"});
  require_error([&] { training::make_model(c, 12, 10, 1); },
                {"--velocity-net unet needs square images", "12"});

  c.conditional = false;
  c.model = "lfm";
  c.blocks = 3;
  c.epochs = 3;
  auto lfm = training::make_model(c, 3 * 32 * 32, 0, 3);
  size_t blocks = 0;
  for (const auto& [name, child] : lfm->module().named_children()) {
    REQUIRE(child->type_name() == "VelocityUnet");
    ++blocks;
  }
  REQUIRE(blocks == 3);

  const auto refused = [&](auto change, std::vector<std::string> fragments) {
    training::RunConfig bad = c;
    change(bad);
    require_error([&] { training::validate(bad); }, fragments);
  };
  refused([](training::RunConfig& b) { b.velocity_net = "resnet"; }, {"velocity_net", "resnet", "mlp, unet"});
  refused([](training::RunConfig& b) { b.data = "toy:moons"; },
          {"--velocity-net unet needs image data", "toy:moons"});
  refused([](training::RunConfig& b) { b.data = "csv:table.csv"; }, {"--velocity-net unet needs image data"});
  refused([](training::RunConfig& b) { b.conditional = true; }, {"--conditional", "lfm", "fm"});
  refused([](training::RunConfig& b) { b.model = "fm", b.conditional = true, b.velocity_net = "mlp"; },
          {"--conditional fm needs --velocity-net unet"});
  refused([](training::RunConfig& b) { b.model = "fm", b.conditional = true, b.coupling = "exact-ot"; },
          {"--conditional fm", "exact-ot"});
  refused([](training::RunConfig& b) { b.p_uncond = -0.1; }, {"p_uncond", "-0.1"});
  refused([](training::RunConfig& b) { b.latent_of = "runs/vae"; },
          {"--velocity-net unet is for images", "runs/vae"});
  refused([](training::RunConfig& b) { b.unet_channels = 0; }, {"unet_channels", "0"});
  require_error([&] { VelocityUnet({.image_size = 30}); },
                {"VelocityUnet", "image_size 30", "divisible by 4"});
  VelocityUnet net(tiny_unet());
  require_error(
      [&] {
        net.velocity(zeros({2, 63}), zeros({2}));
      },
      {"VelocityUnet", "[N, 64]", "1 x 8 x 8", "[2, 63]"});
  require_error(
      [&] {
        net.velocity(zeros({2, 64}), zeros({3}));
      },
      {"VelocityUnet", "one time per row", "[3]"});
}

TEST_CASE(
    "strata train --model fm --conditional --velocity-net unet on Fashion-MNIST, then sample "
    "--guidance-scale",
    "[flows][unet][trainer][e2e]") {
  const fs::path dir = fs::temp_directory_path() / "strata_test_flows_unet_e2e";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // One step of a U-Net of width 2 (validation reads all 10,000 test images), one sample per class.
  training::RunConfig c;
  c.model = "fm";
  c.data = "fashion-mnist";
  c.velocity_net = "unet";
  c.unet_channels = 2;
  c.conditional = true;
  c.limit_train = 64;
  c.batch_size = 64;
  c.samples = 10;
  c.solver = "euler";
  c.solver_steps = 2;
  c.out = (dir / "run").string();
  std::ostringstream log;
  try {
    training::train_run(c, {.log = &log});
  } catch (const Error& e) {
    if (std::string(e.what()).find("dataset-fashion-mnist") != std::string::npos) {
      WARN("skipped: " << e.what());
      return;
    }
    throw;
  }
  REQUIRE(fs::exists(dir / "run" / "samples" / "epoch_001.png"));
  REQUIRE(fs::exists(dir / "run" / "reconstructions" / "epoch_001.png"));
  const std::string path = training::sample_run_to_png(c.out, 20, 0, (dir / "guided.png").string(), 2.5);
  REQUIRE(fs::exists(path));
  fs::remove_all(dir);
}
