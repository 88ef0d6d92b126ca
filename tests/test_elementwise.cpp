// Elementwise ops: forward values (broadcasting, strided and empty inputs), gradients, bad input.
#include <cmath>
#include <functional>
#include <limits>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

// Plain row-major values of a [rows, cols] grid given by f(i, j).
std::vector<double> grid(int64_t rows, int64_t cols, const std::function<double(int64_t, int64_t)>& f) {
  std::vector<double> v;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) v.push_back(f(i, j));
  return v;
}

const double kInf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("binary arithmetic on equal shapes", "[elementwise]") {
  Tensor a = tensor64({1, -2, 3, 4.5}, {2, 2});
  Tensor b = tensor64({2, 4, -1, 0.5}, {2, 2});
  require_values(add(a, b), {3, 2, 2, 5});
  require_values(sub(a, b), {-1, -6, 4, 4});
  require_values(mul(a, b), {2, -8, -3, 2.25});
  require_values(div(a, b), {0.5, -0.5, -3, 9});
  require_values(maximum(a, b), {2, 4, 3, 4.5});
  require_values(minimum(a, b), {1, -2, -1, 0.5});
  require_values(a + b, {3, 2, 2, 5});
  require_values(a - b, {-1, -6, 4, 4});
  require_values(a * b, {2, -8, -3, 2.25});
  require_values(a / b, {0.5, -0.5, -3, 9});
  require_values(-a, {-1, 2, -3, -4.5});
  Tensor base = tensor64({2, 9, 0.25, 1}, {2, 2});
  Tensor ex = tensor64({3, 0.5, -1, 7}, {2, 2});
  require_values(pow(base, ex), {8, 3, 4, 1});
}

TEST_CASE("binary ops broadcast [3,1] with [1,4], [4] with [2,3,4] and 0-dim with anything", "[elementwise]") {
  Tensor col = tensor64({1, 2, 3}, {3, 1});
  Tensor row = tensor64({10, 20, 30, 40}, {1, 4});
  Tensor s = add(col, row);
  REQUIRE(s.shape() == Shape{3, 4});
  require_values(s, grid(3, 4, [](int64_t i, int64_t j) { return (i + 1) + 10.0 * (j + 1); }));
  require_values(sub(col, row), grid(3, 4, [](int64_t i, int64_t j) { return (i + 1) - 10.0 * (j + 1); }));
  require_values(div(row, col), grid(3, 4, [](int64_t i, int64_t j) { return 10.0 * (j + 1) / (i + 1); }));
  require_values(maximum(col, tensor64({0, 1.5, 2.5, 4}, {1, 4})),
                 grid(3, 4, [](int64_t i, int64_t j) { return std::max<double>(i + 1, std::vector<double>{0, 1.5, 2.5, 4}[j]); }));

  Tensor v = tensor64({1, 2, 3, 4}, {4});
  Tensor big = from_vector(std::vector<double>(24, 0.5), {2, 3, 4});
  Tensor m = mul(big, v);
  REQUIRE(m.shape() == Shape{2, 3, 4});
  std::vector<double> expected;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) expected.push_back(0.5 * (j + 1));
  require_values(m, expected);
  require_values(mul(v, big), expected);  // the same with the operands swapped

  Tensor z = scalar_tensor(2.0, {DType::Float64});
  REQUIRE(add(z, big).shape() == Shape{2, 3, 4});
  require_values(sub(z, v), {1, 0, -1, -2});
  require_values(pow(v, z), {1, 4, 9, 16});
  Tensor zz = mul(z, scalar_tensor(3.0, {DType::Float64}));
  REQUIRE(zz.dim() == 0);
  REQUIRE(zz.item<double>() == 6.0);
}

