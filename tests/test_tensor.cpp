// Tensors themselves: creation, geometry of views, dtype handling, random generators, printing.
#include <algorithm>
#include <cmath>
#include <limits>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

TEST_CASE("factories fill shape, dtype and values", "[tensor]") {
  Tensor z = zeros({2, 3});
  REQUIRE(z.shape() == Shape{2, 3});
  REQUIRE(z.strides() == Shape{3, 1});
  REQUIRE(z.dtype() == DType::Float32);
  REQUIRE(z.device() == Device::cpu());
  REQUIRE(z.is_contiguous());
  require_values(z, {0, 0, 0, 0, 0, 0});
  require_values(ones({2}, {DType::Int64}), {1, 1});
  require_values(full({2, 2}, -1.5, {DType::Float64}), {-1.5, -1.5, -1.5, -1.5});
  Tensor like = full_like(tensor64({1, 2}, {2}), 7);
  REQUIRE(like.dtype() == DType::Float64);
  require_values(like, {7, 7});
  require_values(zeros_like(like), {0, 0});
  require_values(ones_like(like), {1, 1});
  REQUIRE(empty_like(like).shape() == Shape{2});
  Tensor s = scalar_tensor(2.5);
  REQUIRE(s.dim() == 0);
  REQUIRE(s.numel() == 1);
  REQUIRE(s.item<float>() == 2.5f);
  REQUIRE(zeros({0, 4}).numel() == 0);
  REQUIRE(zeros({}).numel() == 1);
}

TEST_CASE("arange, linspace, eye", "[tensor]") {
  Tensor a = arange(5);
  REQUIRE(a.dtype() == DType::Int64);
  REQUIRE(a.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  require_values(arange(1, 2, 0.25, {DType::Float64}), {1, 1.25, 1.5, 1.75});
  REQUIRE(arange(5, 0, -2).to_vector<int64_t>() == std::vector<int64_t>{5, 3, 1});
  REQUIRE(arange(3, 3).numel() == 0);
  REQUIRE(arange(0, 0.3, 0.1, {DType::Float64}).numel() == 3);
  require_values(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1});
  const std::vector<double> l = linspace(-1, 2, 7, {DType::Float64}).to_vector<double>();
  REQUIRE(l.front() == -1);
  REQUIRE(l.back() == 2);  // exact endpoint
  require_values(linspace(3, 9, 1), {3});  // a single step is the start, as NumPy
  REQUIRE(linspace(0, 1, 0).numel() == 0);
  require_values(eye(3), {1, 0, 0, 0, 1, 0, 0, 0, 1});
  REQUIRE(eye(2, {DType::Int64}).dtype() == DType::Int64);
  require_error([] { arange(0, 1, 0); }, {"arange", "step"});
  require_error([] { arange(0, INFINITY); }, {"arange", "finite"});
  require_error([] { linspace(0, 1, -1); }, {"linspace", "-1"});
  require_error([] { eye(-2); }, {"eye", "-2"});
}

TEST_CASE("from_vector, from_blob, item and to_vector", "[tensor]") {
  Tensor f = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  REQUIRE(f.dtype() == DType::Float32);
  Tensor i = from_vector(std::vector<int64_t>{5, -6}, {2});
  REQUIRE(i.dtype() == DType::Int64);
  const double raw[3] = {0.5, 1.5, 2.5};
  Tensor b = from_blob(raw, {3}, DType::Float64);
  require_values(b, {0.5, 1.5, 2.5});
  REQUIRE(b.data_ptr<double>() != raw);  // a copy
  REQUIRE(i.to_vector<double>() == std::vector<double>{5, -6});
  REQUIRE(f.to_vector<int>() == std::vector<int>{1, 2, 3, 4});
  REQUIRE(select(i, 0, 1).item<int64_t>() == -6);
  require_error([] { from_vector(std::vector<double>{1, 2, 3}, {2, 2}); }, {"from_vector", "3 values", "[2, 2]"});
  require_error([&] { f.item<float>(); }, {"item", "[2, 2]", "4 elements"});
  require_error([&] { f.data_ptr<double>(); }, {"data_ptr", "float32", "float64"});
  require_error([] { Tensor::empty({2, -1}); }, {"empty", "negative", "[2, -1]"});
  require_error([] { Tensor::empty(Shape(9, 1)); }, {"empty", "9 dims", "8"});
  require_error([] { Tensor().shape(); }, {"shape", "undefined"});
  require_error([] { zeros({2}, {DType::Float32, Device::cuda()}); }, {"cuda:0", "not available"});
}

