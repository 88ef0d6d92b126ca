// Matrix products against naive loops: 1-D/2-D/batched/broadcast matmul, transposed operands,
// addmm, linear, dot, outer, bmm; gradients and bad input.
#include <limits>
#include <utility>

#include "engine/dispatch.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

// C[b] = A[b] @ B[b] for contiguous [batch, n, k] and [batch, k, m] value arrays (batch 1 broadcasts).
std::vector<double> naive_bmm(const std::vector<double>& a, const std::vector<double>& b, int64_t ba, int64_t bb,
                              int64_t n, int64_t k, int64_t m) {
  const int64_t batch = std::max(ba, bb);
  std::vector<double> c(static_cast<size_t>(batch * n * m), 0.0);
  for (int64_t p = 0; p < batch; ++p) {
    const double* A = a.data() + (ba == 1 ? 0 : p) * n * k;
    const double* B = b.data() + (bb == 1 ? 0 : p) * k * m;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t q = 0; q < k; ++q) s += A[i * k + q] * B[q * m + j];
        c[p * n * m + i * m + j] = s;
      }
  }
  return c;
}

Tensor rnd(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, {DType::Float64}, &gen);
}

}  // namespace

TEST_CASE("matmul of 2-D matrices against a hand-computed product", "[linalg]") {
  Tensor a = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor64({7, 8, 9, 10, 11, 12}, {3, 2});
  require_values(matmul(a, b), {58, 64, 139, 154});
  require_values(matmul(b, a), {39, 54, 69, 49, 68, 87, 59, 82, 105});
  // float32 gives the same.
  require_values(matmul(to_dtype(a, DType::Float32), to_dtype(b, DType::Float32)), {58, 64, 139, 154});
}

TEST_CASE("matmul with 1-D operands", "[linalg]") {
  Tensor v = tensor64({1, 2, 3}, {3});
  Tensor m = tensor64({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor vm = matmul(v, m);
  REQUIRE(vm.shape() == Shape{2});
  require_values(vm, {22, 28});
  Tensor mv = matmul(transpose(m, 0, 1), v);
  REQUIRE(mv.shape() == Shape{2});
  require_values(mv, {22, 28});
  Tensor vv = matmul(v, v);
  REQUIRE(vv.dim() == 0);
  REQUIRE(vv.item<double>() == 14);
  // 1-D with a batch: [3] @ [2, 3, 2] -> [2, 2]; [2, 2, 3] @ [3] -> [2, 2]
  Tensor bm = rnd({2, 3, 2}, 1);
  Tensor r = matmul(v, bm);
  REQUIRE(r.shape() == Shape{2, 2});
  const std::vector<double> bv = bm.to_vector<double>();
  require_values(r, naive_bmm({1, 2, 3}, bv, 1, 2, 1, 3, 2), 1e-12);
  Tensor l = matmul(rnd({2, 2, 3}, 2), v);
  REQUIRE(l.shape() == Shape{2, 2});
  require_values(l, naive_bmm(rnd({2, 2, 3}, 2).to_vector<double>(), {1, 2, 3}, 2, 1, 2, 3, 1), 1e-12);
}

TEST_CASE("batched matmul with broadcast batch dims", "[linalg]") {
  // [2, 1, 3, 4] @ [5, 4, 2] -> [2, 5, 3, 2]
  Tensor a = rnd({2, 1, 3, 4}, 3), b = rnd({5, 4, 2}, 4);
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 5, 3, 2});
  const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j)
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 2; ++s) {
          double e = 0;
          for (int q = 0; q < 4; ++q) e += av[i * 12 + r * 4 + q] * bv[j * 8 + q * 2 + s];
          REQUIRE(cv[((i * 5 + j) * 3 + r) * 2 + s] == Approx(e).margin(1e-12));
        }
  // [4, 3, 2] @ [2, 5] (one big product) and [3, 2] @ [4, 2, 5]
  Tensor x = rnd({4, 3, 2}, 5), w = rnd({2, 5}, 6);
  require_values(matmul(x, w), naive_bmm(x.to_vector<double>(), w.to_vector<double>(), 4, 1, 3, 2, 5), 1e-12);
  Tensor y = rnd({4, 2, 5}, 7), z = rnd({3, 2}, 8);
  require_values(matmul(z, y), naive_bmm(z.to_vector<double>(), y.to_vector<double>(), 1, 4, 3, 2, 5), 1e-12);
  // Batch 1 against an empty batch is empty.
  REQUIRE(matmul(rnd({1, 3, 2}, 9), zeros({0, 2, 4}, {DType::Float64})).shape() == Shape{0, 3, 4});
}