TEST_CASE("binary ops read transposed, stepped and expanded operands", "[elementwise]") {
  // a is [3,4] seen through a transpose of a contiguous [4,3].
  Tensor base = arange(0, 12, 1, {DType::Float64});
  Tensor a = transpose(reshape(base, {4, 3}), 0, 1);  // a[i][j] = 3j + i
  REQUIRE_FALSE(a.is_contiguous());
  Tensor b = slice(reshape(arange(0, 24, 1, {DType::Float64}), {3, 8}), 1, 0, 8, 2);  // b[i][j] = 8i + 2j
  REQUIRE_FALSE(b.is_contiguous());
  require_values(add(a, b), grid(3, 4, [](int64_t i, int64_t j) { return 3.0 * j + i + 8.0 * i + 2.0 * j; }));
  require_values(mul(a, b), grid(3, 4, [](int64_t i, int64_t j) { return (3.0 * j + i) * (8.0 * i + 2.0 * j); }));
  Tensor e = expand(tensor64({1, 2, 3}, {3, 1}), {3, 4});
  require_values(sub(e, a), grid(3, 4, [](int64_t i, int64_t j) { return (i + 1) - (3.0 * j + i); }));
  // A transposed operand with a broadcast one: strides differ in every operand.
  require_values(add(a, tensor64({100, 200, 300, 400}, {4})),
                 grid(3, 4, [](int64_t i, int64_t j) { return 3.0 * j + i + 100.0 * (j + 1); }));
}

TEST_CASE("elementwise ops over a tensor large enough to run in parallel", "[elementwise]") {
  // 300 x 257 transposed crosses the parallel grain and its runs do not align with rows.
  Tensor x = transpose(reshape(arange(0, 300 * 257, 1, {DType::Float64}), {300, 257}), 0, 1);
  Tensor y = add(x, tensor64({0.5}, {1}));
  const std::vector<double> got = y.to_vector<double>();
  REQUIRE(got.size() == 300u * 257u);
  bool all = true;
  for (int64_t i = 0; i < 257; ++i)
    for (int64_t j = 0; j < 300; ++j) all = all && got[i * 300 + j] == static_cast<double>(j * 257 + i) + 0.5;
  REQUIRE(all);
}

TEST_CASE("size-1 dims and empty tensors", "[elementwise]") {
  Tensor a = tensor64({5}, {1, 1, 1});
  Tensor b = tensor64({1, 2}, {1, 2, 1});
  Tensor c = add(a, b);
  REQUIRE(c.shape() == Shape{1, 2, 1});
  require_values(c, {6, 7});

  Tensor e = zeros({0, 3}, {DType::Float64});
  Tensor r = add(e, tensor64({1, 2, 3}, {3}));
  REQUIRE(r.shape() == Shape{0, 3});
  REQUIRE(r.numel() == 0);
  REQUIRE(exp(e).shape() == Shape{0, 3});
  REQUIRE(mul(e, 2.0).numel() == 0);
  REQUIRE(gt(e, 0.0).shape() == Shape{0, 3});
  // [0] broadcasts against [1] but not against [2].
  REQUIRE(add(zeros({0}), ones({1})).shape() == Shape{0});
  require_error([] { add(zeros({0}), ones({2})); }, {"add", "[0]", "[2]"});
}

TEST_CASE("scalar arithmetic", "[elementwise]") {
  Tensor x = tensor64({1, -2, 4}, {3});
  require_values(add(x, 1.5), {2.5, -0.5, 5.5});
  require_values(sub(x, 1.0), {0, -3, 3});
  require_values(rsub(1.0, x), {0, 3, -3});
  require_values(mul(x, -2.0), {-2, 4, -8});
  require_values(div(x, 4.0), {0.25, -0.5, 1});
  require_values(rdiv(2.0, x), {2, -1, 0.5});
  require_values(pow(x, 3.0), {1, -8, 64});
  require_values(pow(x, 2.0), {1, 4, 16});
  require_values(pow(tensor64({4, 9}, {2}), 0.5), {2, 3});
  require_values(pow(2.0, x), {2, 0.25, 16});
  require_values(x + 1.0, {2, -1, 5});
  require_values(1.0 + x, {2, -1, 5});
  require_values(x - 1.0, {0, -3, 3});
  require_values(1.0 - x, {0, 3, -3});
  require_values(x * 2.0, {2, -4, 8});
  require_values(2.0 * x, {2, -4, 8});
  require_values(x / 2.0, {0.5, -1, 2});
  require_values(2.0 / x, {2, -1, 0.5});
  // Integer tensors keep their dtype; scalars adopt it.
  Tensor i = from_vector(std::vector<int64_t>{1, -2, 7}, {3});
  Tensor r = add(mul(i, 3.0), 1.0);
  REQUIRE(r.dtype() == DType::Int64);
  REQUIRE(r.to_vector<int64_t>() == std::vector<int64_t>{4, -5, 22});
  REQUIRE(neg(i).to_vector<int64_t>() == std::vector<int64_t>{-1, 2, -7});
}

