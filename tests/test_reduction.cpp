// Reductions: sum/mean/var/std/max/min/argmax/argmin/norm/sum_to forward values, gradients, bad input.
#include <cmath>
#include <functional>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

// x[i][j][k] = i*100 + j*10 + k - 50 for a [2,3,4] tensor: every element distinct, signs mixed.
Tensor cube() {
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) v.push_back(i * 100 + j * 10 + k - 50);
  return from_vector(v, {2, 3, 4});
}

double cube_at(int i, int j, int k) { return i * 100 + j * 10 + k - 50; }

}  // namespace

TEST_CASE("sum over all elements and over dims, with keepdim", "[reduction]") {
  Tensor x = cube();
  Tensor all = sum(x);
  REQUIRE(all.dim() == 0);
  double total = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) total += cube_at(i, j, k);
  REQUIRE(all.item<double>() == total);

  Tensor s1 = sum(x, 1);
  REQUIRE(s1.shape() == Shape{2, 4});
  std::vector<double> e1;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) e1.push_back(cube_at(i, 0, k) + cube_at(i, 1, k) + cube_at(i, 2, k));
  require_values(s1, e1);
  REQUIRE(sum(x, 1, true).shape() == Shape{2, 1, 4});
  require_values(sum(x, -2, true), e1);

  Tensor s02 = sum(x, {0, 2});
  REQUIRE(s02.shape() == Shape{3});
  std::vector<double> e02(3, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) e02[j] += cube_at(i, j, k);
  require_values(s02, e02);
  REQUIRE(sum(x, {2, 0}, true).shape() == Shape{1, 3, 1});
  REQUIRE(sum(x, std::vector<int64_t>{}, true).shape() == Shape{1, 1, 1});  // no dims: all of them
}

TEST_CASE("reductions read non-contiguous inputs", "[reduction]") {
  Tensor x = cube();
  Tensor p = permute(x, {2, 0, 1});  // [4, 2, 3]
  std::vector<double> e;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i) e.push_back(cube_at(i, 0, k) + cube_at(i, 1, k) + cube_at(i, 2, k));
  require_values(sum(p, -1), e);
  // A stepped slice: columns 0 and 2 of the last dim.
  Tensor s = slice(x, 2, 0, 4, 2);
  std::vector<double> m;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) m.push_back(std::max(cube_at(i, j, 0), cube_at(i, j, 2)));
  require_values(max(s, 2).values, m);
  // An expanded input counts each repeat.
  Tensor ex = expand(tensor64({1, 2, 3}, {3, 1}), {3, 5});
  require_values(sum(ex, 1), {5, 10, 15});
  require_values(sum(ex, 0), {6, 6, 6, 6, 6});
}

TEST_CASE("large reductions (the parallel paths) agree with double loops", "[reduction]") {
  // 1000 x 300 = 300k elements: the single-output path splits across threads.
  Generator gen(3);
  Tensor x = randn({1000, 300}, {DType::Float64}, &gen);
  const std::vector<double> v = x.to_vector<double>();
  double total = 0, mx = -1e300;
  std::vector<double> rows(1000, 0.0), cols(300, 0.0);
  for (int i = 0; i < 1000; ++i)
    for (int j = 0; j < 300; ++j) {
      total += v[i * 300 + j];
      mx = std::max(mx, v[i * 300 + j]);
      rows[i] += v[i * 300 + j];
      cols[j] += v[i * 300 + j];
    }
  REQUIRE(sum(x).item<double>() == Approx(total).epsilon(1e-12));
  REQUIRE(max(x).item<double>() == mx);
  require_values(sum(x, 1), rows, 1e-10);
  require_values(sum(x, 0), cols, 1e-10);
  require_values(sum(transpose(x, 0, 1), 0), rows, 1e-10);
  // float32 accumulates in double: the sum of 300k ones is exact.
  REQUIRE(sum(ones({300000})).item<double>() == 300000.0);
  REQUIRE(mean(full({1000, 300}, 0.1)).item<double>() == Approx(0.1).epsilon(1e-6));
}