TEST_CASE("matmul reads transposed, sliced and expanded operands", "[linalg]") {
  Tensor a = rnd({4, 3}, 11), b = rnd({5, 4}, 12);
  const std::vector<double> at = contiguous(transpose(a, 0, 1)).to_vector<double>();  // [3, 4]
  const std::vector<double> bt = contiguous(transpose(b, 0, 1)).to_vector<double>();  // [4, 5]
  // Both operands transposed (BLAS flags), results checked against loops on copies.
  require_values(matmul(transpose(a, 0, 1), transpose(b, 0, 1)), naive_bmm(at, bt, 1, 1, 3, 4, 5), 1e-12);
  // A column slice with step (neither layout BLAS takes: copied).
  Tensor big = rnd({4, 10}, 13);
  Tensor sl = slice(big, 1, 0, 10, 2);  // [4, 5]
  require_values(matmul(transpose(a, 0, 1), sl), naive_bmm(at, contiguous(sl).to_vector<double>(), 1, 1, 3, 4, 5), 1e-12);
  // A row slice keeps unit column stride but a larger leading dimension.
  Tensor rows = slice(rnd({8, 5}, 14), 0, 0, 8, 2);  // [4, 5], row stride 10
  require_values(matmul(transpose(a, 0, 1), rows), naive_bmm(at, contiguous(rows).to_vector<double>(), 1, 1, 3, 4, 5),
                 1e-12);
  // An expanded (stride-0) operand.
  Tensor e = expand(tensor64({1, 2, 3, 4, 5}, {1, 5}), {4, 5});
  require_values(matmul(transpose(a, 0, 1), e), naive_bmm(at, contiguous(e).to_vector<double>(), 1, 1, 3, 4, 5), 1e-12);
  // Batched transposed operands: permute a [2, 3, 4] to [2, 4, 3].
  Tensor p = rnd({2, 3, 4}, 15), q = rnd({2, 3, 2}, 16);
  Tensor pt = transpose(p, 1, 2);
  require_values(matmul(pt, q), naive_bmm(contiguous(pt).to_vector<double>(), q.to_vector<double>(), 2, 2, 4, 3, 2),
                 1e-12);
}

TEST_CASE("matmul edge shapes: size-1 and empty dims", "[linalg]") {
  require_values(matmul(tensor64({2}, {1, 1}), tensor64({3}, {1, 1})), {6});
  Tensor k0 = matmul(zeros({2, 0}, {DType::Float64}), zeros({0, 3}, {DType::Float64}));
  REQUIRE(k0.shape() == Shape{2, 3});
  require_values(k0, {0, 0, 0, 0, 0, 0});  // an empty sum is 0
  REQUIRE(matmul(zeros({0, 4}), zeros({4, 3})).shape() == Shape{0, 3});
  REQUIRE(dot(zeros({0}, {DType::Float64}), zeros({0}, {DType::Float64})).item<double>() == 0);
}