TEST_CASE("unary math against std:: on a transposed input", "[elementwise]") {
  // Positive values in (0.1, 2.1), seen through a transpose.
  Generator gen(7);
  Tensor base = add(mul(rand({4, 5}, {DType::Float64}, &gen), 2.0), 0.1);
  Tensor x = transpose(base, 0, 1);
  const std::vector<double> xs = x.to_vector<double>();
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<double(double)> ref;
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& t) { return neg(t); }, [](double v) { return -v; }},
      {"exp", [](const Tensor& t) { return exp(t); }, [](double v) { return std::exp(v); }},
      {"log", [](const Tensor& t) { return log(t); }, [](double v) { return std::log(v); }},
      {"log1p", [](const Tensor& t) { return log1p(t); }, [](double v) { return std::log1p(v); }},
      {"expm1", [](const Tensor& t) { return expm1(t); }, [](double v) { return std::expm1(v); }},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }, [](double v) { return std::sqrt(v); }},
      {"rsqrt", [](const Tensor& t) { return rsqrt(t); }, [](double v) { return 1 / std::sqrt(v); }},
      {"square", [](const Tensor& t) { return square(t); }, [](double v) { return v * v; }},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); }, [](double v) { return 1 / v; }},
      {"abs(-x)", [](const Tensor& t) { return abs(neg(t)); }, [](double v) { return v; }},
      {"sign(x - 1)", [](const Tensor& t) { return sign(sub(t, 1.0)); },
       [](double v) { return static_cast<double>((v > 1) - (v < 1)); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<double> expected;
    for (double v : xs) expected.push_back(c.ref(v));
    Tensor y = c.op(x);
    REQUIRE(y.shape() == Shape{5, 4});
    require_values(y, expected, 1e-12);
  }
  // float32 gives the same values to float precision.
  require_values(exp(to_dtype(x, DType::Float32)), exp(x).to_vector<double>(), 1e-6);
}

TEST_CASE("unary special values", "[elementwise]") {
  Tensor z = tensor64({0.0, -1.0}, {2});
  const std::vector<double> l = log(z).to_vector<double>();
  REQUIRE(l[0] == -kInf);
  REQUIRE(std::isnan(l[1]));
  require_values(abs(tensor64({-0.0, -3, 3}, {3})), {0, 3, 3});
  require_values(sign(tensor64({0, -3, 3}, {3})), {0, -1, 1});
  Tensor i = from_vector(std::vector<int64_t>{-3, 0, 5}, {3});
  REQUIRE(abs(i).to_vector<int64_t>() == std::vector<int64_t>{3, 0, 5});
  REQUIRE(sign(i).to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 1});
  REQUIRE(square(i).to_vector<int64_t>() == std::vector<int64_t>{9, 0, 25});
}

TEST_CASE("clamp, clamp_min, clamp_max", "[elementwise]") {
  Tensor x = tensor64({-3, -1, 0, 2, 5}, {5});
  require_values(clamp(x, -1.5, 2.5), {-1.5, -1, 0, 2, 2.5});
  require_values(clamp_min(x, 0.0), {0, 0, 0, 2, 5});
  require_values(clamp_max(x, 0.0), {-3, -1, 0, 0, 0});
  require_values(clamp(x, 1.0, 1.0), {1, 1, 1, 1, 1});
  // One-sided clamps of integer tensors: the infinite bound means "no bound".
  Tensor i = from_vector(std::vector<int64_t>{-7, 0, 9}, {3});
  REQUIRE(clamp_min(i, -2.0).to_vector<int64_t>() == std::vector<int64_t>{-2, 0, 9});
  REQUIRE(clamp_max(i, 3.0).to_vector<int64_t>() == std::vector<int64_t>{-7, 0, 3});
  // Strided input.
  Tensor s = slice(tensor64({-3, 100, -1, 100, 0, 100, 2, 100}, {8}), 0, 0, 8, 2);
  require_values(clamp(s, -2.0, 1.0), {-2, -1, 0, 1});
  require_error([&] { clamp(x, 2.0, 1.0); }, {"clamp", "2", "1"});
}