TEST_CASE("views share storage and have the expected strides and offsets", "[tensor]") {
  Tensor x = reshape(arange(0, 24, 1, {DType::Float64}), {2, 3, 4});
  Tensor v = slice(select(x, 0, 1), 1, 1, 4, 2);  // x[1, :, 1::2]
  REQUIRE(v.storage() == x.storage());
  REQUIRE(v.shape() == Shape{3, 2});
  REQUIRE(v.strides() == Shape{4, 2});
  REQUIRE(v.offset() == 13);
  require_values(v, {13, 15, 17, 19, 21, 23});
  REQUIRE_FALSE(v.is_contiguous());
  // A write through a view is seen by the base.
  fill_(v, -1.0);
  REQUIRE(x.to_vector<double>()[13] == -1);
  REQUIRE(x.to_vector<double>()[14] == 14);
  // detach shares storage; clone does not.
  REQUIRE(x.detach().storage() == x.storage());
  REQUIRE(clone(x).storage() != x.storage());
  REQUIRE(x.size(-1) == 4);
  require_error([&] { x.size(3); }, {"size", "dim 3", "rank 3"});
}

TEST_CASE("dtype handling: casts, requires_grad only for floats, mixed dtypes rejected", "[tensor]") {
  Tensor i = from_vector(std::vector<int64_t>{1, 2}, {2});
  require_error([&] { i.set_requires_grad(true); }, {"requires_grad", "floating-point", "int64"});
  Tensor f = to_dtype(i, DType::Float32);
  REQUIRE(f.dtype() == DType::Float32);
  require_values(f, {1, 2});
  REQUIRE(std::string(dtype_name(DType::Bool)) == "bool");
  REQUIRE(dtype_size(DType::Float64) == 8);
  require_error([&] { add(f, i); }, {"add", "float32", "int64"});
  Tensor big = to_dtype(tensor64({1e40, -1e40}, {2}), DType::Float32);
  REQUIRE(std::isinf(big.to_vector<double>()[0]));
}

// --- random ---

TEST_CASE("the same seed gives the same tensors, a different seed different ones", "[tensor][random]") {
  Generator g1(1234), g2(1234), g3(99);
  const std::vector<double> a = randn({1000}, {DType::Float64}, &g1).to_vector<double>();
  const std::vector<double> b = randn({1000}, {DType::Float64}, &g2).to_vector<double>();
  REQUIRE(a == b);
  REQUIRE(a != randn({1000}, {DType::Float64}, &g3).to_vector<double>());
  // Successive draws differ; manual_seed restarts the stream.
  const std::vector<double> c = randn({1000}, {DType::Float64}, &g1).to_vector<double>();
  REQUIRE(a != c);
  g1.manual_seed(1234);
  REQUIRE(randn({1000}, {DType::Float64}, &g1).to_vector<double>() == a);
  // The default generator too.
  manual_seed(7);
  const std::vector<float> d = rand({10}).to_vector<float>();
  manual_seed(7);
  REQUIRE(rand({10}).to_vector<float>() == d);
  // float32 draws are the float64 draws rounded.
  Generator h1(5), h2(5);
  const std::vector<double> r64 = rand({100}, {DType::Float64}, &h1).to_vector<double>();
  const std::vector<float> r32 = rand({100}, {DType::Float32}, &h2).to_vector<float>();
  for (size_t k = 0; k < r64.size(); ++k) REQUIRE(r32[k] == static_cast<float>(r64[k]));
}

