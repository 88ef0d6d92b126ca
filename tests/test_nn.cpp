// nn modules: registration and naming, state_dict, layers against hand-computed values and
// float64 gradient checks, BatchNorm's running statistics, dropout statistics, initialisers.
#include <cmath>

#include "models/nn/nn.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;
using namespace strata::nn;

namespace {

// A small model with nested submodules, a buffer-carrying layer and a parameter of its own.
class Net final : public Module {
 public:
  explicit Net(Generator* gen) : Module("Net") {
    encoder =
        register_module("encoder", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                       std::make_shared<Linear>(3, 4, true, gen), std::make_shared<ReLU>(),
                                       std::make_shared<Linear>(4, 2, true, gen)}));
    bn = register_module("bn", std::make_shared<BatchNorm1d>(2));
    scale = ones({2});
    register_parameter("scale", scale);
  }
  Tensor forward(const Tensor& x) override { return mul(bn->forward(encoder->forward(x)), scale); }

  std::shared_ptr<Sequential> encoder;
  std::shared_ptr<BatchNorm1d> bn;
  Tensor scale;
};

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

// Overwrites a parameter with given values (as a test fixture; training code uses optimizers).
void set_values(Tensor& t, const std::vector<double>& values) {
  NoGradGuard guard;
  copy_(t, to_dtype(tensor64(values, t.shape()), t.dtype()));
}