TEST_CASE("sums of contiguous runs (summed in lanes) are exact on integers for every length and layout",
          "[reduction]") {
  // Integer values sum exactly in float64 in any order, so these compare with ==: they check the
  // lanes' tail (every length mod 16), dims merged into one run, size-1 dims dropped, and rows.
  auto ints = [](int64_t n, int64_t first) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>((first + i * 37) % 101 - 50);
    return v;
  };
  auto total = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
  };
  for (int64_t n = 0; n <= 40; ++n) {
    INFO("n = " << n);
    const std::vector<double> v = ints(3 * n, n);
    REQUIRE(sum(from_vector(v, {3 * n})).item<double>() == total(v));
    REQUIRE(sum(from_vector(v, {3, 1, n})).item<double>() == total(v));  // merged into one run
    const Tensor rows = sum(from_vector(v, {3, n}), 1);                     // one run per output
    for (int64_t r = 0; r < 3; ++r)
      REQUIRE(rows.to_vector<double>()[r] ==
              total(std::vector<double>(v.begin() + r * n, v.begin() + (r + 1) * n)));
    const Tensor f = to_dtype(from_vector(v, {n, 3}), DType::Float32);  // float accumulates in double
    REQUIRE(sum(f).item<double>() == total(v));
  }
  // The parallel single-output path (over 2^17 elements), split into runs of one dim.
  const std::vector<double> big = ints(300007, 5);
  REQUIRE(sum(from_vector(big, {300007})).item<double>() == total(big));
  REQUIRE(sum(slice(from_vector(big, {300007}), 0, 0, 300007, 2)).item<double>() ==
          total([&] {
            std::vector<double> odd;
            for (size_t i = 0; i < big.size(); i += 2) odd.push_back(big[i]);
            return odd;
          }()));
}

TEST_CASE("mean, var and std match closed forms", "[reduction]") {
  Tensor x = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(mean(x).item<double>() == 3.5);
  require_values(mean(x, 0), {2.5, 3.5, 4.5});
  require_values(mean(x, 1), {2, 5});
  REQUIRE(mean(x, 1, true).shape() == Shape{2, 1});
  // var of 1..6 = 17.5 / 5 (unbiased), 17.5 / 6 (biased)
  REQUIRE(var(x).item<double>() == Approx(3.5));
  REQUIRE(var(x, {}, false).item<double>() == Approx(17.5 / 6));
  require_values(var(x, {1}), {1, 1});  // a braced dim list binds to dims, not to a bool
  require_values(var(x, {0}, false), {2.25, 2.25, 2.25});
  REQUIRE(var(x, {0}, true, true).shape() == Shape{1, 3});
  REQUIRE(strata::std(x).item<double>() == Approx(std::sqrt(3.5)));
  require_values(strata::std(x, {0}, false), {1.5, 1.5, 1.5});
  require_values(mean(transpose(x, 0, 1), 1), {2.5, 3.5, 4.5});
  // Float32 inputs stay float32.
  REQUIRE(mean(ones({4})).dtype() == DType::Float32);
}