TEST_CASE("bmm, dot, outer", "[linalg]") {
  Tensor a = rnd({3, 2, 4}, 21), b = rnd({3, 4, 5}, 22);
  Tensor c = bmm(a, b);
  REQUIRE(c.shape() == Shape{3, 2, 5});
  require_values(c, naive_bmm(a.to_vector<double>(), b.to_vector<double>(), 3, 3, 2, 4, 5), 1e-12);
  REQUIRE(dot(tensor64({1, 2, 3}, {3}), tensor64({4, -5, 6}, {3})).item<double>() == 12);
  Tensor o = outer(tensor64({1, 2}, {2}), tensor64({3, 4, 5}, {3}));
  REQUIRE(o.shape() == Shape{2, 3});
  require_values(o, {3, 4, 5, 6, 8, 10});
  // Strided vectors.
  Tensor s = slice(tensor64({1, 0, 2, 0, 3, 0}, {6}), 0, 0, 6, 2);
  REQUIRE(dot(s, s).item<double>() == 14);
  require_values(outer(s, tensor64({1, -1}, {2})), {1, -1, 2, -2, 3, -3});
}

TEST_CASE("addmm with alpha and beta, broadcast bias", "[linalg]") {
  Tensor bias = tensor64({1, 2}, {2});
  Tensor a = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = tensor64({7, 8, 9, 10, 11, 12}, {3, 2});
  require_values(addmm(bias, a, b), {59, 66, 140, 156});
  require_values(addmm(bias, a, b, 0.5, 2.0), {116.5, 129, 278.5, 309});
  require_values(addmm(tensor64({10, 20, 30, 40}, {2, 2}), a, b, -1.0, 0.0), {-10, -20, -30, -40});
  require_values(addmm(tensor64({1, -1}, {2, 1}), transpose(b, 0, 1), transpose(a, 0, 1)),
                 {59, 140, 63, 153});
  require_values(addmm(scalar_tensor(1.0, {DType::Float64}), a, b), {59, 65, 140, 155});
}

TEST_CASE("linear with and without bias, 1-D, 2-D and 3-D input", "[linalg]") {
  Tensor w = tensor64({1, 0, -1, 2, 1, 0}, {2, 3});  // [out=2, in=3]
  Tensor bias = tensor64({0.5, -0.5}, {2});
  Tensor x = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  require_values(linear(x, w), {-2, 4, -2, 13});
  require_values(linear(x, w, bias), {-1.5, 3.5, -1.5, 12.5});
  Tensor v = linear(tensor64({1, 2, 3}, {3}), w, bias);
  REQUIRE(v.shape() == Shape{2});
  require_values(v, {-1.5, 3.5});
  Tensor x3 = reshape(cat({x, x}, 0), {2, 2, 3});
  Tensor y3 = linear(x3, w, bias);
  REQUIRE(y3.shape() == Shape{2, 2, 2});
  require_values(y3, {-1.5, 3.5, -1.5, 12.5, -1.5, 3.5, -1.5, 12.5});
  require_values(linear(transpose(tensor64({1, 4, 2, 5, 3, 6}, {3, 2}), 0, 1), w), {-2, 4, -2, 13});
}

// --- gradients ---

TEST_CASE("gradients of matmul in every rank combination", "[linalg][grad]") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3}, {3}},       {{3}, {3, 2}},          {{2, 3}, {3}},      {{2, 3}, {3, 4}},
      {{2, 2, 3}, {3, 4}}, {{3}, {2, 3, 4}},    {{2, 1, 2, 3}, {3, 3, 2}}, {{1, 2, 3}, {2, 3, 2}},
  };
  uint64_t seed = 100;
  for (const auto& [sa, sb] : shapes) {
    INFO(shape_str(sa) << " @ " << shape_str(sb));
    require_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
                      {leaf64(sa, seed), leaf64(sb, seed + 1)});
    seed += 2;
  }
  // Transposed and sliced operands inside the checked function.
  require_gradcheck([](const std::vector<Tensor>& in) { return matmul(transpose(in[0], 0, 1), slice(in[1], 1, 0, 6, 2)); },
                    {leaf64({3, 2}, 120), leaf64({3, 6}, 121)});
  require_gradcheck([](const std::vector<Tensor>& in) { return matmul(transpose(in[0], 1, 2), in[1]); },
                    {leaf64({2, 3, 2}, 122), leaf64({3, 4}, 123)});
}

