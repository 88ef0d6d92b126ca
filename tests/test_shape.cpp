// Shape ops: views share storage with the right geometry, copies where needed, gradients, bad input.
#include <functional>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

Tensor iota64(const Shape& shape) {
  return reshape(arange(0, static_cast<double>(numel_of(shape)), 1, {DType::Float64}), shape);
}

std::vector<double> range_values(int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>(i));
  return v;
}

}  // namespace

TEST_CASE("reshape, view and flatten", "[shape]") {
  Tensor x = iota64({2, 3, 4});
  Tensor r = reshape(x, {4, -1});
  REQUIRE(r.shape() == Shape{4, 6});
  REQUIRE(r.storage() == x.storage());  // contiguous: a view
  require_values(r, range_values(24));
  REQUIRE(view(x, {24}).shape() == Shape{24});
  REQUIRE(reshape(x, {2, 3, 4}).impl() == x.impl());
  REQUIRE(flatten(x).shape() == Shape{24});
  REQUIRE(flatten(x, 1).shape() == Shape{2, 12});
  REQUIRE(flatten(x, 0, 1).shape() == Shape{6, 4});
  REQUIRE(flatten(scalar_tensor(3.0)).shape() == Shape{1});
  // A non-contiguous tensor is copied in logical order.
  Tensor t = transpose(iota64({2, 3}), 0, 1);
  Tensor rt = reshape(t, {6});
  REQUIRE(rt.storage() != t.storage());
  require_values(rt, {0, 3, 1, 4, 2, 5});
  REQUIRE(reshape(zeros({0, 3}), {3, 0}).shape() == Shape{3, 0});
}

TEST_CASE("transpose, t and permute are strided views", "[shape]") {
  Tensor x = iota64({2, 3, 4});
  Tensor p = permute(x, {2, 0, 1});
  REQUIRE(p.shape() == Shape{4, 2, 3});
  REQUIRE(p.strides() == Shape{1, 12, 4});
  REQUIRE(p.storage() == x.storage());
  std::vector<double> e;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) e.push_back(i * 12 + j * 4 + k);
  require_values(p, e);
  Tensor tr = transpose(x, -1, 0);
  REQUIRE(tr.shape() == Shape{4, 3, 2});
  REQUIRE(tr.strides() == Shape{1, 4, 12});
  require_values(t(iota64({2, 3})), {0, 3, 1, 4, 2, 5});
  REQUIRE(t(iota64({3})).shape() == Shape{3});
  REQUIRE(transpose(scalar_tensor(1.0), 0, -1).dim() == 0);
  require_values(permute(permute(x, {2, 0, 1}), {1, 2, 0}), range_values(24));
}