TEST_CASE("max and min over a dim give values and first indices", "[reduction]") {
  Tensor x = tensor64({3, 1, 3, -2, 5, 5}, {2, 3});
  ValuesIndices mx = max(x, 1);
  require_values(mx.values, {3, 5});
  REQUIRE(mx.indices.dtype() == DType::Int64);
  REQUIRE(mx.indices.to_vector<int64_t>() == std::vector<int64_t>{0, 1});  // first of the ties
  ValuesIndices mn = min(x, 0, true);
  REQUIRE(mn.values.shape() == Shape{1, 3});
  require_values(mn.values, {-2, 1, 3});
  REQUIRE(mn.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0});
  REQUIRE(argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  REQUIRE(argmin(x, -1).to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  REQUIRE(argmax(x, 1, true).shape() == Shape{2, 1});
  REQUIRE(max(x).item<double>() == 5);
  REQUIRE(min(x).item<double>() == -2);
  // Transposed, and int64.
  REQUIRE(argmax(transpose(x, 0, 1), 1).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  Tensor i = from_vector(std::vector<int64_t>{4, -9, 7}, {3});
  REQUIRE(max(i).item<int64_t>() == 7);
  REQUIRE(min(i, 0).values.item<int64_t>() == -9);
  REQUIRE(sum(i).item<int64_t>() == 2);
  // A NaN wins max, as in NumPy.
  Tensor n = tensor64({1, std::nan(""), 3}, {3});
  REQUIRE(std::isnan(max(n).item<double>()));
  REQUIRE(max(n, 0).indices.item<int64_t>() == 1);
  // 0-dim input: the value itself, index 0.
  ValuesIndices z = max(scalar_tensor(4.0), 0);
  REQUIRE(z.values.item<float>() == 4.0f);
  REQUIRE(z.indices.item<int64_t>() == 0);
}

TEST_CASE("norm for p = 1, 2, 3 and infinity", "[reduction]") {
  Tensor x = tensor64({3, -4, 0, 1, -2, 2}, {2, 3});
  REQUIRE(norm(x).item<double>() == Approx(std::sqrt(9 + 16 + 0 + 1 + 4 + 4)));
  REQUIRE(norm(x, 1.0).item<double>() == Approx(12));
  REQUIRE(norm(x, 3.0).item<double>() == Approx(std::cbrt(27 + 64 + 1 + 8 + 8)));
  REQUIRE(norm(x, INFINITY).item<double>() == 4);
  require_values(norm(x, 2.0, {1}), {5, 3});
  require_values(norm(x, 1.0, {0}, true), {4, 6, 2});
  require_values(norm(x, INFINITY, {1}), {4, 2});
  REQUIRE(norm(x, INFINITY, {1}, true).shape() == Shape{2, 1});
}

TEST_CASE("sum_to inverts broadcasting", "[reduction]") {
  Tensor g = ones({2, 3, 4}, {DType::Float64});
  require_values(sum_to(g, {3, 1}), {8, 8, 8});
  require_values(sum_to(g, {4}), {6, 6, 6, 6});
  REQUIRE(sum_to(g, {}).item<double>() == 24);
  REQUIRE(sum_to(g, {1, 1, 4}).shape() == Shape{1, 1, 4});
  REQUIRE(sum_to(g, {2, 3, 4}).impl() == g.impl());
  require_error([&] { sum_to(g, {2, 2, 3, 4}); }, {"sum_to", "[2, 3, 4]", "[2, 2, 3, 4]"});
  require_error([&] { sum_to(g, {2}); }, {"sum_to", "[2, 3, 4]", "[2]"});
}

TEST_CASE("reductions of empty tensors", "[reduction]") {
  Tensor e = zeros({0, 3}, {DType::Float64});
  REQUIRE(sum(e).item<double>() == 0);
  require_values(sum(e, 0), {0, 0, 0});
  REQUIRE(sum(e, 1).shape() == Shape{0});
  REQUIRE(max(e, 1).values.shape() == Shape{0});  // the reduced dim is not empty
  require_error([&] { max(e); }, {"max", "empty", "[0, 3]"});
  require_error([&] { min(e, 0); }, {"min", "size 0", "[0, 3]"});
  require_error([&] { argmax(e, 0); }, {"argmax", "size 0"});
  require_error([&] { norm(e, INFINITY, {0}); }, {"norm", "empty", "[0, 3]"});
}

TEST_CASE("sum of bool counts true values", "[reduction]") {
  Tensor b = gt(tensor64({1, -1, 2, 3}, {2, 2}), 0.0);
  Tensor s = sum(b);
  REQUIRE(s.dtype() == DType::Int64);
  REQUIRE(s.item<int64_t>() == 3);
  REQUIRE(sum(b, 0).to_vector<int64_t>() == std::vector<int64_t>{2, 1});
}

// --- gradients ---

TEST_CASE("gradients of sum, mean, var, std over all, one and several dims", "[reduction][grad]") {
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<const char*, Fn>> ops = {
      {"sum", [](const Tensor& t) { return sum(t); }},
      {"sum 1", [](const Tensor& t) { return sum(t, 1); }},
      {"sum {0,2} keepdim", [](const Tensor& t) { return sum(t, {0, 2}, true); }},
      {"mean", [](const Tensor& t) { return mean(t); }},
      {"mean -1", [](const Tensor& t) { return mean(t, -1); }},
      {"mean {0,1}", [](const Tensor& t) { return mean(t, {0, 1}); }},
      {"var", [](const Tensor& t) { return var(t); }},
      {"var biased {2}", [](const Tensor& t) { return var(t, {2}, false); }},
      {"var {0,2} keepdim", [](const Tensor& t) { return var(t, {0, 2}, true, true); }},
      {"std", [](const Tensor& t) { return strata::std(t); }},
      {"std {1}", [](const Tensor& t) { return strata::std(t, std::vector<int64_t>{1}); }},
  };
  Tensor x = leaf64({2, 3, 4}, 61);
  for (const auto& [name, op] : ops) {
    INFO(name);
    auto fn = op;
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0]); }, {x});
    // The same reduction over a permuted, then a broadcast (expanded) input.
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(permute(in[0], {1, 2, 0})); },
                      {leaf64({3, 4, 2}, 62)});
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(add(in[0], in[1])); },
                      {leaf64({2, 1, 4}, 63), leaf64({3, 1}, 64)});
  }
}

