// Convolution, transposed convolution, pooling and upsampling: forward against direct loops written
// here, the transposed convolution as conv2d's adjoint, float64 gradient checks, and bad input.
#include <cmath>

#include "backends/backend.h"
#include "engine/dispatch.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

struct ConvCase {
  int64_t n, cin, h, w, cout, kh, kw;
  Pair stride, padding, dilation;
  int64_t groups;
  bool bias;
};

// out[n, o, y, x] = b[o] + sum_{c in o's group, i, j} in[n, c, y*s - p + i*d, x*s - p + j*d] * w[o, c', i, j]
std::vector<double> direct_conv(const ConvCase& c, const std::vector<double>& x, const std::vector<double>& w,
                                const std::vector<double>& b, int64_t oh, int64_t ow) {
  const int64_t cin_g = c.cin / c.groups, cout_g = c.cout / c.groups;
  std::vector<double> out(static_cast<size_t>(c.n * c.cout * oh * ow), 0.0);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.cout; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xo = 0; xo < ow; ++xo) {
          double s = c.bias ? b[o] : 0.0;
          const int64_t g = o / cout_g;
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int64_t i = 0; i < c.kh; ++i)
              for (int64_t j = 0; j < c.kw; ++j) {
                const int64_t iy = y * c.stride[0] - c.padding[0] + i * c.dilation[0];
                const int64_t ix = xo * c.stride[1] - c.padding[1] + j * c.dilation[1];
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                s += x[((n * c.cin + g * cin_g + ci) * c.h + iy) * c.w + ix] * w[((o * cin_g + ci) * c.kh + i) * c.kw + j];
              }
          out[((n * c.cout + o) * oh + y) * ow + xo] = s;
        }
  return out;
}

const std::vector<ConvCase> kCases = {
    {2, 3, 7, 6, 4, 3, 3, {1, 1}, {0, 0}, {1, 1}, 1, true},
    {2, 2, 8, 8, 3, 4, 4, {2, 2}, {1, 1}, {1, 1}, 1, true},   // the W2 layout
    {1, 2, 9, 7, 2, 3, 2, {1, 2}, {2, 1}, {2, 1}, 1, false},  // dilation, non-square everything
    {2, 4, 6, 5, 6, 3, 3, {1, 1}, {1, 1}, {1, 1}, 2, true},   // groups
    {3, 4, 5, 5, 4, 1, 1, {1, 1}, {0, 0}, {1, 1}, 1, true},   // pointwise (no im2col)
    // dilated in width (im2col's inner copies strided by dw), and a kernel wider than 5 with wide padding
    {2, 2, 6, 9, 3, 2, 3, {1, 2}, {1, 2}, {1, 2}, 1, true},
    {1, 2, 5, 10, 2, 2, 7, {1, 1}, {0, 3}, {1, 1}, 1, false},
};

}  // namespace

TEST_CASE("conv2d matches a direct convolution", "[conv]") {
  for (const ConvCase& c : kCases) {
    Generator gen(1);
    const Tensor x = randn({c.n, c.cin, c.h, c.w}, {DType::Float64}, &gen);
    const Tensor w = randn({c.cout, c.cin / c.groups, c.kh, c.kw}, {DType::Float64}, &gen);
    const Tensor b = c.bias ? randn({c.cout}, {DType::Float64}, &gen) : Tensor();
    const Tensor out = conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
    const int64_t oh = out.size(2), ow = out.size(3);
    REQUIRE(oh == (c.h + 2 * c.padding[0] - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0] + 1);
    REQUIRE(ow == (c.w + 2 * c.padding[1] - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1] + 1);
    require_values(out, direct_conv(c, x.to_vector<double>(), w.to_vector<double>(),
                                    c.bias ? b.to_vector<double>() : std::vector<double>{}, oh, ow),
                   1e-10);
    // float32 agrees with float64 to float precision
    const Tensor out32 = conv2d(to_dtype(x, DType::Float32), to_dtype(w, DType::Float32),
                                c.bias ? to_dtype(b, DType::Float32) : Tensor(), c.stride, c.padding, c.dilation, c.groups);
    require_values(out32, out.to_vector<double>(), 1e-4);
  }
}