TEST_CASE("where broadcasts all three operands", "[elementwise]") {
  Tensor cond = gt(tensor64({1, -1, 2}, {3, 1}), 0.0);  // [3,1]: true, false, true
  Tensor a = tensor64({10, 20}, {1, 2});
  Tensor b = scalar_tensor(-5.0, {DType::Float64});
  Tensor w = where(cond, a, b);
  REQUIRE(w.shape() == Shape{3, 2});
  require_values(w, {10, 20, -5, -5, 10, 20});
  // Transposed condition.
  Tensor c2 = transpose(gt(tensor64({1, -1, -1, 1}, {2, 2}), 0.0), 0, 1);  // [[T, F], [F, T]]^T
  require_values(where(c2, tensor64({1, 2, 3, 4}, {2, 2}), tensor64({-1, -2, -3, -4}, {2, 2})), {1, -2, -3, 4});
  require_error([&] { where(tensor64({1}, {1}), a, a); }, {"where", "bool", "float64"});
  require_error([&] { where(cond, a, tensor32({1}, {1})); }, {"where", "float64", "float32"});
  require_error([&] { where(cond, a, tensor64({1, 2, 3}, {3})); }, {"where", "[3]"});
}

TEST_CASE("comparisons and logic give bool tensors", "[elementwise]") {
  Tensor a = tensor64({1, 2, 3}, {3});
  Tensor b = tensor64({2, 2, 2}, {3});
  auto bools = [](const Tensor& t) {
    REQUIRE(t.dtype() == DType::Bool);
    return t.to_vector<int64_t>();
  };
  using V = std::vector<int64_t>;
  REQUIRE(bools(eq(a, b)) == V{0, 1, 0});
  REQUIRE(bools(ne(a, b)) == V{1, 0, 1});
  REQUIRE(bools(lt(a, b)) == V{1, 0, 0});
  REQUIRE(bools(le(a, b)) == V{1, 1, 0});
  REQUIRE(bools(gt(a, b)) == V{0, 0, 1});
  REQUIRE(bools(ge(a, b)) == V{0, 1, 1});
  REQUIRE(bools(eq(a, 2.0)) == V{0, 1, 0});
  REQUIRE(bools(ne(a, 2.0)) == V{1, 0, 1});
  REQUIRE(bools(lt(a, 2.0)) == V{1, 0, 0});
  REQUIRE(bools(le(a, 2.0)) == V{1, 1, 0});
  REQUIRE(bools(gt(a, 2.0)) == V{0, 0, 1});
  REQUIRE(bools(ge(a, 2.0)) == V{0, 1, 1});
  // Broadcast comparison [3,1] vs [1,3].
  REQUIRE(bools(lt(reshape(a, {3, 1}), reshape(a, {1, 3}))) == V{0, 1, 1, 0, 0, 1, 0, 0, 0});
  Tensor p = gt(a, 1.5), q = lt(a, 2.5);  // F T T, T T F
  REQUIRE(bools(logical_and(p, q)) == V{0, 1, 0});
  REQUIRE(bools(logical_or(p, q)) == V{1, 1, 1});
  REQUIRE(bools(logical_not(p)) == V{1, 0, 0});
  REQUIRE(bools(eq(p, q)) == V{0, 1, 0});
  // Integer comparisons.
  Tensor i = from_vector(std::vector<int64_t>{-1, 0, 1}, {3});
  REQUIRE(bools(gt(i, 0.0)) == V{0, 0, 1});
  // A fractional scalar is not truncated to the tensor's integer type first.
  REQUIRE(bools(lt(i, 0.5)) == V{1, 1, 0});
  REQUIRE(bools(ge(i, -0.5)) == V{0, 1, 1});
  REQUIRE(bools(eq(i, 0.5)) == V{0, 0, 0});
  // Comparisons record no graph.
  Tensor x = leaf64({3}, 1);
  REQUIRE_FALSE(gt(x, 0.0).requires_grad());
  REQUIRE_FALSE(eq(x, x).requires_grad());
}