TEST_CASE("rand, randn, uniform, normal have the right ranges and moments", "[tensor][random]") {
  Generator gen(2024);
  const int n = 100000;
  const std::vector<double> u = rand({n}, {DType::Float64}, &gen).to_vector<double>();
  double mn = 1, mx = 0, sum = 0;
  for (double v : u) mn = std::min(mn, v), mx = std::max(mx, v), sum += v;
  REQUIRE(mn > 0);
  REQUIRE(mx < 1);
  // U(0,1): mean 1/2, sd 1/sqrt(12): the sample mean's sd is 0.00091; allow 5 sd.
  REQUIRE(std::abs(sum / n - 0.5) < 5 * 0.2887 / std::sqrt(n));

  const std::vector<double> z = randn({n}, {DType::Float64}, &gen).to_vector<double>();
  double zs = 0, zz = 0;
  for (double v : z) zs += v, zz += v * v;
  const double mean = zs / n, sd = std::sqrt(zz / n - mean * mean);
  REQUIRE(std::abs(mean) < 5 / std::sqrt(n));
  REQUIRE(std::abs(sd - 1) < 5 * std::sqrt(0.5 / n));  // sd of the sample sd is ~ 1/sqrt(2n)

  const std::vector<double> w = uniform({n}, -2, 6, {DType::Float64}, &gen).to_vector<double>();
  REQUIRE(*std::min_element(w.begin(), w.end()) >= -2);
  REQUIRE(*std::max_element(w.begin(), w.end()) < 6);
  const std::vector<double> g = normal({n}, 3, 0.5, {DType::Float64}, &gen).to_vector<double>();
  double gs = 0;
  for (double v : g) gs += v;
  REQUIRE(std::abs(gs / n - 3) < 5 * 0.5 / std::sqrt(n));
  require_error([&] { uniform({2}, 1, 0); }, {"uniform", "low", "high"});
  require_error([&] { normal({2}, 0, -1); }, {"normal", "stddev", "-1"});
  require_error([&] { rand({2}, {DType::Int64}); }, {"uniform", "floating", "int64"});
}

TEST_CASE("randint, bernoulli, randperm", "[tensor][random]") {
  Generator gen(77);
  const int n = 100000;
  const std::vector<int64_t> r = randint(-3, 4, {n}, {DType::Int64}, &gen).to_vector<int64_t>();
  std::vector<int> counts(7, 0);
  for (int64_t v : r) {
    REQUIRE(v >= -3);
    REQUIRE(v < 4);
    ++counts[v + 3];
  }
  // Each of the 7 values has probability 1/7: count sd ~ 111; allow 5 sd.
  for (int c : counts) REQUIRE(std::abs(c - n / 7.0) < 5 * std::sqrt(n * (1 / 7.0) * (6 / 7.0)));
  REQUIRE(randint(0, 5, {3}, {DType::Float32}, &gen).dtype() == DType::Float32);
  require_error([&] { randint(3, 3, {2}); }, {"randint", "3"});

  const std::vector<double> b = bernoulli({n}, 0.3, {DType::Float64}, &gen).to_vector<double>();
  double ones_count = 0;
  for (double v : b) {
    REQUIRE((v == 0 || v == 1));
    ones_count += v;
  }
  REQUIRE(std::abs(ones_count / n - 0.3) < 5 * std::sqrt(0.3 * 0.7 / n));
  // Per-element probabilities, including the certain ones.
  const std::vector<double> pb = bernoulli(tensor64({0, 1, 0, 1}, {4}), &gen).to_vector<double>();
  REQUIRE(pb == std::vector<double>{0, 1, 0, 1});
  require_error([&] { bernoulli({2}, 1.5); }, {"bernoulli", "1.5"});
  require_error([&] { bernoulli(ones({2}, {DType::Int64})); }, {"bernoulli", "int64"});

  std::vector<int64_t> perm = randperm(1000, &gen).to_vector<int64_t>();
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t k = 0; k < 1000; ++k) REQUIRE(sorted[k] == k);
  REQUIRE(perm != sorted);  // the chance of the identity is 1/1000!
  REQUIRE(randperm(0, &gen).numel() == 0);
  REQUIRE(randperm(1, &gen).to_vector<int64_t>() == std::vector<int64_t>{0});
}