TEST_CASE("conv2d on a hand-computed case", "[conv]") {
  // 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1: each output sums a 2x2 window.
  const Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  const Tensor w = ones({1, 1, 2, 2}, {DType::Float64});
  require_values(conv2d(x, w), {12, 16, 24, 28});
  // With padding 1 and stride 2 the corners see one pixel each, plus a bias of 0.5.
  require_values(conv2d(x, w, full({1}, 0.5, {DType::Float64}), {2, 2}, {1, 1}), {1.5, 5.5, 11.5, 28.5});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d and has the documented size", "[conv]") {
  for (const ConvCase& c : kCases) {
    Generator gen(2);
    const Tensor x = randn({c.n, c.cin, c.h, c.w}, {DType::Float64}, &gen);
    const Tensor w = randn({c.cout, c.cin / c.groups, c.kh, c.kw}, {DType::Float64}, &gen);
    const Tensor y_shape_probe = conv2d(x, w, Tensor(), c.stride, c.padding, c.dilation, c.groups);
    const Tensor y = randn(y_shape_probe.shape(), {DType::Float64}, &gen);
    // <conv2d(x), y> == <x, conv_transpose2d(y)>; the transposed conv's output_padding recovers x's size.
    const int64_t extra_h = x.size(2) - ((y.size(2) - 1) * c.stride[0] - 2 * c.padding[0] + c.dilation[0] * (c.kh - 1) + 1);
    const int64_t extra_w = x.size(3) - ((y.size(3) - 1) * c.stride[1] - 2 * c.padding[1] + c.dilation[1] * (c.kw - 1) + 1);
    const Tensor xt = conv_transpose2d(y, w, Tensor(), c.stride, c.padding, {extra_h, extra_w}, c.groups, c.dilation);
    REQUIRE(xt.shape() == x.shape());
    const double lhs = sum(mul(conv2d(x, w, Tensor(), c.stride, c.padding, c.dilation, c.groups), y)).item<double>();
    const double rhs = sum(mul(x, xt)).item<double>();
    REQUIRE(lhs == Approx(rhs).epsilon(1e-10));
  }
  // The W2 decoder's layer doubles the size: (7 - 1) * 2 - 2 + 4 = 14.
  const Tensor z = zeros({1, 64, 7, 7});
  REQUIRE(conv_transpose2d(z, zeros({64, 32, 4, 4}), zeros({32}), {2, 2}, {1, 1}).shape() == Shape{1, 32, 14, 14});
}

TEST_CASE("conv_transpose2d adds its bias per output channel", "[conv]") {
  const Tensor x = ones({1, 1, 2, 2}, {DType::Float64});
  const Tensor w = ones({1, 2, 1, 1}, {DType::Float64});
  const Tensor b = from_vector(std::vector<double>{10, 20}, {2});
  require_values(conv_transpose2d(x, w, b), {11, 11, 11, 11, 21, 21, 21, 21});
}

TEST_CASE("conv2d and conv_transpose2d gradients match finite differences", "[conv]") {
  for (const ConvCase& c : {kCases[1], kCases[2], kCases[3], kCases[5], kCases[6]}) {
    const Tensor x = leaf64({1, c.cin, std::min<int64_t>(c.h, 6), std::min<int64_t>(c.w, 6)}, 3);
    const Tensor w = leaf64({c.cout, c.cin / c.groups, c.kh, c.kw}, 4);
    const Tensor b = leaf64({c.cout}, 5);
    require_gradcheck(
        [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups); },
        {x, w, b});
  }
  // Transposed, with groups, output padding and a non-contiguous input.
  const Tensor x = leaf64({2, 4, 3, 4}, 6);
  const Tensor w = leaf64({4, 3, 3, 2}, 7);
  const Tensor b = leaf64({6}, 8);
  require_gradcheck(
      [](const std::vector<Tensor>& in) {
        return conv_transpose2d(transpose(transpose(in[0], 2, 3), 2, 3), in[1], in[2], {2, 2}, {1, 0}, {1, 1}, 2);
      },
      {x, w, b});
}