TEST_CASE("integer division rounds toward negative infinity and rejects zero", "[elementwise]") {
  Tensor a = from_vector(std::vector<int64_t>{7, -7, 7, -7, 6}, {5});
  Tensor b = from_vector(std::vector<int64_t>{2, 2, -2, -2, 3}, {5});
  REQUIRE(div(a, b).to_vector<int64_t>() == std::vector<int64_t>{3, -4, -4, 3, 2});
  require_error([&] { div(a, zeros({5}, {DType::Int64})); }, {"div", "division by zero"});
}

TEST_CASE("to_dtype converts values and carries gradients between float types", "[elementwise]") {
  Tensor x = tensor64({1.75, -2.5, 3}, {3});
  Tensor i = to_dtype(x, DType::Int64);
  REQUIRE(i.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});  // truncation, as static_cast
  Tensor b = to_dtype(tensor64({0, 2, -1}, {3}), DType::Bool);
  REQUIRE(b.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  REQUIRE(to_dtype(b, DType::Float32).to_vector<float>() == std::vector<float>{0, 1, 1});
  Tensor f = to_dtype(transpose(tensor64({1, 2, 3, 4}, {2, 2}), 0, 1), DType::Float32);
  REQUIRE(f.dtype() == DType::Float32);
  require_values(f, {1, 3, 2, 4});
  REQUIRE(to_dtype(x, DType::Float64).impl() == x.impl());  // same dtype: no copy
  require_gradcheck([](const std::vector<Tensor>& in) { return to_dtype(mul(to_dtype(in[0], DType::Float32), 2.0), DType::Float64); },
                    {leaf64({3}, 4)}, {1e-3, 1e-3, 1e-3, 0});
}

TEST_CASE("in-place add_, mul_, fill_, zero_, copy_", "[elementwise]") {
  Tensor x = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  add_(x, tensor64({10, 20, 30}, {3}));
  require_values(x, {11, 22, 33, 14, 25, 36});
  add_(x, tensor64({1}, {1}), -2.0);
  require_values(x, {9, 20, 31, 12, 23, 34});
  mul_(x, 0.5);
  require_values(x, {4.5, 10, 15.5, 6, 11.5, 17});
  Tensor row = select(x, 0, 1);  // a view: writes land in x
  fill_(row, 7.0);
  require_values(x, {4.5, 10, 15.5, 7, 7, 7});
  Tensor col = select(x, 1, 0);  // strided view
  copy_(col, tensor64({-1, -2}, {2}));
  require_values(x, {-1, 10, 15.5, -2, 7, 7});
  copy_(x, tensor32({1, 2, 3}, {3}));  // broadcast and cast
  require_values(x, {1, 2, 3, 1, 2, 3});
  zero_(x);
  require_values(x, {0, 0, 0, 0, 0, 0});
  require_error([&] { add_(x, ones({3, 3}, {DType::Float64})); }, {"add_", "[3, 3]", "[2, 3]"});
  require_error([&] { add_(x, ones({3})); }, {"add_", "float64", "float32"});
  require_error([&] { copy_(x, ones({4})); }, {"copy_", "[4]", "[2, 3]"});
}

// --- gradients ---

TEST_CASE("gradients of binary arithmetic, with broadcasting", "[elementwise][grad]") {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
  };
  for (const auto& [name, op] : ops) {
    INFO(name);
    // Divisors are kept away from 0 (values around 2); the extrema see distinct values.
    Tensor a = leaf64({3, 1}, 11, 1.0, 0.3);
    Tensor b = leaf64({1, 4}, 12, 0.5, 2.0);
    auto fn = op;
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0], in[1]); }, {a, b});
    Tensor c = leaf64({4}, 13, 0.5, 2.0);
    Tensor d = leaf64({2, 3, 4}, 14);
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[1], in[0]); }, {c, d});
    Tensor s = leaf64({}, 15, 0.1, 1.7);
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0], in[1]); }, {s, leaf64({2, 2}, 16)});
  }
}

TEST_CASE("gradients of binary arithmetic on non-contiguous inputs", "[elementwise][grad]") {
  Tensor a = leaf64({4, 3}, 21);
  Tensor b = leaf64({3, 8}, 22, 0.5, 2.0);
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        Tensor at = transpose(in[0], 0, 1);          // [3, 4]
        Tensor bs = slice(in[1], 1, 1, 8, 2);         // [3, 4], stride 2
        return add(mul(at, bs), div(at, bs));
      },
      {a, b});
  Tensor c = leaf64({3, 1}, 23);
  require_gradcheck([](const std::vector<Tensor>& in) { return sub(expand(in[0], {3, 5}), maximum(in[0], mul(in[0], 0.5))); },
                    {c});
}