TEST_CASE("gradients of max, min and norms", "[reduction][grad]") {
  // Distinct values so that the extremum is unique and stays put under finite differences.
  Tensor x = from_vector(std::vector<double>{0.3, -1.2, 2.5, 0.9, -0.4, 1.7, -2.2, 0.6, 1.1, -0.8, 0.1, 2.0}, {3, 4});
  x.set_requires_grad(true);
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<const char*, Fn>> ops = {
      {"max dim", [](const Tensor& t) { return max(t, 1).values; }},
      {"max dim keepdim", [](const Tensor& t) { return max(t, 0, true).values; }},
      {"min dim", [](const Tensor& t) { return min(t, -1).values; }},
      {"max all", [](const Tensor& t) { return max(t); }},
      {"min all", [](const Tensor& t) { return min(t); }},
      {"norm 2", [](const Tensor& t) { return norm(t); }},
      {"norm 2 dim", [](const Tensor& t) { return norm(t, 2.0, {1}); }},
      {"norm 1 dim", [](const Tensor& t) { return norm(t, 1.0, {0}, true); }},
      {"norm 3", [](const Tensor& t) { return norm(t, 3.0); }},
      {"norm inf", [](const Tensor& t) { return norm(t, INFINITY); }},
      {"norm inf dim", [](const Tensor& t) { return norm(t, INFINITY, {1}); }},
      {"norm inf keepdim", [](const Tensor& t) { return norm(t, INFINITY, {}, true); }},
  };
  for (const auto& [name, op] : ops) {
    INFO(name);
    auto fn = op;
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0]); }, {x});
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(transpose(in[0], 0, 1)); }, {x});
  }
  // Hand checks: max(x, dim) sends the gradient to the argmax; max(x) splits it among ties.
  Tensor y = tensor64({1, 3, 3, 0}, {4}).set_requires_grad(true);
  max(y).backward();
  require_values(y.grad(), {0, 0.5, 0.5, 0});
  Tensor z = tensor64({1, 3, 3, 0}, {2, 2}).set_requires_grad(true);
  sum(max(z, 1).values).backward();
  require_values(z.grad(), {0, 1, 1, 0});
  // The 2-norm's gradient at 0 is taken as 0, not NaN.
  Tensor o = zeros({3}, {DType::Float64}).set_requires_grad(true);
  norm(o).backward();
  require_values(o.grad(), {0, 0, 0});
}