TEST_CASE("conv2d gradients over a batch that spans several weight-gradient chunks", "[conv]") {
  // 11 samples split into the kernel's 8 chunks of uneven size; every config of the forward table.
  for (const ConvCase& c : kCases) {
    const Tensor x = leaf64({11, c.cin, std::min<int64_t>(c.h, 5), std::min<int64_t>(c.w, 5)}, 10);
    const Tensor w = leaf64({c.cout, c.cin / c.groups, c.kh, c.kw}, 11);
    const Tensor b = leaf64({c.cout}, 12);
    require_gradcheck(
        [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups); },
        {x, w, b});
  }
}

TEST_CASE("conv2d bias gradient when the weight is frozen", "[conv]") {
  // Only the bias requires grad: its gradient is the sum of the output gradient per channel.
  Generator gen(13);
  const Tensor x = randn({3, 2, 5, 5}, {DType::Float64}, &gen);
  const Tensor w = randn({4, 2, 3, 3}, {DType::Float64}, &gen);
  Tensor b = zeros({4}, {DType::Float64}).set_requires_grad(true);
  const Tensor out = conv2d(x, w, b, {1, 1}, {1, 1});
  const Tensor g = randn(out.shape(), {DType::Float64}, &gen);
  sum(mul(out, g)).backward();
  REQUIRE_FALSE(w.grad().defined());
  require_values(b.grad(), sum(g, {0, 2, 3}).to_vector<double>(), 1e-12);
}

TEST_CASE("conv2d weight gradient does not depend on the thread count", "[conv]") {
  // float32 sums in a different order would differ in the last bits; the kernel fixes the order.
  Generator gen(14);
  const Tensor x = randn({37, 8, 12, 12}, {}, &gen);
  Tensor w = randn({16, 8, 3, 3}, {}, &gen).set_requires_grad(true);
  Tensor b = randn({16}, {}, &gen).set_requires_grad(true);
  const Tensor g = randn({37, 16, 6, 6}, {}, &gen);
  auto grads = [&] {
    w.zero_grad();
    b.zero_grad();
    conv2d(x, w, b, {2, 2}, {1, 1}).backward(g);
    return std::make_pair(w.grad().to_vector<float>(), b.grad().to_vector<float>());
  };
  const int threads = get_num_threads();
  set_num_threads(1);
  const auto serial = grads();
  set_num_threads(std::max(threads, 2));
  const auto parallel = grads();
  set_num_threads(threads);
  REQUIRE(serial.first == parallel.first);
  REQUIRE(serial.second == parallel.second);
}

TEST_CASE("conv2d's weight gradient from the forward's kept columns equals rebuilding them, bit for bit",
          "[conv]") {
  Backend& be = backend_for(Device{});
  for (const ConvCase& c : kCases) {
    Generator gen(15);
    const Tensor x = randn({c.n, c.cin, c.h, c.w}, {}, &gen);
    const Tensor w = randn({c.cout, c.cin / c.groups, c.kh, c.kw}, {}, &gen);
    const Tensor probe = conv2d(x, w, Tensor(), c.stride, c.padding, c.dilation, c.groups);
    Conv2dParams p;
    p.batch = c.n, p.in_channels = c.cin, p.in_h = c.h, p.in_w = c.w;
    p.out_channels = c.cout, p.out_h = probe.size(2), p.out_w = probe.size(3), p.kernel_h = c.kh, p.kernel_w = c.kw;
    p.stride_h = c.stride[0], p.stride_w = c.stride[1], p.pad_h = c.padding[0], p.pad_w = c.padding[1];
    p.dilation_h = c.dilation[0], p.dilation_w = c.dilation[1], p.groups = c.groups;
    const int64_t size = be.conv2d_columns_size(p);
    const bool pointwise = c.kh == 1 && c.kw == 1 && c.stride == Pair{1, 1} && c.padding == Pair{0, 0};
    REQUIRE(size == (pointwise ? 0 : c.n * c.cin * c.kh * c.kw * p.out_h * p.out_w));
    if (size == 0) continue;
    const Tensor columns = empty({size}, {});
    const Tensor out = empty(probe.shape(), {});
    be.conv2d_forward(DType::Float32, p, x.raw_data(), w.raw_data(), nullptr, out.raw_data(), columns.raw_data());
    REQUIRE(out.to_vector<float>() == probe.to_vector<float>());  // keeping the columns leaves the output alone
    const Tensor g = randn(probe.shape(), {}, &gen);
    const Tensor kept_w = empty(w.shape(), {}), kept_b = empty({c.cout}, {});
    const Tensor rebuilt_w = empty(w.shape(), {}), rebuilt_b = empty({c.cout}, {});
    // With columns the kernel must not read x: give it zeros in x's place.
    const Tensor unread = zeros(x.shape(), {});
    be.conv2d_backward_weight(DType::Float32, p, unread.raw_data(), g.raw_data(), kept_w.raw_data(),
                              kept_b.raw_data(), columns.raw_data());
    be.conv2d_backward_weight(DType::Float32, p, x.raw_data(), g.raw_data(), rebuilt_w.raw_data(),
                              rebuilt_b.raw_data(), nullptr);
    REQUIRE(kept_w.to_vector<float>() == rebuilt_w.to_vector<float>());
    REQUIRE(kept_b.to_vector<float>() == rebuilt_b.to_vector<float>());
  }
}

