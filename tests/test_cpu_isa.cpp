// The CPU kernels' instruction-set variants (backends/cpu/cpu_isa.h): every variant this machine
// runs gives the baseline's bits (NaN for NaN), op by op, forward and backward, in float32 and float64, on
// contiguous, broadcast and transposed operands, with the special values (NaN, infinities, signed
// zero, exp's overflow and denormal ranges) mixed in.
#include <bit>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "backends/cpu/cpu_isa.h"
#include "engine/optim/adam.h"
#include "engine/optim/rmsprop.h"
#include "engine/optim/sgd.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;
using cpu::CpuIsa;

namespace {

// Restores the variant the process started with, whatever a test switched to.
struct IsaRestorer {
  CpuIsa saved = cpu::cpu_isa();
  ~IsaRestorer() { cpu::set_cpu_isa(saved); }
};

// 517 x 67: neither dimension a multiple of any vector width, so every loop has a tail.
Tensor battery_input(DType dtype) {
  Generator gen(11);
  Tensor x = mul(randn({517, 67}, {DType::Float64}, &gen), 6.0);
  std::vector<double> v = x.to_vector<double>();
  const double inf = std::numeric_limits<double>::infinity();
  const double specials[] = {std::nan(""), inf,   -inf,   0.0,    -0.0,  88.7,
                             89.0,         -87.0, -104.5, -120.0, 1e-30, 20.0};
  for (size_t i = 0; i < std::size(specials); ++i) v[i * 97] = specials[i];
  return to_dtype(from_vector(v, {517, 67}), dtype);
}

// A name for each result, for the failure message.
using Results = std::vector<std::pair<std::string, Tensor>>;

Results run_battery(DType dtype) {
  Results out;
  const Tensor x = battery_input(dtype);
  const Tensor xt = transpose(x, 0, 1);   // a strided operand
  const Tensor row = narrow(x, 0, 5, 1);  // [1, 67], broadcast over rows
  const Tensor col = narrow(x, 1, 3, 1);  // [517, 1], broadcast over columns
  Generator gen(12);
  const Tensor w =
      to_dtype(randn({517, 67}, {DType::Float64}, &gen), dtype);  // weights of the summed outputs
  auto add_result = [&](const std::string& name, const Tensor& t) { out.emplace_back(name, t); };

  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> unaries = {
      {"exp", [](const Tensor& a) { return exp(a); }},
      {"expm1", [](const Tensor& a) { return expm1(a); }},
      {"sigmoid", [](const Tensor& a) { return sigmoid(a); }},
      {"silu", [](const Tensor& a) { return silu(a); }},
      {"tanh", [](const Tensor& a) { return tanh(a); }},
      {"softplus", [](const Tensor& a) { return softplus(a); }},
      {"log_sigmoid", [](const Tensor& a) { return log_sigmoid(a); }},
      {"gelu", [](const Tensor& a) { return gelu(a); }},
      {"elu", [](const Tensor& a) { return elu(a); }},
      {"relu", [](const Tensor& a) { return relu(a); }},
      {"leaky_relu", [](const Tensor& a) { return leaky_relu(a, 0.1); }},
      {"sqrt_abs", [](const Tensor& a) { return sqrt(abs(a)); }},
      {"log1p_abs", [](const Tensor& a) { return log1p(abs(a)); }},
      {"reciprocal", [](const Tensor& a) { return reciprocal(a); }},
      {"clamp", [](const Tensor& a) { return clamp(a, -2.5, 3.5); }},
      {"square", [](const Tensor& a) { return square(a); }},
      {"gt", [](const Tensor& a) { return to_dtype(gt(a, 0.5), a.dtype()); }},
  };
  for (const auto& [name, f] : unaries) {
    add_result(name, f(x));
    add_result(name + " of transpose", f(xt));
    // The backward kernels: the gradient of sum(f(x) * w) for a fixed w.
    Tensor leaf = clone(x).set_requires_grad(true);
    if (name != "gt") {
      sum(mul(f(leaf), w)).backward();
      add_result(name + " backward", leaf.grad());
    }
  }

  add_result("add row", add(x, row));
  add_result("mul col", mul(x, col));
  add_result("div", div(x, add(abs(transpose(xt, 0, 1)), 0.5)));
  add_result("sub transpose", sub(xt, transpose(expand(row, {517, 67}), 0, 1)));
  add_result("maximum", maximum(x, col));
  add_result("pow", pow(abs(x), 1.7));
  add_result("where", where(gt(x, 0.0), x, mul(x, 0.25)));
  add_result("bce", binary_cross_entropy_with_logits(x, sigmoid(transpose(xt, 0, 1)), Reduction::None));
  {
    Tensor leaf = clone(x).set_requires_grad(true);
    binary_cross_entropy_with_logits(leaf, sigmoid(w), Reduction::Sum).backward();
    add_result("bce backward", leaf.grad());
  }

  // Reductions: the column pass (dim 0), rows (dim 1), everything, a strided input.
  const Tensor finite = tanh(x);
  add_result("sum dim 0", sum(finite, 0));
  add_result("sum dim 1", sum(finite, 1));
  add_result("sum all", sum(finite));
  add_result("sum transpose dim 1", sum(transpose(finite, 0, 1), 1));
  add_result("max dim 0", max(x, 0).values);
  add_result("argmin dim 1", to_dtype(min(x, 1).indices, dtype));
  add_result("var dim 0", var(finite, {0}));
  add_result("logsumexp", logsumexp(finite, 1));
  add_result("softmax", softmax(finite, 1));
  {
    Tensor leaf = clone(finite).set_requires_grad(true);
    sum(mul(log_softmax(leaf, 1), w)).backward();
    add_result("log_softmax backward", leaf.grad());
  }

  // Optimizer steps: Adam, AdamW with weight decay and amsgrad, SGD with Nesterov momentum, RMSprop.
  auto optimizer_result = [&](const std::string& name, auto make) {
    Tensor param = clone(finite).set_requires_grad(true);
    auto opt = make(std::vector<Tensor>{param});
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      sum(mul(square(param), add(w, static_cast<double>(step)))).backward();
      opt.step();
    }
    add_result(name, param);
  };
  optimizer_result("adam", [](std::vector<Tensor> p) { return optim::Adam(std::move(p), {.lr = 1e-2}); });
  optimizer_result("adamw amsgrad", [](std::vector<Tensor> p) {
    return optim::AdamW(std::move(p), {.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
  });
  optimizer_result("sgd nesterov", [](std::vector<Tensor> p) {
    return optim::SGD(std::move(p), {.lr = 1e-2, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
  });
  optimizer_result("rmsprop", [](std::vector<Tensor> p) {
    return optim::RMSprop(std::move(p), {.lr = 1e-2, .momentum = 0.5});
  });
  return out;
}

// Equal bits, except that any NaN equals any NaN: which operand's NaN an instruction passes on
// (and so its sign bit) differs between the SSE and the VEX encodings of the same operation.
bool same_bits(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

}  // namespace

TEST_CASE("every CPU instruction-set variant gives the baseline's bits", "[cpu-isa]") {
  IsaRestorer restore;
  const CpuIsa best = cpu::best_cpu_isa();
  INFO("this machine and build: best variant " << cpu::cpu_isa_name(best));
  for (DType dtype : {DType::Float32, DType::Float64}) {
    cpu::set_cpu_isa(CpuIsa::Baseline);
    const Results expected = run_battery(dtype);
    const std::vector<double> input = battery_input(dtype).to_vector<double>();
    for (CpuIsa isa : {CpuIsa::Avx2, CpuIsa::Avx512}) {
      if (static_cast<int>(isa) > static_cast<int>(best)) continue;
      cpu::set_cpu_isa(isa);
      REQUIRE(cpu::cpu_isa() == isa);
      const Results got = run_battery(dtype);
      REQUIRE(got.size() == expected.size());
      for (size_t i = 0; i < got.size(); ++i) {
        const std::vector<double> g = got[i].second.to_vector<double>(),
                                  e = expected[i].second.to_vector<double>();
        REQUIRE(g.size() == e.size());
        size_t differing = 0, first = 0;
        for (size_t j = 0; j < g.size(); ++j)
          if (!same_bits(g[j], e[j]) && !differing++) first = j;
        INFO(cpu::cpu_isa_name(isa) << " " << dtype_name(dtype) << " " << got[i].first << ": " << differing
                                    << " elements differ, the first at " << first << ": " << g[first]
                                    << " vs " << e[first] << " (input "
                                    << input[first % input.size()] << ")");
        REQUIRE(differing == 0);
      }
    }
  }
}

TEST_CASE("CPU instruction-set names parse, and unknown or unavailable ones are refused", "[cpu-isa]") {
  for (CpuIsa isa : {CpuIsa::Baseline, CpuIsa::Avx2, CpuIsa::Avx512})
    REQUIRE(cpu::parse_cpu_isa(cpu::cpu_isa_name(isa)) == isa);
  require_error([] { cpu::parse_cpu_isa("sse9"); }, {"STRATA_CPU_ISA", "'sse9'", "baseline, avx2 or avx512"});
  IsaRestorer restore;
  if (cpu::best_cpu_isa() != CpuIsa::Avx512) {
    require_error([] { cpu::set_cpu_isa(CpuIsa::Avx512); }, {"set_cpu_isa", "avx512 is not available"});
  }
  cpu::set_cpu_isa(CpuIsa::Baseline);
  REQUIRE(cpu::cpu_isa() == CpuIsa::Baseline);
}

// Run by ctest with STRATA_CPU_ISA=baseline in the environment (tests/CMakeLists.txt): the cap
// holds from the first kernel call on.
TEST_CASE("STRATA_CPU_ISA caps the variant", "[.cpu-isa-env]") {
  const char* env = std::getenv("STRATA_CPU_ISA");
  REQUIRE(env != nullptr);
  REQUIRE(cpu::cpu_isa() == cpu::parse_cpu_isa(env));
  REQUIRE(sum(silu(ones({3}))).item<float>() == Approx(3 * 0.7310586));
}