// --- bad input ---

TEST_CASE("reductions reject bad dims and dtypes", "[reduction][errors]") {
  Tensor x = ones({2, 3});
  require_error([&] { sum(x, 2); }, {"sum", "dim 2", "rank 2"});
  require_error([&] { sum(x, -3); }, {"sum", "dim -3", "rank 2"});
  require_error([&] { sum(x, {0, 0}); }, {"sum", "dim 0", "repeated"});
  require_error([&] { sum(x, {1, -1}); }, {"sum", "repeated"});
  require_error([&] { mean(x, 5); }, {"mean", "dim 5"});
  require_error([&] { var(x, std::vector<int64_t>{3}); }, {"var", "dim 3"});
  require_error([&] { max(x, 2); }, {"max", "dim 2"});
  require_error([&] { argmin(x, -4); }, {"argmin", "dim -4"});
  require_error([&] { norm(x, 2.0, {7}); }, {"norm", "dim 7"});
  require_error([&] { norm(x, 0.0); }, {"norm", "positive", "0"});
  Tensor i = ones({2, 3}, {DType::Int64});
  require_error([&] { mean(i); }, {"mean", "int64", "[2, 3]"});
  require_error([&] { var(i); }, {"var", "int64"});
  require_error([&] { norm(i); }, {"norm", "int64"});
  require_error([&] { max(gt(x, 0.0), 0); }, {"max", "bool"});
  require_error([&] { sum(Tensor()); }, {"sum", "undefined"});
}

TEST_CASE("reductions over leading dims into a contiguous block (the column pass) match the row pass bit for bit",
          "[reduction]") {
  // 300 outputs: more than one 256-wide block of accumulators, and split over threads.
  Generator gen(5);
  const Tensor x = randn({1000, 300}, {}, &gen);
  const Tensor by_rows = contiguous(transpose(x, 0, 1));  // [300, 1000]: each output's inputs in a row
  REQUIRE(sum(x, 0).to_vector<float>() == sum(by_rows, 1).to_vector<float>());
  REQUIRE(max(x, 0).values.to_vector<float>() == max(by_rows, 1).values.to_vector<float>());
  REQUIRE(min(x, 0).values.to_vector<float>() == min(by_rows, 1).values.to_vector<float>());

  // Two reduced dims in front of a contiguous block, against a double loop in the same order.
  const Tensor cube3 = randn({7, 9, 300}, {DType::Float64}, &gen);
  const std::vector<double> v = cube3.to_vector<double>();
  std::vector<double> expected(300, 0.0);
  for (int i = 0; i < 7 * 9; ++i)
    for (int k = 0; k < 300; ++k) expected[k] += v[i * 300 + k];
  REQUIRE(sum(cube3, {0, 1}).to_vector<double>() == expected);

  // NaN propagates through max and min of its column only; an empty reduced dim sums to zeros.
  std::vector<float> with_nan = x.to_vector<float>();
  with_nan[400 * 300 + 17] = std::nanf("");
  const Tensor xn = from_vector(with_nan, {1000, 300});
  const std::vector<float> mx = max(xn, 0).values.to_vector<float>(), mn = min(xn, 0).values.to_vector<float>();
  REQUIRE(std::isnan(mx[17]));
  REQUIRE(std::isnan(mn[17]));
  REQUIRE(!std::isnan(mx[16]));
  REQUIRE(!std::isnan(mn[18]));
  REQUIRE(sum(zeros({0, 5}), 0).to_vector<float>() == std::vector<float>(5, 0.0f));
}