TEST_CASE("gradient of tensor pow with respect to base and exponent", "[elementwise][grad]") {
  Tensor base = leaf64({2, 3}, 31, 0.2, 1.5);  // positive bases
  Tensor ex = leaf64({3}, 32, 0.5);
  require_gradcheck([](const std::vector<Tensor>& in) { return pow(in[0], in[1]); }, {base, ex});
  require_gradcheck([](const std::vector<Tensor>& in) { return pow(transpose(in[0], 0, 1), in[1]); },
                    {leaf64({3, 2}, 33, 0.2, 1.5), leaf64({2, 1}, 34)});
}

TEST_CASE("gradients of scalar arithmetic", "[elementwise][grad]") {
  Tensor x = leaf64({2, 3}, 41, 0.3, 1.5);  // positive, away from 0
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops = {
      {"add", [](const Tensor& t) { return add(t, 2.5); }},
      {"sub", [](const Tensor& t) { return sub(t, 2.5); }},
      {"rsub", [](const Tensor& t) { return rsub(2.5, t); }},
      {"mul", [](const Tensor& t) { return mul(t, -1.5); }},
      {"div", [](const Tensor& t) { return div(t, -1.5); }},
      {"rdiv", [](const Tensor& t) { return rdiv(-1.5, t); }},
      {"pow 3", [](const Tensor& t) { return pow(t, 3.0); }},
      {"pow -0.5", [](const Tensor& t) { return pow(t, -0.5); }},
      {"pow 0", [](const Tensor& t) { return pow(t, 0.0); }},
      {"rpow", [](const Tensor& t) { return pow(1.7, t); }},
  };
  for (const auto& [name, op] : ops) {
    INFO(name);
    auto fn = op;
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0]); }, {x});
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(transpose(in[0], 0, 1)); }, {x});
  }
  require_error([] { pow(-2.0, leaf64({2}, 1)); }, {"pow", "positive base", "-2"});
}

TEST_CASE("gradients of unary math on contiguous and strided inputs", "[elementwise][grad]") {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops = {
      {"neg", [](const Tensor& t) { return neg(t); }},
      {"exp", [](const Tensor& t) { return exp(t); }},
      {"log", [](const Tensor& t) { return log(t); }},
      {"log1p", [](const Tensor& t) { return log1p(t); }},
      {"expm1", [](const Tensor& t) { return expm1(t); }},
      {"sqrt", [](const Tensor& t) { return sqrt(t); }},
      {"rsqrt", [](const Tensor& t) { return rsqrt(t); }},
      {"square", [](const Tensor& t) { return square(t); }},
      {"reciprocal", [](const Tensor& t) { return reciprocal(t); }},
      {"abs", [](const Tensor& t) { return abs(sub(t, 1.5)); }},
      {"sign", [](const Tensor& t) { return mul(sign(sub(t, 10.0)), t); }},
      {"clamp", [](const Tensor& t) { return clamp(t, 1.0, 2.0); }},
      {"clamp_min", [](const Tensor& t) { return clamp_min(t, 1.5); }},
      {"clamp_max", [](const Tensor& t) { return clamp_max(t, 1.5); }},
  };
  // Positive inputs spread around 1.6 whose distance from 1, 1.5 and 2 (abs and clamp kinks) is at
  // least 0.05: gradcheck's eps is 1e-6, so the kinks are never straddled.
  Tensor x = from_vector(std::vector<double>{0.4, 0.8, 1.2, 1.3, 1.7, 1.8, 2.3, 2.6, 0.6, 1.1, 1.9, 3.0}, {3, 4});
  x.set_requires_grad(true);
  for (const auto& [name, op] : ops) {
    INFO(name);
    auto fn = op;
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0]); }, {x});
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(slice(transpose(in[0], 0, 1), 0, 0, 4, 2)); }, {x});
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(expand(select(in[0], 0, 1), {2, 4})); }, {x});
  }
}