TEST_CASE("slice, narrow, select with steps and negative bounds", "[shape]") {
  Tensor x = iota64({4, 5});
  Tensor s = slice(x, 1, 1, 5, 2);  // cols 1, 3
  REQUIRE(s.shape() == Shape{4, 2});
  REQUIRE(s.strides() == Shape{5, 2});
  REQUIRE(s.offset() == 1);
  require_values(s, {1, 3, 6, 8, 11, 13, 16, 18});
  require_values(slice(x, 0, -2, 4), {10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
  require_values(slice(x, 1, 0, -1, 3), {0, 3, 5, 8, 10, 13, 15, 18});
  REQUIRE(slice(x, 0, 3, 1).shape() == Shape{0, 5});  // end before start: empty
  REQUIRE(slice(x, 0, 2, 100).shape() == Shape{2, 5});  // clamped to the size
  // A slice of a slice composes offsets and strides.
  require_values(slice(slice(x, 1, 1, 5, 2), 0, 1, 4, 2), {6, 8, 16, 18});
  require_values(narrow(x, 0, 1, 2), {5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
  require_values(narrow(x, 1, -2, 2), {3, 4, 8, 9, 13, 14, 18, 19});
  Tensor row = select(x, 0, -1);
  REQUIRE(row.shape() == Shape{5});
  require_values(row, {15, 16, 17, 18, 19});
  require_values(select(x, 1, 2), {2, 7, 12, 17});
  // Slicing a transposed tensor.
  require_values(slice(transpose(x, 0, 1), 0, 4, 5), {4, 9, 14, 19});
}

TEST_CASE("expand, broadcast_to, squeeze, unsqueeze", "[shape]") {
  Tensor c = tensor64({1, 2, 3}, {3, 1});
  Tensor e = expand(c, {2, 3, 4});
  REQUIRE(e.shape() == Shape{2, 3, 4});
  REQUIRE(e.strides() == Shape{0, 1, 0});
  REQUIRE(e.storage() == c.storage());
  std::vector<double> ev;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) ev.push_back(j + 1);
  require_values(e, ev);
  REQUIRE(expand(c, {-1, 2}).shape() == Shape{3, 2});
  REQUIRE(broadcast_to(scalar_tensor(2.0), {2, 2}).shape() == Shape{2, 2});
  REQUIRE(expand(c, {3, 0}).numel() == 0);

  Tensor x = zeros({1, 3, 1, 2});
  REQUIRE(squeeze(x).shape() == Shape{3, 2});
  REQUIRE(squeeze(x, 2).shape() == Shape{1, 3, 2});
  REQUIRE(squeeze(x, 1).shape() == Shape{1, 3, 1, 2});  // not size 1: unchanged
  REQUIRE(squeeze(x, -4).shape() == Shape{3, 1, 2});
  REQUIRE(unsqueeze(x, 0).shape() == Shape{1, 1, 3, 1, 2});
  REQUIRE(unsqueeze(x, -1).shape() == Shape{1, 3, 1, 2, 1});
  REQUIRE(unsqueeze(scalar_tensor(1.0), 0).shape() == Shape{1});
  // Unsqueeze of a strided view keeps the values.
  Tensor s = slice(iota64({3, 4}), 1, 0, 4, 2);
  require_values(unsqueeze(s, 1), {0, 2, 4, 6, 8, 10});
  require_values(squeeze(unsqueeze(s, 2)), {0, 2, 4, 6, 8, 10});
}

TEST_CASE("contiguous and clone", "[shape]") {
  Tensor x = iota64({2, 3});
  REQUIRE(contiguous(x).impl() == x.impl());
  Tensor tr = transpose(x, 0, 1);
  Tensor c = contiguous(tr);
  REQUIRE(c.is_contiguous());
  REQUIRE(c.storage() != x.storage());
  require_values(c, {0, 3, 1, 4, 2, 5});
  Tensor k = clone(x);
  REQUIRE(k.storage() != x.storage());
  {
    NoGradGuard g;
    fill_(k, 1.0);
  }
  require_values(x, range_values(6));  // the clone is independent
  // Contiguity: size-1 dims may have any stride; an expanded dim is not contiguous.
  REQUIRE(unsqueeze(x, 1).is_contiguous());
  REQUIRE_FALSE(expand(tensor64({1, 2}, {1, 2}), {3, 2}).is_contiguous());
}

TEST_CASE("cat, stack, split, chunk", "[shape]") {
  Tensor a = iota64({2, 3});
  Tensor b = add(iota64({1, 3}), 100.0);
  Tensor c0 = cat({a, b}, 0);
  REQUIRE(c0.shape() == Shape{3, 3});
  require_values(c0, {0, 1, 2, 3, 4, 5, 100, 101, 102});
  Tensor c1 = cat({a, transpose(iota64({2, 2}), 0, 1)}, -1);  // a strided operand
  REQUIRE(c1.shape() == Shape{2, 5});
  require_values(c1, {0, 1, 2, 0, 2, 3, 4, 5, 1, 3});
  REQUIRE(cat({a, zeros({0, 3}, {DType::Float64})}, 0).shape() == Shape{2, 3});
  REQUIRE(cat({a}, 1).shape() == Shape{2, 3});

  Tensor s = stack({a, mul(a, 10.0)}, 1);
  REQUIRE(s.shape() == Shape{2, 2, 3});
  require_values(s, {0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50});
  REQUIRE(stack({a, a}, -1).shape() == Shape{2, 3, 2});
  REQUIRE(stack({scalar_tensor(1.0), scalar_tensor(2.0)}).shape() == Shape{2});

  Tensor x = iota64({7, 2});
  std::vector<Tensor> parts = split(x, 3);
  REQUIRE(parts.size() == 3);
  REQUIRE(parts[0].shape() == Shape{3, 2});
  REQUIRE(parts[2].shape() == Shape{1, 2});
  require_values(parts[2], {12, 13});
  std::vector<Tensor> ch = chunk(x, 2, 0);
  REQUIRE(ch.size() == 2);
  REQUIRE(ch[0].shape() == Shape{4, 2});
  REQUIRE(ch[1].shape() == Shape{3, 2});
  std::vector<Tensor> cols = chunk(x, 2, 1);
  require_values(cols[1], {1, 3, 5, 7, 9, 11, 13});
}

TEST_CASE("index_select, gather and one_hot", "[shape]") {
  Tensor x = iota64({3, 4});
  Tensor idx = from_vector(std::vector<int64_t>{2, 0, 2}, {3});
  require_values(index_select(x, 0, idx), {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11});
  require_values(index_select(x, 1, idx), {2, 0, 2, 6, 4, 6, 10, 8, 10});
  require_values(index_select(transpose(x, 0, 1), 0, idx), {2, 6, 10, 0, 4, 8, 2, 6, 10});
  REQUIRE(index_select(x, 0, zeros({0}, {DType::Int64})).shape() == Shape{0, 4});

  Tensor g = from_vector(std::vector<int64_t>{3, 0, 1, 1, 2, 0}, {3, 2});
  require_values(gather(x, 1, g), {3, 0, 5, 5, 10, 8});
  Tensor g0 = from_vector(std::vector<int64_t>{2, 0, 1, 2}, {1, 4});
  require_values(gather(x, 0, g0), {8, 1, 6, 11});

  Tensor oh = one_hot(from_vector(std::vector<int64_t>{1, 0, 2, 1}, {2, 2}), 3);
  REQUIRE(oh.shape() == Shape{2, 2, 3});
  REQUIRE(oh.dtype() == DType::Float32);
  require_values(oh, {0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0});
  REQUIRE(one_hot(from_vector(std::vector<int64_t>{1}, {1}), 2, DType::Float64).dtype() == DType::Float64);
}

// --- gradients ---

TEST_CASE("gradients of view ops map back to the input's geometry", "[shape][grad]") {
  using Fn = std::function<Tensor(const Tensor&)>;
  const std::vector<std::pair<const char*, Fn>> ops = {
      {"reshape", [](const Tensor& t) { return reshape(t, {4, -1}); }},
      {"reshape of transpose", [](const Tensor& t) { return reshape(transpose(t, 0, 2), {-1}); }},
      {"view", [](const Tensor& t) { return view(t, {6, 4}); }},
      {"flatten", [](const Tensor& t) { return flatten(t, 1); }},
      {"transpose", [](const Tensor& t) { return transpose(t, 0, 1); }},
      {"permute", [](const Tensor& t) { return permute(t, {2, 0, 1}); }},
      {"slice", [](const Tensor& t) { return slice(t, 2, 1, 4, 2); }},
      {"slice of transpose", [](const Tensor& t) { return slice(transpose(t, 1, 2), 1, 0, 4, 3); }},
      {"narrow", [](const Tensor& t) { return narrow(t, 1, 1, 2); }},
      {"select", [](const Tensor& t) { return select(t, 1, -1); }},
      {"expand", [](const Tensor& t) { return expand(unsqueeze(t, 0), {3, 2, 3, 4}); }},
      {"broadcast_to", [](const Tensor& t) { return broadcast_to(select(t, 2, 0), {4, 2, 3}); }},
      {"squeeze", [](const Tensor& t) { return squeeze(narrow(t, 1, 0, 1)); }},
      {"squeeze dim", [](const Tensor& t) { return squeeze(narrow(t, 1, 2, 1), 1); }},
      {"unsqueeze", [](const Tensor& t) { return unsqueeze(t, -1); }},
      {"contiguous", [](const Tensor& t) { return contiguous(transpose(t, 0, 2)); }},
      {"clone", [](const Tensor& t) { return clone(t); }},
  };
  Tensor x = leaf64({2, 3, 4}, 71);
  for (const auto& [name, op] : ops) {
    INFO(name);
    auto fn = op;
    // Multiplying by the input makes the gradient depend on where each element went.
    require_gradcheck([fn](const std::vector<Tensor>& in) { return mul(fn(in[0]), fn(in[0])); }, {x});
  }
}

TEST_CASE("gradients of cat, stack, split, chunk, index_select, gather", "[shape][grad]") {
  Tensor a = leaf64({2, 3}, 81), b = leaf64({2, 2}, 82);
  require_gradcheck([](const std::vector<Tensor>& in) { return cat({in[0], transpose(in[1], 0, 1), in[0]}, 1); },
                    {a, b});
  require_gradcheck([](const std::vector<Tensor>& in) { return stack({in[0], mul(in[0], in[0])}, 1); }, {a});
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> p = split(in[0], 2, 1);
        return mul(p[0], p[0]);  // only part of the input gets a gradient
      },
      {a});
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        std::vector<Tensor> p = chunk(in[0], 2, 0);
        return sub(p[0], mul(p[1], 3.0));
      },
      {a});
  Tensor idx = from_vector(std::vector<int64_t>{2, 0, 2, 1}, {4});  // repeats accumulate
  require_gradcheck([idx](const std::vector<Tensor>& in) { return index_select(in[0], 1, idx); }, {a});
  require_gradcheck([idx](const std::vector<Tensor>& in) { return index_select(transpose(in[0], 0, 1), 0, idx); }, {a});
  Tensor g = from_vector(std::vector<int64_t>{1, 1, 0, 2, 0, 0}, {2, 3});
  require_gradcheck([g](const std::vector<Tensor>& in) { return gather(in[0], 1, g); }, {a});
  // Hand check of accumulation through a repeated index.
  Tensor x = tensor64({1, 2, 3}, {3}).set_requires_grad(true);
  sum(index_select(x, 0, idx)).backward();
  require_values(x.grad(), {1, 1, 2});
}