TEST_CASE("gradients of bmm, addmm, linear, dot, outer", "[linalg][grad]") {
  require_gradcheck([](const std::vector<Tensor>& in) { return bmm(in[0], transpose(in[1], 1, 2)); },
                    {leaf64({2, 3, 4}, 131), leaf64({2, 2, 4}, 132)});
  require_gradcheck([](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2], 0.5, -2.0); },
                    {leaf64({4}, 133), leaf64({3, 2}, 134), leaf64({2, 4}, 135)});
  require_gradcheck([](const std::vector<Tensor>& in) { return addmm(in[0], transpose(in[1], 0, 1), in[2]); },
                    {leaf64({3, 1}, 136), leaf64({2, 3}, 137), leaf64({2, 4}, 138)});
  require_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
                    {leaf64({2, 2, 3}, 139), leaf64({4, 3}, 140), leaf64({4}, 141)});
  require_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
                    {leaf64({5, 3}, 142), leaf64({4, 3}, 143)});
  require_gradcheck([](const std::vector<Tensor>& in) { return dot(in[0], in[1]); }, {leaf64({5}, 144), leaf64({5}, 145)});
  require_gradcheck([](const std::vector<Tensor>& in) { return outer(in[0], slice(in[1], 0, 0, 6, 2)); },
                    {leaf64({2}, 146), leaf64({6}, 147)});
}

TEST_CASE("gradient products issued as one group (side by side on 2 threads) match naive products", "[linalg][grad]") {
  ThreadCountGuard guard;
  // Values are sums of 50 to 128 products of N(0, 1) numbers (magnitudes up to ~30), in float64;
  // OpenBLAS blocks the sums in another order than the naive loop, which moves the last few bits
  // (~1e-14). 1e-10 is far above that and far below any wrong element, transpose or missed
  // batch (errors of order 1).
  // Each product has well over 2^16 multiply-adds, so on 2 threads the CPU backend runs a
  // layer's two gradient products one per thread instead of splitting each.
  for (int threads : {1, 2}) {
    INFO(threads << " threads");
    set_num_threads(threads);
    // A Linear layer: grad_x = G W, grad_W = G^T x, grad_b = column sums of G.
    const int64_t n = 64, in = 96, out = 80;
    Tensor x = leaf64({n, in}, 150), w = leaf64({out, in}, 151), bias = leaf64({out}, 152);
    const Tensor g = rnd({n, out}, 153);
    sum(mul(linear(x, w, bias), g)).backward();
    const std::vector<double> gv = g.to_vector<double>(), xv = x.to_vector<double>(), wv = w.to_vector<double>();
    require_values(x.grad(), naive_bmm(gv, wv, 1, 1, n, out, in), 1e-10);
    require_values(w.grad(), naive_bmm(contiguous(t(g)).to_vector<double>(), xv, 1, 1, out, n, in), 1e-10);
    require_values(bias.grad(), sum(g, 0).to_vector<double>(), 1e-10);
    REQUIRE(w.grad().is_contiguous());  // computed transposed, as the product of t(weight)

    // bmm with a broadcast batch: grad_A = G B^T per batch, grad_B sums G's batches back.
    const int64_t batch = 3, r = 40, k = 50, c = 60;
    Tensor a = leaf64({batch, r, k}, 154), b = leaf64({1, k, c}, 155);
    const Tensor gb = rnd({batch, r, c}, 156);
    sum(mul(matmul(a, b), gb)).backward();
    require_values(a.grad(), naive_bmm(gb.to_vector<double>(), contiguous(transpose(b, 1, 2)).to_vector<double>(), batch, 1, r, c, k),
                   1e-10);
    const std::vector<double> per_batch = naive_bmm(contiguous(transpose(a, 1, 2)).to_vector<double>(),
                                                    gb.to_vector<double>(), batch, batch, k, r, c);
    std::vector<double> summed(static_cast<size_t>(k * c), 0.0);
    for (int64_t p = 0; p < batch; ++p)
      for (int64_t i = 0; i < k * c; ++i) summed[i] += per_batch[p * k * c + i];
    require_values(b.grad(), summed, 1e-10);
  }
}