TEST_CASE("gradient of where flows to the chosen operand, summed over broadcasting", "[elementwise][grad]") {
  Tensor cond = gt(tensor64({1, -1, 2}, {3, 1}), 0.0);
  require_gradcheck([cond](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); },
                    {leaf64({1, 4}, 51), leaf64({3, 4}, 52)});
  require_gradcheck([cond](const std::vector<Tensor>& in) { return where(cond, transpose(in[0], 0, 1), in[1]); },
                    {leaf64({4, 3}, 53), leaf64({}, 54)});
  // Hand check: the gradient of a broadcast [1,4] operand counts the rows where cond is true.
  Tensor a = leaf64({1, 4}, 55);
  sum(where(cond, a, zeros({3, 4}, {DType::Float64}))).backward();
  require_values(a.grad(), {2, 2, 2, 2});
}

TEST_CASE("extrema send ties to the first operand", "[elementwise][grad]") {
  Tensor a = tensor64({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor b = tensor64({1, 5, 0}, {3}).set_requires_grad(true);
  sum(maximum(a, b)).backward();
  require_values(a.grad(), {1, 0, 1});
  require_values(b.grad(), {0, 1, 0});
  Tensor c = tensor64({1, 2, 3}, {3}).set_requires_grad(true);
  Tensor d = tensor64({1, 5, 0}, {3}).set_requires_grad(true);
  sum(minimum(c, d)).backward();
  require_values(c.grad(), {1, 1, 0});
  require_values(d.grad(), {0, 0, 1});
}

// --- bad input ---

TEST_CASE("elementwise ops reject mismatched shapes, dtypes and float-only misuse", "[elementwise][errors]") {
  Tensor a = ones({2, 3}), b = ones({3, 2});
  require_error([&] { add(a, b); }, {"add", "[2, 3]", "[3, 2]"});
  require_error([&] { sub(a, b); }, {"sub", "[2, 3]", "[3, 2]"});
  require_error([&] { mul(a, b); }, {"mul", "[2, 3]", "[3, 2]"});
  require_error([&] { div(a, b); }, {"div", "[2, 3]", "[3, 2]"});
  require_error([&] { pow(a, b); }, {"pow", "[2, 3]", "[3, 2]"});
  require_error([&] { maximum(a, b); }, {"maximum", "[2, 3]", "[3, 2]"});
  require_error([&] { minimum(a, b); }, {"minimum", "[2, 3]", "[3, 2]"});
  require_error([&] { eq(a, b); }, {"eq", "[2, 3]", "[3, 2]"});
  require_error([&] { add(ones({4}), ones({2, 3, 4}, {DType::Float64})); }, {"add", "float32", "float64", "[4]", "[2, 3, 4]"});
  require_error([&] { mul(ones({3}), ones({3}, {DType::Int64})); }, {"mul", "float32", "int64"});
  require_error([&] { lt(ones({3}), ones({3}, {DType::Int64})); }, {"lt", "float32", "int64"});
  require_error([&] { add(Tensor(), a); }, {"add", "undefined"});

  Tensor i = ones({2, 2}, {DType::Int64});
  const std::vector<std::pair<const char*, std::function<Tensor()>>> float_only = {
      {"exp", [&] { return exp(i); }},     {"log", [&] { return log(i); }},
      {"log1p", [&] { return log1p(i); }}, {"expm1", [&] { return expm1(i); }},
      {"sqrt", [&] { return sqrt(i); }},   {"rsqrt", [&] { return rsqrt(i); }},
      {"rdiv", [&] { return reciprocal(i); }}, {"div", [&] { return div(i, 2.0); }},
      {"pow", [&] { return pow(i, 2.0); }}, {"pow", [&] { return pow(2.0, i); }},
      {"pow", [&] { return pow(i, i); }},
  };
  for (const auto& [name, fn] : float_only) {
    INFO(name);
    require_error(fn, {name, "int64", "[2, 2]"});
  }
  Tensor flags = gt(ones({2}), 0.0);
  require_error([&] { add(flags, flags); }, {"add", "bool"});
  require_error([&] { neg(flags); }, {"neg", "bool"});
  require_error([&] { mul(flags, 2.0); }, {"mul", "bool"});
  require_error([&] { gt(flags, 0.0); }, {"gt", "bool"});
  require_error([&] { logical_and(flags, ones({2})); }, {"logical_and", "bool", "float32"});
  require_error([&] { logical_not(ones({2})); }, {"logical_not", "float32"});
}
