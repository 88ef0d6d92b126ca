// Backend parity in the spirit of ggml's test-backend-ops: every op in the table runs in float32 on
// every device present and is compared, forward and backward, with the float64 CPU result by
// normalised mean squared error (NMSE = sum (y - ref)^2 / sum ref^2) within a per-op tolerance.
// A new backend joins by appearing in devices(); its results are then held to the CPU's float64.
#include <functional>

#include "engine/dispatch.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

struct ParityCase {
  const char* name;
  std::vector<Shape> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  double tolerance = 1e-10;   // NMSE, forward and gradients
  double scale = 1.0, shift = 0.0;  // inputs are shift + scale * N(0, 1)
};

// Devices usable here (CPU always; cuda:0 when a GPU is: the table runs on it in the CUDA suite,
// tests/cuda/, which reports itself skipped where there is none).
std::vector<Device> devices() {
  std::vector<Device> out{Device::cpu()};
  static bool warned = false;  // once per run, not once per table entry
  if (cuda_is_available()) {
    out.push_back(Device::cuda());
  } else if (!warned) {
    WARN("parity: no usable GPU (" << cuda_unavailable_reason() << "); only the CPU float32 path is compared");
    warned = true;
  }
  return out;
}

Tensor on(const Tensor& host, DType dtype, Device device) {
  const Tensor cast = to_dtype(host, dtype);
  return from_blob(contiguous(cast).raw_data(), host.shape(), dtype, device);
}

double nmse(const std::vector<double>& got, const std::vector<double>& ref) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) err += (got[i] - ref[i]) * (got[i] - ref[i]), norm += ref[i] * ref[i];
  return norm == 0 ? err : err / norm;
}

// Output and input gradients (for cotangent v) of `c` on `device` in `dtype`, as float64 vectors.
std::vector<std::vector<double>> evaluate(const ParityCase& c, const std::vector<Tensor>& host_inputs,
                                          const Tensor& host_v, DType dtype, Device device) {
  std::vector<Tensor> inputs;
  for (const Tensor& h : host_inputs) inputs.push_back(on(h, dtype, device).set_requires_grad(true));
  Tensor out = c.fn(inputs);
  std::vector<std::vector<double>> result{out.to_vector<double>()};
  std::vector<Tensor> grads = autograd::grad({out}, inputs, {on(host_v, dtype, device)}, false, true);
  for (const Tensor& g : grads) result.push_back(g.defined() ? g.to_vector<double>() : std::vector<double>());
  return result;
}