TEST_CASE("conv_transpose2d output size follows the formula", "[conv]") {
  struct Case {
    int64_t h, w, kh, kw;
    Pair stride, padding, output_padding, dilation;
  };
  for (const Case& c : std::vector<Case>{{7, 7, 4, 4, {2, 2}, {1, 1}, {0, 0}, {1, 1}},
                                         {5, 3, 3, 2, {3, 2}, {1, 0}, {2, 1}, {1, 1}},
                                         {4, 6, 3, 3, {1, 1}, {2, 1}, {1, 0}, {2, 1}},  // output_padding < dilation
                                         {1, 1, 1, 1, {1, 1}, {0, 0}, {0, 0}, {1, 1}}}) {
    const Tensor out = conv_transpose2d(zeros({2, 3, c.h, c.w}), zeros({3, 5, c.kh, c.kw}), Tensor(), c.stride, c.padding,
                                        c.output_padding, 1, c.dilation);
    const int64_t oh = (c.h - 1) * c.stride[0] - 2 * c.padding[0] + c.dilation[0] * (c.kh - 1) + c.output_padding[0] + 1;
    const int64_t ow = (c.w - 1) * c.stride[1] - 2 * c.padding[1] + c.dilation[1] * (c.kw - 1) + c.output_padding[1] + 1;
    REQUIRE(out.shape() == Shape{2, 5, oh, ow});
  }
  // output_padding beyond the stride (allowed by a larger dilation) leaves the extra rows to the taps
  // that reach them; the gradient still checks out.
  const Tensor x = leaf64({1, 2, 3, 3}, 15);
  const Tensor w = leaf64({2, 2, 2, 2}, 16);
  require_gradcheck(
      [](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], Tensor(), {1, 1}, {0, 0}, {1, 1}, 1, {2, 2}); },
      {x, w});
}

TEST_CASE("pooling and upsampling forward on hand-computed values", "[conv]") {
  // 4x4 input 0..15
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[i] = i;
  const Tensor x = from_vector(v, {1, 1, 4, 4});
  require_values(max_pool2d(x, {2, 2}), {5, 7, 13, 15});
  require_values(avg_pool2d(x, {2, 2}), {2.5, 4.5, 10.5, 12.5});
  // 3x3 windows with stride 2 and padding 1: the top-left window covers x[0..1][0..1] (sum 10) plus
  // 5 padding cells; the others cover 6, 6 and 9 real cells summing to 24, 51 and 90.
  require_values(max_pool2d(x, {3, 3}, {2, 2}, {1, 1}), {5, 7, 13, 15});
  require_values(avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, true), {10.0 / 9, 24.0 / 9, 51.0 / 9, 90.0 / 9});
  require_values(avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false), {10.0 / 4, 24.0 / 6, 51.0 / 6, 90.0 / 9});
  const Tensor small = from_vector(std::vector<double>{1, 2, 3, 4}, {1, 1, 2, 2});
  require_values(upsample_nearest2d(small, {2, 1}), {1, 2, 1, 2, 3, 4, 3, 4});
}