// --- bad input ---

TEST_CASE("shape ops reject bad shapes, dims and indices", "[shape][errors]") {
  Tensor x = zeros({2, 3});
  require_error([&] { reshape(x, {4, 2}); }, {"reshape", "[4, 2]", "[2, 3]", "6"});
  require_error([&] { reshape(x, {-1, -1}); }, {"reshape", "only one dim may be -1"});
  require_error([&] { reshape(x, {4, -1}); }, {"reshape", "-1", "[2, 3]"});
  require_error([&] { reshape(x, {-2, -3}); }, {"reshape", "invalid size -2"});
  require_error([&] { view(transpose(x, 0, 1), {6}); }, {"view", "[3, 2]", "not contiguous"});
  require_error([&] { transpose(x, 0, 2); }, {"transpose", "dim 2", "rank 2"});
  require_error([&] { permute(x, {0}); }, {"permute", "1 dims", "rank 2"});
  require_error([&] { permute(x, {1, 1}); }, {"permute", "dim 1", "twice"});
  require_error([&] { t(zeros({2, 2, 2})); }, {"t", "[2, 2, 2]"});
  require_error([&] { slice(x, 2, 0, 1); }, {"slice", "dim 2"});
  require_error([&] { slice(x, 0, 0, 1, 0); }, {"slice", "step", "0"});
  require_error([&] { narrow(x, 1, 2, 2); }, {"narrow", "[2, 4)", "size 3"});
  require_error([&] { select(x, 0, 2); }, {"select", "index 2", "size 2"});
  require_error([&] { select(x, 1, -4); }, {"select", "index -4", "size 3"});
  require_error([&] { expand(x, {3, 3}); }, {"expand", "[2, 3]", "[3, 3]"});
  require_error([&] { expand(x, {3}); }, {"expand", "[2, 3]", "[3]"});
  require_error([&] { expand(zeros({1}), {-2}); }, {"expand", "invalid size -2"});
  require_error([&] { squeeze(x, 3); }, {"squeeze", "dim 3"});
  require_error([&] { unsqueeze(x, 4); }, {"unsqueeze", "dim 4"});
  require_error([&] { cat({}, 0); }, {"cat", "at least one"});
  require_error([&] { cat({x, zeros({2, 4})}, 0); }, {"cat", "[2, 4]", "[2, 3]"});
  require_error([&] { cat({x, zeros({2})}, 0); }, {"cat", "[2]", "[2, 3]"});
  require_error([&] { cat({x, zeros({2, 3}, {DType::Float64})}, 0); }, {"cat", "float32", "float64"});
  require_error([&] { cat({x, x}, 2); }, {"cat", "dim 2"});
  require_error([&] { cat({scalar_tensor(1.0), scalar_tensor(2.0)}, 0); }, {"cat", "zero-dim"});
  require_error([&] { stack({x, zeros({3, 2})}); }, {"stack", "[3, 2]", "[2, 3]"});
  require_error([&] { split(x, 0); }, {"split", "split_size", "0"});
  require_error([&] { chunk(x, 0); }, {"chunk", "0"});
  Tensor idx = from_vector(std::vector<int64_t>{0, 3}, {2});
  require_error([&] { index_select(x, 1, idx); }, {"index_select", "index 3", "size 3"});
  require_error([&] { index_select(x, 0, from_vector(std::vector<int64_t>{-1}, {1})); }, {"index_select", "index -1"});
  require_error([&] { index_select(x, 0, zeros({2})); }, {"index_select", "int64", "float32"});
  require_error([&] { index_select(x, 0, zeros({2, 1}, {DType::Int64})); }, {"index_select", "1-D", "[2, 1]"});
  require_error([&] { index_select(x, 2, idx); }, {"index_select", "dim 2"});
  require_error([&] { index_select(scalar_tensor(1.0), 0, idx); }, {"index_select", "zero-dim"});
  require_error([&] { gather(x, 1, from_vector(std::vector<int64_t>{0, 5}, {2, 1})); }, {"gather", "index 5", "size 3"});
  require_error([&] { gather(x, 1, zeros({2}, {DType::Int64})); }, {"gather", "[2]", "[2, 3]"});
  require_error([&] { gather(x, 1, zeros({3, 1}, {DType::Int64})); }, {"gather", "[3, 1]", "[2, 3]"});
  require_error([&] { one_hot(from_vector(std::vector<int64_t>{0, 3}, {2}), 3); }, {"one_hot", "3", "3 classes"});
  require_error([&] { one_hot(from_vector(std::vector<int64_t>{-1}, {1}), 3); }, {"one_hot", "-1"});
  require_error([&] { one_hot(zeros({2}), 3); }, {"one_hot", "int64", "float32"});
}