const std::vector<ParityCase>& cases() {
  using V = std::vector<Tensor>;
  static const std::vector<ParityCase> table = {
      {"add broadcast", {{3, 1}, {1, 4}}, [](const V& x) { return add(x[0], x[1]); }},
      {"sub", {{4, 5}, {5}}, [](const V& x) { return sub(x[0], x[1]); }},
      {"mul transposed", {{5, 4}, {4, 5}}, [](const V& x) { return mul(transpose(x[0], 0, 1), x[1]); }},
      {"div", {{4, 5}, {4, 5}}, [](const V& x) { return div(x[0], x[1]); }, 1e-10, 0.3, 2.0},
      {"pow", {{4, 5}, {5}}, [](const V& x) { return pow(x[0], x[1]); }, 1e-10, 0.2, 1.5},
      {"maximum", {{4, 5}, {4, 5}}, [](const V& x) { return maximum(x[0], x[1]); }},
      {"exp", {{6, 7}}, [](const V& x) { return exp(x[0]); }},
      {"log", {{6, 7}}, [](const V& x) { return log(x[0]); }, 1e-10, 0.3, 2.0},
      {"sqrt", {{6, 7}}, [](const V& x) { return sqrt(x[0]); }, 1e-10, 0.3, 2.0},
      {"rsqrt", {{6, 7}}, [](const V& x) { return rsqrt(x[0]); }, 1e-10, 0.3, 2.0},
      {"abs", {{6, 7}}, [](const V& x) { return abs(x[0]); }},
      {"clamp", {{6, 7}}, [](const V& x) { return clamp(x[0], -0.5, 0.5); }},
      {"scalar ops", {{6, 7}}, [](const V& x) { return rdiv(1.0, add(mul(square(x[0]), 2.0), 1.0)); }},
      {"relu", {{6, 7}}, [](const V& x) { return relu(x[0]); }},
      {"leaky_relu", {{6, 7}}, [](const V& x) { return leaky_relu(x[0], 0.2); }},
      {"elu", {{6, 7}}, [](const V& x) { return elu(x[0]); }},
      {"gelu", {{6, 7}}, [](const V& x) { return gelu(x[0]); }},
      {"silu", {{6, 7}}, [](const V& x) { return silu(x[0]); }},
      {"sigmoid", {{6, 7}}, [](const V& x) { return sigmoid(x[0]); }},
      {"tanh", {{6, 7}}, [](const V& x) { return tanh(x[0]); }},
      {"softplus", {{6, 7}}, [](const V& x) { return softplus(x[0]); }},
      {"log_sigmoid", {{6, 7}}, [](const V& x) { return log_sigmoid(x[0]); }},
      {"softmax dim 0", {{6, 7}}, [](const V& x) { return softmax(x[0], 0); }},
      {"log_softmax", {{6, 7}}, [](const V& x) { return log_softmax(x[0]); }},
      {"logsumexp", {{6, 7}}, [](const V& x) { return logsumexp(x[0], 1); }},
      {"sum dims", {{3, 4, 5}}, [](const V& x) { return sum(x[0], {0, 2}); }},
      {"mean", {{3, 4, 5}}, [](const V& x) { return mean(x[0], 1); }},
      {"var", {{3, 4, 5}}, [](const V& x) { return var(x[0], std::vector<int64_t>{2}); }},
      {"max dim", {{3, 4, 5}}, [](const V& x) { return max(x[0], 1).values; }},
      {"norm", {{3, 4, 5}}, [](const V& x) { return norm(x[0], 2.0, {1, 2}); }},
      {"big sum", {{1000, 300}}, [](const V& x) { return sum(x[0]); }},
      {"matmul", {{17, 33}, {33, 9}}, [](const V& x) { return matmul(x[0], x[1]); }},
      {"matmul batched broadcast", {{2, 1, 5, 6}, {3, 6, 4}}, [](const V& x) { return matmul(x[0], x[1]); }},
      {"matmul transposed", {{6, 5}, {4, 6}}, [](const V& x) { return matmul(transpose(x[0], 0, 1), t(x[1])); }},
      {"addmm", {{4}, {5, 6}, {6, 4}}, [](const V& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); }},
      {"linear 3-D", {{2, 3, 6}, {4, 6}, {4}}, [](const V& x) { return linear(x[0], x[1], x[2]); }},
      {"cat/slice/permute", {{4, 6}, {4, 3}},
       [](const V& x) { return permute(cat({slice(x[0], 1, 0, 6, 2), x[1]}, 0), {1, 0}); }},
      {"conv2d stride 2 pad 1", {{2, 3, 7, 7}, {4, 3, 3, 3}, {4}},
       [](const V& x) { return conv2d(x[0], x[1], x[2], {2, 2}, {1, 1}); }},
      {"conv2d groups dilation", {{2, 4, 6, 6}, {6, 2, 2, 2}},
       [](const V& x) { return conv2d(x[0], x[1], Tensor(), {1, 1}, {1, 1}, {2, 2}, 2); }},
      {"conv2d 1x1", {{3, 5, 4, 4}, {2, 5, 1, 1}, {2}}, [](const V& x) { return conv2d(x[0], x[1], x[2]); }},
      {"conv_transpose2d", {{2, 4, 4, 4}, {4, 3, 3, 3}, {3}},
       [](const V& x) { return conv_transpose2d(x[0], x[1], x[2], {2, 2}, {1, 1}, {1, 1}); }},
      {"max_pool2d pad", {{2, 3, 7, 7}}, [](const V& x) { return max_pool2d(x[0], {3, 3}, {2, 2}, {1, 1}); }},
      {"avg_pool2d", {{2, 3, 6, 6}}, [](const V& x) { return avg_pool2d(x[0], {2, 2}); }},
      {"avg_pool2d pad excluded", {{2, 3, 5, 5}},
       [](const V& x) { return avg_pool2d(x[0], {3, 3}, {2, 2}, {1, 1}, false); }},
      {"upsample_nearest2d", {{2, 3, 3, 4}}, [](const V& x) { return upsample_nearest2d(x[0], {2, 3}); }},
      {"bce_with_logits", {{8, 5}, {8, 5}},
       [](const V& x) { return binary_cross_entropy_with_logits(mul(x[0], 3.0), sigmoid(x[1]), Reduction::None); }},
      {"mse_loss", {{8, 5}, {8, 5}}, [](const V& x) { return mse_loss(x[0], x[1]); }},
      {"cross_entropy", {{6, 5}},
       [](const V& x) { return cross_entropy(x[0], from_vector(std::vector<int64_t>{0, 4, 2, 2, 1, 3}, {6}, x[0].device())); }},
      {"where", {{4, 5}, {4, 5}}, [](const V& x) { return where(gt(x[0], x[1]), x[0], mul(x[1], 2.0)); }},
      {"index_select/gather", {{5, 4}},
       [](const V& x) {
         Tensor rows = index_select(x[0], 0, from_vector(std::vector<int64_t>{4, 0, 4}, {3}, x[0].device()));
         return gather(rows, 1, from_vector(std::vector<int64_t>{3, 1, 0, 0, 2, 2}, {3, 2}, x[0].device()));
       }},
  };
  return table;
}

}  // namespace