TEST_CASE("Backend::gemm_group runs mixed products, small and empty ones included", "[linalg]") {
  ThreadCountGuard guard;
  set_num_threads(2);
  // Two products worth a thread each, then a group with a tiny one and one with k = 0 (C = beta C),
  // which run in turn. The products compare with a margin of 1e-12 (float64, values up to ~30,
  // BLAS summing in another order than the naive loop moves ~1e-14); C = beta C is exact.
  const std::vector<double> a1 = rnd({70, 60}, 160).to_vector<double>(), b1 = rnd({60, 50}, 161).to_vector<double>();
  const std::vector<double> a2 = rnd({50, 80}, 162).to_vector<double>(), b2 = rnd({80, 40}, 163).to_vector<double>();
  std::vector<double> c1(70 * 50, -1.0), c2(50 * 40, -1.0), c3(2 * 2, -1.0), c4(3 * 3, 7.0);
  auto call = [](const std::vector<double>& a, const std::vector<double>& b, std::vector<double>& c, int64_t m,
                 int64_t n, int64_t k, double beta) {
    return GemmCall{DType::Float64, false, false, m, n, k, 1.0, a.data(), k, 0, b.data(), n, 0, beta, c.data(), n, 0, 1};
  };
  Backend& cpu = backend_for(Device::cpu());
  const GemmCall big[] = {call(a1, b1, c1, 70, 50, 60, 0.0), call(a2, b2, c2, 50, 40, 80, 0.0)};
  cpu.gemm_group(big, 2);
  const std::vector<double> want1 = naive_bmm(a1, b1, 1, 1, 70, 60, 50), want2 = naive_bmm(a2, b2, 1, 1, 50, 80, 40);
  for (size_t i = 0; i < c1.size(); ++i) REQUIRE(c1[i] == Approx(want1[i]).margin(1e-12));
  for (size_t i = 0; i < c2.size(); ++i) REQUIRE(c2[i] == Approx(want2[i]).margin(1e-12));
  const GemmCall mixed[] = {call(a1, b1, c3, 2, 2, 3, 0.0), call(a1, b1, c4, 3, 3, 0, 0.5)};
  cpu.gemm_group(mixed, 2);
  // c3 = first 2x3 block of a1 (row stride 3) times the first 3x2 of b1 (row stride 2).
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      double s = 0;
      for (int64_t q = 0; q < 3; ++q) s += a1[i * 3 + q] * b1[q * 2 + j];
      REQUIRE(c3[i * 2 + j] == Approx(s).margin(1e-12));
    }
  for (double v : c4) REQUIRE(v == 3.5);
}

