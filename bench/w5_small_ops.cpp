// W5: per-op dispatch and graph overhead. a: 64 floats requiring grad, b: 64 floats.
// One step = c = tanh(a*b + b).sum(); c.backward(). Reported in microseconds per step.
#include <chrono>

#include "bench/workloads.h"
#include "ops/ops.h"

namespace strata::bench {

Figure run_w5_small_ops(bool quick, Device device) {
  Generator gen(0);
  Tensor a = randn({64}, {DType::Float32, device}, &gen).set_requires_grad(true);
  Tensor b = randn({64}, {DType::Float32, device}, &gen);
  auto step = [&] {
    Tensor c = sum(tanh(add(mul(a, b), b)));
    c.backward();
  };
  step();  // warm-up
  const int steps = quick ? 2000 : 20000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  (void)a.grad().to_vector<float>();  // a GPU queues its kernels: wait for the last step's
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {"W5", "us/step", seconds * 1e6 / steps, std::to_string(steps) + " steps on " + device.str()};
}

}  // namespace strata::bench