TEST_CASE("pooling and upsampling gradients match finite differences", "[conv]") {
  // Distinct values keep max pooling away from ties, where it is not differentiable.
  Tensor x = add(mul(leaf64({2, 2, 5, 6}, 9), 0.01), reshape(arange(0.0, 120.0, 1.0, {DType::Float64}), {2, 2, 5, 6}));
  x = x.detach().set_requires_grad(true);
  require_gradcheck([](const std::vector<Tensor>& in) { return max_pool2d(in[0], {2, 3}, {1, 2}, {1, 1}); }, {x});
  require_gradcheck([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], {3, 2}, {2, 1}, {1, 1}, true); }, {x});
  require_gradcheck([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], {3, 3}, {2, 2}, {1, 1}, false); }, {x});
  require_gradcheck([](const std::vector<Tensor>& in) { return upsample_nearest2d(in[0], {2, 3}); }, {x});
}

TEST_CASE("convolution and pooling reject bad input with clear messages", "[conv][errors]") {
  const Tensor x = zeros({2, 3, 8, 8});
  require_error([&] { conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})); }, {"conv2d", "[N, C, H, W]", "[3, 8, 8]"});
  require_error([&] { conv2d(x, zeros({4, 2, 3, 3})); }, {"conv2d", "[4, 2, 3, 3]", "expects 2 input channels", "3"});
  require_error([&] { conv2d(x, zeros({4, 1, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2); },
                {"conv2d", "groups (2)", "input channels (3)"});
  require_error([&] { conv2d(x, zeros({4, 3, 9, 3})); }, {"conv2d", "kernel spans 9", "height", "8"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {0, 1}); }, {"conv2d", "stride", "(0, 1)"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}), zeros({5})); }, {"conv2d", "bias", "[4]", "[5]"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}, {DType::Float64})); }, {"conv2d", "float32", "float64"});
  require_error([&] { conv_transpose2d(x, zeros({4, 2, 3, 3})); }, {"conv_transpose2d", "expects 4 input channels", "3"});
  require_error([&] { conv_transpose2d(x, zeros({3, 2, 3, 3}), Tensor(), {2, 2}, {0, 0}, {2, 0}); },
                {"conv_transpose2d", "output_padding (2, 0)", "stride (2, 2)"});
  require_error([&] { max_pool2d(x, {2, 2}, {2, 2}, {2, 0}); }, {"max_pool2d", "padding (2, 0)", "half"});
  require_error([&] { avg_pool2d(x, {9, 2}); }, {"avg_pool2d", "kernel spans 9", "8"});
  require_error([&] { upsample_nearest2d(x, {0, 2}); }, {"upsample_nearest2d", "scale", "(0, 2)"});
  require_error([&] { max_pool2d(zeros({2, 3, 8, 8}, {DType::Int64}), {2, 2}); }, {"max_pool2d", "int64"});
  require_error([&] { conv2d(Tensor(), zeros({4, 3, 3, 3})); }, {"conv2d", "input is undefined"});
  require_error([&] { conv2d(x, zeros({4, 3, 3})); }, {"conv2d", "weight must be 4-D", "[4, 3, 3]"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, {0, -1}); }, {"conv2d", "padding", "(0, -1)"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 0}); }, {"conv2d", "dilation", "(1, 0)"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 0); }, {"conv2d", "groups", "0"});
  require_error([&] { conv2d(x, zeros({4, 3, 3, 3}, {DType::Float32}), zeros({4}, {DType::Float64})); },
                {"conv2d", "float32", "float64"});
  require_error([&] { conv_transpose2d(x, zeros({3, 2, 3, 3}), Tensor(), {1, 1}, {0, 0}, {0, 0}, 2); },
                {"conv_transpose2d", "groups (2)", "input channels (3)"});
  require_error([&] { conv_transpose2d(x, zeros({3, 2, 3, 3}), zeros({3})); }, {"conv_transpose2d", "bias", "[2]", "[3]"});
  require_error([&] { conv_transpose2d(zeros({1, 3, 1, 1}), zeros({3, 2, 1, 1}), Tensor(), {1, 1}, {1, 1}); },
                {"conv_transpose2d", "[1, 3, 1, 1]", "empty output"});
  require_error([&] { avg_pool2d(x, {0, 2}); }, {"avg_pool2d", "kernel size", "(0, 2)"});
  require_error([&] { max_pool2d(zeros({8, 8}), {2, 2}); }, {"max_pool2d", "[N, C, H, W]", "[8, 8]"});
}