TEST_CASE("backend parity: float32 on every device against float64 on the CPU", "[parity]") {
  const size_t index = GENERATE(range(size_t{0}, cases().size()));
  const ParityCase& c = cases()[index];
  INFO("op: " << c.name);
  std::vector<Tensor> host;
  uint64_t seed = 1000 + index * 10;
  for (const Shape& s : c.inputs) {
    Generator gen(seed++);
    host.push_back(add(mul(randn(s, {DType::Float64}, &gen), c.scale), c.shift));
  }
  // The float64 CPU result is the reference; its output shape gives the cotangent's.
  std::vector<Tensor> ref_inputs;
  for (const Tensor& h : host) ref_inputs.push_back(clone(h).set_requires_grad(true));
  Generator vgen(seed);
  const Tensor v = randn(c.fn(ref_inputs).shape(), {DType::Float64}, &vgen);
  const auto ref = evaluate(c, host, v, DType::Float64, Device::cpu());
  for (const Device& device : devices()) {
    INFO("device: " << device.str());
    const auto got = evaluate(c, host, v, DType::Float32, device);
    REQUIRE(got.size() == ref.size());
    for (size_t k = 0; k < ref.size(); ++k) {
      INFO((k == 0 ? std::string("output") : "gradient of input " + std::to_string(k - 1)));
      REQUIRE(got[k].size() == ref[k].size());
      const double e = nmse(got[k], ref[k]);
      INFO("NMSE " << e << " (tolerance " << c.tolerance << ")");
      REQUIRE(e <= c.tolerance);
    }
  }
}

TEST_CASE("parity harness detects a wrong result", "[parity]") {
  // The NMSE measure behind the table must flag float32 rounding as small and a real error as large.
  const std::vector<double> ref{1.0, -2.0, 3.0};
  REQUIRE(nmse({1.0000001, -2.0000002, 2.9999998}, ref) < 1e-12);
  REQUIRE(nmse({1.0, -2.0, 3.1}, ref) > 1e-4);
}