TEST_CASE("random tensors do not depend on the thread count", "[tensor][random]") {
  ThreadCountGuard guard;
  auto draw = [] {
    Generator gen(31);
    std::vector<double> out = randn({200000}, {DType::Float64}, &gen).to_vector<double>();
    const std::vector<double> u = rand({70001}, {DType::Float32}, &gen).to_vector<double>();
    out.insert(out.end(), u.begin(), u.end());
    const std::vector<double> i = randint(0, 1000, {50000}, {DType::Int64}, &gen).to_vector<double>();
    out.insert(out.end(), i.begin(), i.end());
    // Reductions split work across threads deterministically, too.
    out.push_back(sum(randn({300000}, {DType::Float32}, &gen)).item<double>());
    return out;
  };
  set_num_threads(1);
  const std::vector<double> one = draw();
  set_num_threads(2);
  const std::vector<double> two = draw();
  REQUIRE(one == two);
  REQUIRE(get_num_threads() == 2);
  require_error([] { set_num_threads(0); }, {"set_num_threads", "0"});
}

// --- printing ---

TEST_CASE("str() shows values, shape, dtype and device", "[tensor]") {
  const std::string s = tensor64({1, 2.5, -3, 4}, {2, 2}).str();
  INFO(s);
  REQUIRE(s.find("[[1, 2.5],") != std::string::npos);
  REQUIRE(s.find("[-3, 4]]") != std::string::npos);
  REQUIRE(s.find("shape=[2, 2]") != std::string::npos);
  REQUIRE(s.find("dtype=float64") != std::string::npos);
  REQUIRE(s.find("device=cpu") != std::string::npos);
  REQUIRE(s.find("requires_grad") == std::string::npos);
  REQUIRE(scalar_tensor(3.0, {DType::Int64}).str() == "tensor(3, shape=[], dtype=int64, device=cpu)");
  REQUIRE(gt(tensor64({1, -1}, {2}), 0.0).str() == "tensor([true, false], shape=[2], dtype=bool, device=cpu)");
  REQUIRE(zeros({0}).str() == "tensor([], shape=[0], dtype=float32, device=cpu)");
  REQUIRE(Tensor().str() == "tensor(undefined)");
  REQUIRE(leaf64({1}, 1).str().find("requires_grad=true") != std::string::npos);
  // A transposed tensor prints in logical order.
  REQUIRE(transpose(tensor64({1, 2, 3, 4}, {2, 2}), 0, 1).str().find("[[1, 3],") != std::string::npos);
  std::ostringstream os;
  os << arange(3);
  REQUIRE(os.str() == "tensor([0, 1, 2], shape=[3], dtype=int64, device=cpu)");
}

TEST_CASE("str() truncates large tensors", "[tensor]") {
  const std::string s = arange(1000).str();
  INFO(s);
  REQUIRE(s == "tensor([0, 1, 2, ..., 997, 998, 999], shape=[1000], dtype=int64, device=cpu)");
  const std::string m = reshape(arange(400), {20, 20}).str();
  INFO(m);
  REQUIRE(m.size() < 400);
  REQUIRE(m.find("...") != std::string::npos);
  REQUIRE(m.find("[0, 1, 2, ..., 17, 18, 19]") != std::string::npos);
  REQUIRE(m.find("[380, 381, 382, ..., 397, 398, 399]]") != std::string::npos);
  REQUIRE(m.find("[60,") == std::string::npos);  // the middle rows are elided
}

TEST_CASE("empty tensors count as contiguous whatever their zero-size dim", "[tensor]") {
  REQUIRE(empty({4, 0}).is_contiguous());
  REQUIRE(empty({0, 3, 2}).is_contiguous());
  REQUIRE(transpose(empty({4, 0}), 0, 1).is_contiguous());
  REQUIRE(empty({4, 0}).view().is_contiguous());
}