double sample_mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double sample_std(const std::vector<double>& v) {
  const double m = sample_mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

TEST_CASE("modules register parameters, buffers and submodules under dotted names", "[nn]") {
  Generator gen(1);
  auto net = std::make_shared<Net>(&gen);
  REQUIRE(names_of(net->named_parameters()) ==
          std::vector<std::string>{"scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                                   "encoder.2.bias", "bn.weight", "bn.bias"});
  REQUIRE(names_of(net->named_buffers()) ==
          std::vector<std::string>{"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"});
  REQUIRE(net->parameters().size() == 7);
  for (const Tensor& p : net->parameters()) REQUIRE(p.requires_grad());
  REQUIRE(net->named_children().size() == 2);
  REQUIRE(net->named_children()[0].first == "encoder");

  net->eval();
  REQUIRE_FALSE(net->is_training());
  REQUIRE_FALSE((*net->encoder)[0]->is_training());
  REQUIRE_FALSE(net->bn->is_training());
  net->train();
  REQUIRE(net->bn->is_training());

  // A parameter shared by two submodules is listed once.
  auto shared = std::make_shared<Linear>(2, 2, false, &gen);
  Sequential twice({shared, shared});
  REQUIRE(twice.parameters().size() == 1);
  REQUIRE(names_of(twice.named_parameters()) == std::vector<std::string>{"0.weight"});
}

TEST_CASE("module misuse is reported with the module's name", "[nn][errors]") {
  class Bad final : public Module {
   public:
    Bad() : Module("Bad") {
      a = zeros({2});
      register_parameter("a", a);
    }
    void add_again() { register_buffer("a", a); }
    void add_dotted() { register_module("x.y", std::make_shared<ReLU>()); }
    Tensor a;
  };
  Bad bad;
  require_error([&] { bad.add_again(); }, {"Bad", "'a'", "already registered"});
  require_error([&] { bad.add_dotted(); }, {"Bad", "x.y"});
  require_error([&] { bad.forward(zeros({1})); }, {"Bad", "forward"});
  require_error([&] { Sequential()[0]; }, {"Sequential", "index 0", "0 modules"});
  require_error([&] { bad.to(DType::Int64); }, {"Bad", "to", "int64"});
}

TEST_CASE("state_dict round-trips into a freshly initialised model", "[nn]") {
  Generator g1(1), g2(2);
  Net a(&g1), b(&g2);
  Tensor x = randn({5, 3}, {}, &g1);
  a.forward(x);  // moves a's running statistics away from their initial values
  a.eval();
  b.eval();
  const StateDict state = a.state_dict();
  REQUIRE(state.size() == 10);
  REQUIRE(state.count("bn.num_batches_tracked"));
  REQUIRE_FALSE(state.at("encoder.0.weight").requires_grad());
  REQUIRE(state.at("encoder.0.weight").storage() == a.encoder->parameters()[0].storage());

  const std::vector<float> before = b.forward(x).to_vector<float>();
  REQUIRE(before != a.forward(x).to_vector<float>());
  b.load_state_dict(state);
  REQUIRE(b.forward(x).to_vector<float>() == a.forward(x).to_vector<float>());
  REQUIRE(b.bn->num_batches_tracked.item<int64_t>() == 1);
  REQUIRE(b.parameters()[0].requires_grad());  // loading keeps b's own parameter tensors
}

TEST_CASE("load_state_dict checks names, shapes and dtypes", "[nn][errors]") {
  Generator gen(3);
  Net net(&gen);
  const StateDict good = net.state_dict();

  StateDict missing = good;
  missing.erase("bn.running_var");
  require_error([&] { net.load_state_dict(missing); }, {"Net.load_state_dict", "missing", "bn.running_var"});
  StateDict extra = good;
  extra["decoder.weight"] = zeros({1});
  require_error([&] { net.load_state_dict(extra); }, {"Net.load_state_dict", "unexpected", "decoder.weight"});
  StateDict wrong_shape = good;
  wrong_shape["encoder.0.weight"] = zeros({3, 4});
  require_error([&] { net.load_state_dict(wrong_shape); }, {"encoder.0.weight", "[3, 4]", "[4, 3]"});
  StateDict wrong_dtype = good;
  wrong_dtype["scale"] = zeros({2}, {DType::Float64});
  require_error([&] { net.load_state_dict(wrong_dtype); }, {"'scale'", "float64", "float32"});

  // Non-strict loading skips missing and unknown names but still refuses a wrong shape.
  StateDict partial;
  partial["scale"] = full({2}, 3.0);
  partial["unknown"] = zeros({1});
  net.load_state_dict(partial, /*strict=*/false);
  require_values(net.scale, {3.0, 3.0});
  require_error([&] { net.load_state_dict(wrong_shape, false); }, {"encoder.0.weight", "[3, 4]"});
}

TEST_CASE("to(Float64) converts parameters and float buffers, keeping them trainable", "[nn]") {
  Generator gen(4);
  Net net(&gen);
  const std::vector<double> w = net.encoder->parameters()[0].to_vector<double>();
  net.to(DType::Float64);
  for (const Tensor& p : net.parameters()) {
    REQUIRE(p.dtype() == DType::Float64);
    REQUIRE(p.requires_grad());
    REQUIRE(p.is_leaf());
  }
  require_values(net.encoder->parameters()[0], w, 0.0);
  REQUIRE(net.bn->running_mean.dtype() == DType::Float64);
  REQUIRE(net.bn->num_batches_tracked.dtype() == DType::Int64);
  Tensor y = net.forward(randn({4, 3}, {DType::Float64}, &gen));
  REQUIRE(y.dtype() == DType::Float64);
  sum(y).backward();
  REQUIRE(net.scale.grad().defined());
  net.zero_grad();
  REQUIRE_FALSE(net.scale.grad().defined());
}

TEST_CASE("Linear computes x W^T + b and its default init is PyTorch's", "[nn]") {
  Linear lin(3, 2);
  REQUIRE(lin.weight.shape() == Shape{2, 3});
  set_values(lin.weight, {1, 2, 3, -1, 0, 1});
  set_values(lin.bias, {0.5, -0.5});
  Tensor x = tensor32({1, 1, 1, 2, 0, -1}, {2, 3});
  require_values(lin.forward(x), {6.5, -0.5, -0.5, -3.5});
  // Leading batch dims are kept.
  require_values(lin.forward(reshape(x, {2, 1, 3})), {6.5, -0.5, -0.5, -3.5});
  REQUIRE(lin.forward(reshape(x, {2, 1, 3})).shape() == Shape{2, 1, 2});
  require_error([&] { lin.forward(zeros({2, 4})); }, {"linear", "[2, 4]", "[2, 3]"});

  Linear no_bias(3, 2, false);
  REQUIRE_FALSE(no_bias.bias.defined());
  REQUIRE(no_bias.parameters().size() == 1);

  // kaiming_uniform_(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias uses the same bound.
  Generator gen(5);
  Linear big(64, 128, true, &gen);
  const double bound = 1.0 / 8.0;
  const std::vector<double> w = big.weight.to_vector<double>();
  for (double v : w) REQUIRE(std::abs(v) <= bound);
  REQUIRE(sample_std(w) == Approx(bound / std::sqrt(3.0)).epsilon(0.03));
  for (double v : big.bias.to_vector<double>()) REQUIRE(std::abs(v) <= bound);
  REQUIRE(sample_std(big.bias.to_vector<double>()) > 0.5 * bound / std::sqrt(3.0));
}

TEST_CASE("gradcheck through Linear and a Sequential MLP in float64", "[nn]") {
  Generator gen(6);
  Linear lin(4, 3, true, &gen);
  lin.to(DType::Float64);
  Tensor x = leaf64({5, 4}, 60);
  require_gradcheck([&](const std::vector<Tensor>& in) { return lin.forward(in[0]); },
                    {x, lin.weight, lin.bias});

  Sequential mlp({std::make_shared<Linear>(3, 4, true, &gen), std::make_shared<Tanh>(),
                  std::make_shared<Linear>(4, 2, true, &gen), std::make_shared<Softplus>()});
  mlp.to(DType::Float64);
  std::vector<Tensor> inputs = {leaf64({2, 3}, 61)};
  for (const Tensor& p : mlp.parameters()) inputs.push_back(p);
  require_gradcheck([&](const std::vector<Tensor>& in) { return mlp.forward(in[0]); }, inputs);
}

TEST_CASE("BatchNorm1d normalises with batch statistics in training and running ones in eval", "[nn]") {
  BatchNorm1d bn(2);
  set_values(bn.weight, {2.0, 0.5});
  set_values(bn.bias, {1.0, -1.0});
  // Channel 0 holds 1, 3, 5, 7 (mean 4), channel 1 holds 2, 6, 4, 0 (mean 3); both have biased
  // variance 5 and unbiased variance 20/3.
  const std::vector<double> xs = {1, 2, 3, 6, 5, 4, 7, 0};
  Tensor x = tensor32({1, 2, 3, 6, 5, 4, 7, 0}, {4, 2});
  const double mean[2] = {4, 3}, w[2] = {2.0, 0.5}, b[2] = {1.0, -1.0}, eps = 1e-5;
  std::vector<double> expected;
  for (int i = 0; i < 8; ++i)
    expected.push_back((xs[i] - mean[i % 2]) / std::sqrt(5.0 + eps) * w[i % 2] + b[i % 2]);
  require_values(bn.forward(x), expected, 1e-5);

  const double rv = 0.9 * 1.0 + 0.1 * 20.0 / 3.0;
  require_values(bn.running_mean, {0.4, 0.3}, 1e-6);
  require_values(bn.running_var, {rv, rv}, 1e-6);
  REQUIRE(bn.num_batches_tracked.item<int64_t>() == 1);

  bn.eval();
  const double rm[2] = {0.4, 0.3};
  expected.clear();
  for (int i = 0; i < 8; ++i)
    expected.push_back((xs[i] - rm[i % 2]) / std::sqrt(rv + eps) * w[i % 2] + b[i % 2]);
  require_values(bn.forward(x), expected, 1e-5);
  REQUIRE(bn.num_batches_tracked.item<int64_t>() == 1);  // eval leaves the statistics alone
  require_values(bn.running_mean, {0.4, 0.3}, 1e-6);
}

TEST_CASE("BatchNorm with momentum nullopt keeps a cumulative average", "[nn]") {
  BatchNorm1d bn(2, {.momentum = std::nullopt, .affine = false});
  REQUIRE(bn.parameters().empty());
  Tensor x = tensor32({1, 2, 3, 6, 5, 4, 7, 0}, {4, 2});
  bn.forward(x);
  bn.forward(add(x, 1.0));
  require_values(bn.running_mean, {4.5, 3.5}, 1e-6);
  require_values(bn.running_var, {20.0 / 3.0, 20.0 / 3.0}, 1e-5);
  REQUIRE(bn.num_batches_tracked.item<int64_t>() == 2);
}

TEST_CASE("BatchNorm2d normalises each channel over batch and space; gradcheck in float64", "[nn]") {
  Generator gen(7);
  BatchNorm2d bn(3);
  bn.to(DType::Float64);
  set_values(bn.weight, {1.5, -0.5, 2.0});
  set_values(bn.bias, {0.1, 0.2, 0.3});
  Tensor x = leaf64({2, 3, 2, 2}, 70, 2.0, 1.0);
  Tensor y = bn.forward(x);
  // Each channel of the output has mean = bias and (biased) std = |weight| * sqrt(var / (var + eps)).
  const std::vector<double> yv = y.to_vector<double>(), xv = x.to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    std::vector<double> yc, xc;
    for (int n = 0; n < 2; ++n)
      for (int k = 0; k < 4; ++k)
        yc.push_back(yv[(n * 3 + c) * 4 + k]), xc.push_back(xv[(n * 3 + c) * 4 + k]);
    const double w = bn.weight.to_vector<double>()[c], b = bn.bias.to_vector<double>()[c];
    const double var_x = sample_std(xc) * sample_std(xc) * 7.0 / 8.0;
    REQUIRE(sample_mean(yc) == Approx(b).margin(1e-12));
    REQUIRE(sample_std(yc) * std::sqrt(7.0 / 8.0) == Approx(std::abs(w) * std::sqrt(var_x / (var_x + 1e-5))));
  }
  require_gradcheck([&](const std::vector<Tensor>& in) { return bn.forward(in[0]); },
                    {x, bn.weight, bn.bias});
  bn.eval();
  require_gradcheck([&](const std::vector<Tensor>& in) { return bn.forward(in[0]); },
                    {x, bn.weight, bn.bias});
}

TEST_CASE("BatchNorm rejects wrong shapes and single-value batches", "[nn][errors]") {
  BatchNorm1d bn1(3);
  BatchNorm2d bn2(3);
  require_error([&] { bn1.forward(zeros({4, 2})); }, {"BatchNorm1d", "3 channels", "[4, 2]"});
  require_error([&] { bn2.forward(zeros({4, 3})); }, {"BatchNorm2d", "4-D", "[4, 3]"});
  require_error([&] { bn1.forward(zeros({1, 3})); }, {"BatchNorm1d", "more than one value", "[1, 3]"});
  require_error([&] { BatchNorm1d(0); }, {"BatchNorm1d", "num_features"});
  bn1.eval();
  REQUIRE(bn1.forward(zeros({1, 3})).shape() == Shape{1, 3});  // eval needs no batch statistics
}

TEST_CASE("LayerNorm matches its closed form and passes gradcheck", "[nn]") {
  LayerNorm ln({3});
  set_values(ln.weight, {1.0, 2.0, -1.0});
  set_values(ln.bias, {0.0, 1.0, 0.5});
  const std::vector<double> xs = {1, 2, 3, 2, 4, 8};
  std::vector<double> expected;
  for (int r = 0; r < 2; ++r) {
    const double* row = &xs[r * 3];
    const double m = (row[0] + row[1] + row[2]) / 3;
    const double v =
        ((row[0] - m) * (row[0] - m) + (row[1] - m) * (row[1] - m) + (row[2] - m) * (row[2] - m)) / 3;
    const double w[3] = {1.0, 2.0, -1.0}, b[3] = {0.0, 1.0, 0.5};
    for (int j = 0; j < 3; ++j) expected.push_back((row[j] - m) / std::sqrt(v + 1e-5) * w[j] + b[j]);
  }
  require_values(ln.forward(tensor32({1, 2, 3, 2, 4, 8}, {2, 3})), expected, 1e-5);
  require_error([&] { ln.forward(zeros({3, 2})); }, {"LayerNorm", "[3, 2]", "[3]"});

  Generator gen(8);
  LayerNorm ln2({2, 3});
  ln2.to(DType::Float64);
  init::normal_(ln2.weight, 1.0, 0.5, &gen);
  init::normal_(ln2.bias, 0.0, 0.5, &gen);
  require_gradcheck([&](const std::vector<Tensor>& in) { return ln2.forward(in[0]); },
                    {leaf64({4, 2, 3}, 80), ln2.weight, ln2.bias});
}

TEST_CASE("GroupNorm matches its closed form and passes gradcheck", "[nn]") {
  GroupNorm gn(2, 4);
  set_values(gn.weight, {1, 2, 3, 4});
  set_values(gn.bias, {0, 0, 1, 1});
  // One sample, 4 channels of length 2: group 0 is channels 0-1, group 1 channels 2-3.
  const std::vector<double> xs = {1, 2, 3, 4, 0, 0, 2, -2};
  std::vector<double> expected;
  for (int g = 0; g < 2; ++g) {
    double m = 0, v = 0;
    for (int k = 0; k < 4; ++k) m += xs[g * 4 + k] / 4;
    for (int k = 0; k < 4; ++k) v += (xs[g * 4 + k] - m) * (xs[g * 4 + k] - m) / 4;
    for (int k = 0; k < 4; ++k) {
      const int c = g * 2 + k / 2;
      expected.push_back((xs[g * 4 + k] - m) / std::sqrt(v + 1e-5) * (c + 1) + (c >= 2 ? 1 : 0));
    }
  }
  require_values(gn.forward(tensor32({1, 2, 3, 4, 0, 0, 2, -2}, {1, 4, 2})), expected, 1e-5);
  require_error([&] { gn.forward(zeros({2, 3, 2})); }, {"GroupNorm", "4", "[2, 3, 2]"});
  require_error([&] { GroupNorm(3, 4); }, {"GroupNorm", "num_groups (3)"});

  Generator gen(9);
  GroupNorm gn2(2, 4);
  gn2.to(DType::Float64);
  init::normal_(gn2.weight, 1.0, 0.5, &gen);
  init::normal_(gn2.bias, 0.0, 0.5, &gen);
  require_gradcheck([&](const std::vector<Tensor>& in) { return gn2.forward(in[0]); },
                    {leaf64({2, 4, 3, 2}, 90), gn2.weight, gn2.bias});
}

TEST_CASE("Dropout drops a fraction p, rescales survivors and is the identity in eval", "[nn]") {
  Generator gen(10);
  Dropout drop(0.3, &gen);
  Tensor x = ones({200000}).set_requires_grad(true);
  Tensor y = drop.forward(x);
  const std::vector<float> yv = y.to_vector<float>();
  int64_t zeros_count = 0;
  for (float v : yv) {
    if (v == 0.0f)
      ++zeros_count;
    else
      REQUIRE(v == Approx(1.0 / 0.7));
  }
  // Binomial(200000, 0.3) has std ~205: 5 sigma is about 0.005 in the fraction.
  REQUIRE(static_cast<double>(zeros_count) / 200000.0 == Approx(0.3).margin(0.005));
  sum(y).backward();
  REQUIRE(x.grad().to_vector<float>() == yv);  // the gradient passes through the same mask

  // Same seed, same mask; a fresh draw differs.
  Generator again(10);
  Dropout drop2(0.3, &again);
  REQUIRE(drop2.forward(ones({200000})).to_vector<float>() == yv);
  REQUIRE(drop2.forward(ones({200000})).to_vector<float>() != yv);

  drop.eval();
  Tensor z = tensor32({1, 2, 3}, {3});
  REQUIRE(drop.forward(z).impl() == z.impl());
  drop.train();
  require_values(Dropout(1.0).forward(z), {0, 0, 0});
  require_values(Dropout(0.0).forward(z), {1, 2, 3});
  require_error([&] { Dropout(1.5); }, {"Dropout", "p", "1.5"});
  require_error([&] { drop.forward(from_vector(std::vector<int64_t>{1}, {1})); }, {"Dropout", "int64"});
}

TEST_CASE("Embedding looks up rows and accumulates gradients of repeated indices", "[nn]") {
  Generator gen(11);
  Embedding emb(4, 2, &gen);
  set_values(emb.weight, {0, 1, 10, 11, 20, 21, 30, 31});
  Tensor idx = from_vector(std::vector<int64_t>{3, 0, 3, 2}, {2, 2});
  Tensor y = emb.forward(idx);
  REQUIRE(y.shape() == Shape{2, 2, 2});
  require_values(y, {30, 31, 0, 1, 30, 31, 20, 21});
  sum(y).backward();
  require_values(emb.weight.grad(), {1, 1, 0, 0, 1, 1, 2, 2});
  require_error(
      [&] {
        emb.forward(from_vector(std::vector<int64_t>{1, 4}, {2}));
      },
      {"Embedding", "index 4", "4"});
  require_error([&] { emb.forward(from_vector(std::vector<int64_t>{-1}, {1})); }, {"Embedding", "index -1"});
  require_error([&] { emb.forward(tensor32({1}, {1})); }, {"Embedding", "int64", "float32"});
  // N(0, 1) initialisation.
  Embedding big(1000, 50, &gen);
  const std::vector<double> w = big.weight.to_vector<double>();
  REQUIRE(sample_mean(w) == Approx(0.0).margin(0.02));
  REQUIRE(sample_std(w) == Approx(1.0).epsilon(0.02));
}

TEST_CASE("activation modules, Flatten/Unflatten and Sequential compose the ops", "[nn]") {
  Tensor x = tensor64({-2.0, -0.5, 0.0, 0.5, 2.0, 3.0}, {1, 2, 3});
  const std::vector<std::pair<std::shared_ptr<Module>, Tensor>> cases = {
      {std::make_shared<ReLU>(), relu(x)},       {std::make_shared<LeakyReLU>(0.2), leaky_relu(x, 0.2)},
      {std::make_shared<ELU>(0.5), elu(x, 0.5)}, {std::make_shared<GELU>(), gelu(x)},
      {std::make_shared<SiLU>(), silu(x)},       {std::make_shared<Sigmoid>(), sigmoid(x)},
      {std::make_shared<Tanh>(), tanh(x)},       {std::make_shared<Softplus>(), softplus(x)}};
  for (const auto& [module, expected] : cases) {
    INFO(module->type_name());
    require_values(module->forward(x), expected.to_vector<double>(), 0.0);
  }
  require_values(LeakyReLU(0.2).forward(x), {-0.4, -0.1, 0.0, 0.5, 2.0, 3.0}, 1e-15);

  Flatten flat;
  REQUIRE(flat.forward(zeros({2, 3, 4, 5})).shape() == Shape{2, 60});
  REQUIRE(Flatten(0, 1).forward(zeros({2, 3, 4})).shape() == Shape{6, 4});
  Unflatten unflat(1, {3, 4, 5});
  REQUIRE(unflat.forward(zeros({2, 60})).shape() == Shape{2, 3, 4, 5});
  REQUIRE(Unflatten(-1, {2, 2}).forward(zeros({3, 4})).shape() == Shape{3, 2, 2});
  require_error([&] { unflat.forward(zeros({2, 59})); }, {"Unflatten", "[3, 4, 5]", "59"});
  require_error([&] { Unflatten(3, {1}).forward(zeros({2, 2})); }, {"Unflatten", "dim 3", "[2, 2]"});

  Generator gen(12);
  auto l1 = std::make_shared<Linear>(3, 4, true, &gen);
  auto l2 = std::make_shared<Linear>(8, 2, true, &gen);
  Sequential seq({std::make_shared<Unflatten>(1, Shape{2, 3}), l1, std::make_shared<SiLU>(),
                  std::make_shared<Flatten>(1), l2});
  Tensor in = randn({5, 6}, {}, &gen);
  Tensor manual = l2->forward(flatten(silu(l1->forward(reshape(in, {5, 2, 3}))), 1));
  require_values(seq.forward(in), manual.to_vector<double>(), 0.0);
  REQUIRE(seq.size() == 5);
}

TEST_CASE("init functions draw from the documented distributions", "[nn]") {
  Generator gen(13);
  REQUIRE(init::calculate_fan_in_and_fan_out(zeros({4, 3, 5, 5})) == std::pair<int64_t, int64_t>{75, 100});
  REQUIRE(init::calculate_fan_in_and_fan_out(zeros({7, 2})) == std::pair<int64_t, int64_t>{2, 7});
  require_error([&] { init::calculate_fan_in_and_fan_out(zeros({3})); },
                {"calculate_fan_in_and_fan_out", "[3]"});
  REQUIRE(init::calculate_gain(init::Nonlinearity::Relu) == Approx(std::sqrt(2.0)));
  REQUIRE(init::calculate_gain(init::Nonlinearity::Tanh) == Approx(5.0 / 3.0));
  REQUIRE(init::calculate_gain(init::Nonlinearity::LeakyRelu, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  REQUIRE(init::calculate_gain(init::Nonlinearity::Linear) == 1.0);

  // [200, 100, 3, 3]: fan_in 900, fan_out 1800, 180000 draws (std estimates good to ~0.3%).
  Tensor w = zeros({200, 100, 3, 3}).set_requires_grad(true);
  auto check_uniform = [&](double bound) {
    const std::vector<double> v = w.to_vector<double>();
    for (double x : v) REQUIRE(std::abs(x) <= bound * (1 + 1e-6));
    REQUIRE(sample_mean(v) == Approx(0.0).margin(0.01 * bound));
    REQUIRE(sample_std(v) == Approx(bound / std::sqrt(3.0)).epsilon(0.01));
  };
  auto check_normal = [&](double stddev) {
    const std::vector<double> v = w.to_vector<double>();
    REQUIRE(sample_mean(v) == Approx(0.0).margin(0.01 * stddev));
    REQUIRE(sample_std(v) == Approx(stddev).epsilon(0.01));
  };
  init::uniform_(w, -0.3, 0.3, &gen);  // works on a tensor that requires grad
  check_uniform(0.3);
  init::kaiming_uniform_(w, 0.0, init::FanMode::FanIn, init::Nonlinearity::Relu, &gen);
  check_uniform(std::sqrt(2.0) * std::sqrt(3.0 / 900.0));
  init::kaiming_normal_(w, 0.0, init::FanMode::FanOut, init::Nonlinearity::Relu, &gen);
  check_normal(std::sqrt(2.0) / std::sqrt(1800.0));
  init::xavier_uniform_(w, 2.0, &gen);
  check_uniform(2.0 * std::sqrt(6.0 / 2700.0));
  init::xavier_normal_(w, 1.0, &gen);
  check_normal(std::sqrt(2.0 / 2700.0));
  init::normal_(w, 3.0, 0.5, &gen);
  REQUIRE(sample_mean(w.to_vector<double>()) == Approx(3.0).epsilon(0.001));
  init::constant_(w, 0.25);
  require_values(w, std::vector<double>(180000, 0.25), 0.0);
  init::zeros_(w);
  REQUIRE(sample_std(w.to_vector<double>()) == 0.0);
  init::ones_(w);
  REQUIRE(sample_mean(w.to_vector<double>()) == 1.0);
  REQUIRE(w.requires_grad());

  // Same generator state, same draw.
  Tensor a = zeros({10}), b = zeros({10});
  Generator g1(99), g2(99);
  init::normal_(a, 0, 1, &g1);
  init::normal_(b, 0, 1, &g2);
  REQUIRE(a.to_vector<float>() == b.to_vector<float>());
  require_error([&] { init::normal_(a, 0, -1); }, {"normal_", "stddev", "-1"});
  require_error([&] { init::uniform_(a, 1, 0); }, {"uniform_", "low"});
  require_error([&] { init::kaiming_uniform_(a); }, {"calculate_fan_in_and_fan_out", "[10]"});
  Tensor ints = from_vector(std::vector<int64_t>{1, 2}, {2});
  require_error([&] { init::ones_(ints); }, {"constant_", "int64"});
}

TEST_CASE("Conv2d computes a cross-correlation plus bias and has PyTorch's default init", "[nn]") {
  Conv2d conv(1, 1, {2, 2});
  set_values(conv.weight, {1, 2, 3, 4});
  set_values(conv.bias, {0.5});
  Tensor x = tensor32({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  require_values(conv.forward(x), {37.5, 47.5, 67.5, 77.5});

  Generator gen(14);
  Conv2d strided(4, 8, {3, 3}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 2}, &gen);
  REQUIRE(strided.weight.shape() == Shape{8, 2, 3, 3});
  REQUIRE(strided.forward(zeros({2, 4, 8, 8})).shape() == Shape{2, 8, 4, 4});
  const double bound = 1.0 / std::sqrt(18.0);  // fan_in = (4 / 2) * 3 * 3
  for (double v : strided.weight.to_vector<double>()) REQUIRE(std::abs(v) <= bound);
  for (double v : strided.bias.to_vector<double>()) REQUIRE(std::abs(v) <= bound);
  REQUIRE_FALSE(Conv2d(2, 2, {1, 1}, {.bias = false}).bias.defined());

  require_error([&] { strided.forward(zeros({2, 3, 8, 8})); }, {"Conv2d", "[N, 4, H, W]", "[2, 3, 8, 8]"});
  require_error([&] { Conv2d(3, 4, {3, 3}, {.groups = 2}); }, {"Conv2d", "groups (2)"});
  require_error([&] { Conv2d(3, 4, {0, 3}); }, {"Conv2d", "kernel_size"});
}

TEST_CASE("ConvTranspose2d scatters each input through the kernel; gradcheck of both conv layers", "[nn]") {
  ConvTranspose2d deconv(1, 1, {2, 2});
  set_values(deconv.weight, {1, 2, 3, 4});
  set_values(deconv.bias, {1.0});
  // Input [1, 2] spreads x0 * W over columns 0-1 and x1 * W over columns 1-2.
  require_values(deconv.forward(tensor32({1, 2}, {1, 1, 1, 2})), {2, 5, 5, 4, 11, 9});

  Generator gen(15);
  ConvTranspose2d up(2, 3, {4, 4}, {.stride = {2, 2}, .padding = {1, 1}}, &gen);
  REQUIRE(up.weight.shape() == Shape{2, 3, 4, 4});
  REQUIRE(up.forward(zeros({1, 2, 5, 5})).shape() == Shape{1, 3, 10, 10});
  const double bound = 1.0 / std::sqrt(48.0);  // PyTorch's fan_in here is size(1) * kH * kW
  for (double v : up.weight.to_vector<double>()) REQUIRE(std::abs(v) <= bound);
  require_error([&] { up.forward(zeros({1, 3, 5, 5})); }, {"ConvTranspose2d", "[N, 2, H, W]"});
  require_error([&] { ConvTranspose2d(2, 3, {3, 3}, {.output_padding = {1, 1}}); },
                {"ConvTranspose2d", "output_padding"});

  Conv2d conv(4, 2, {3, 3}, {.stride = {2, 1}, .padding = {1, 0}, .groups = 2}, &gen);
  conv.to(DType::Float64);
  require_gradcheck([&](const std::vector<Tensor>& in) { return conv.forward(in[0]); },
                    {leaf64({2, 4, 5, 4}, 150), conv.weight, conv.bias});
  up.to(DType::Float64);
  require_gradcheck([&](const std::vector<Tensor>& in) { return up.forward(in[0]); },
                    {leaf64({1, 2, 3, 3}, 151), up.weight, up.bias});
}