TEST_CASE("Backend::gemm with beta = 0 overwrites C, NaN included, and only C's own block", "[linalg]") {
  ThreadCountGuard guard;
  set_num_threads(2);
  // beta = 0 means C's old values are never read (BLAS): the CPU backend clears C itself before
  // accumulating into it (backends/cpu/blas.h). C here is a 40 x 64 block of a 40 x 70 buffer
  // (ldc 70) holding NaN, products big enough to be split over both threads, by columns (m < n)
  // and by rows (m > n, the second call on the transposed shape). The 6 columns past the block
  // keep their sentinel. Any NaN left in C fails the comparison whatever its margin; the margin
  // only covers float32 summation against the float64 reference: values reach 28, errors 6e-6,
  // and k = 50 terms of float32 rounding bound them near 1e-4.
  for (const auto& [m, n] : {std::pair<int64_t, int64_t>{40, 64}, std::pair<int64_t, int64_t>{64, 40}}) {
    const int64_t k = 50, ldc = n + 6;
    const Tensor a = to_dtype(rnd({m, k}, 170), DType::Float32), b = to_dtype(rnd({k, n}, 171), DType::Float32);
    const std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>();
    std::vector<float> c(static_cast<size_t>(m * ldc), std::numeric_limits<float>::quiet_NaN());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = n; j < ldc; ++j) c[i * ldc + j] = 5.0f;
    backend_for(Device::cpu())
        .gemm(DType::Float32, false, false, m, n, k, 1.0, av.data(), k, 0, bv.data(), n, 0, 0.0, c.data(), ldc, 0, 1);
    const std::vector<double> want = naive_bmm(to_dtype(a, DType::Float64).to_vector<double>(),
                                               to_dtype(b, DType::Float64).to_vector<double>(), 1, 1, m, k, n);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) REQUIRE(c[i * ldc + j] == Approx(want[i * n + j]).margin(1e-4));
      for (int64_t j = n; j < ldc; ++j) REQUIRE(c[i * ldc + j] == 5.0f);
    }
  }
}

// --- bad input ---

TEST_CASE("matrix products reject mismatched shapes and dtypes", "[linalg][errors]") {
  require_error([] { matmul(ones({128, 784}), ones({512, 256})); }, {"matmul", "[128, 784]", "[512, 256]"});
  require_error([] { matmul(ones({3}), ones({4})); }, {"dot", "[3]", "[4]"});
  require_error([] { matmul(ones({2, 3}), ones({4})); }, {"matmul", "[2, 3]", "[4, 1]"});
  require_error([] { matmul(ones({2, 2, 3}), ones({2, 4, 3})); }, {"matmul", "[2, 2, 3]", "[2, 4, 3]"});
  require_error([] { matmul(ones({2, 2, 3}), ones({3, 3, 4})); }, {"matmul", "[2]", "[3]"});
  require_error([] { matmul(ones({2, 3}), ones({3, 2}, {DType::Float64})); }, {"matmul", "float32", "float64"});
  require_error([] { matmul(ones({2, 3}, {DType::Int64}), ones({3, 2}, {DType::Int64})); }, {"matmul", "int64", "[2, 3]"});
  require_error([] { matmul(scalar_tensor(1.0), ones({2})); }, {"matmul", "at least one dim"});
  require_error([] { bmm(ones({2, 2, 3}), ones({3, 3, 2})); }, {"bmm", "[2, 2, 3]", "[3, 3, 2]"});
  require_error([] { bmm(ones({2, 3}), ones({3, 2})); }, {"bmm", "[2, 3]"});
  require_error([] { addmm(ones({2}), ones({2, 3}), ones({2, 2})); }, {"addmm", "[2, 3]", "[2, 2]"});
  require_error([] { addmm(ones({3}), ones({2, 3}), ones({3, 2})); }, {"addmm", "[3]", "[2, 2]"});
  require_error([] { addmm(ones({2, 2, 2}), ones({2, 3}), ones({3, 2})); }, {"addmm", "[2, 2, 2]", "[2, 2]"});
  require_error([] { addmm(ones({2}, {DType::Float64}), ones({2, 3}), ones({3, 2})); }, {"addmm", "float64", "float32"});
  require_error([] { linear(ones({2, 5}), ones({4, 3})); }, {"linear", "[2, 5]", "[4, 3]"});
  require_error([] { linear(ones({2, 3}), ones({4, 3}), ones({3})); }, {"linear", "bias", "[3]", "[4, 3]"});
  require_error([] { dot(ones({2, 2}), ones({2, 2})); }, {"dot", "1-D", "[2, 2]"});
  require_error([] { outer(ones({2, 1}), ones({2})); }, {"outer", "1-D", "[2, 1]"});
}
