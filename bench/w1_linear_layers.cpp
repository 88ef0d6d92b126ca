// W1's Linear layers through the engine alone: the forward and backward of its seven layers at
// batch 128 (strata's linear, and backward into the input, weight and bias from a fixed output
// gradient), on fixed inputs, with nothing else of a W1 step between them. Each layer is one
// forward and one backward, so every product runs as it does in W1: forward products split over
// the threads, a backward's two gradient products side by side. The layers are most of a W1 step
// (2.1 of 2.45 ms in a quiet step on 2 cores), and at batch 128 OpenBLAS runs their products below
// a 1024^3 product's speed, so this fraction of the sgemm limit is the most W1 could reach if the
// rest of its step (the loss, the sampling, Adam, the batch gather) cost nothing.
#include <vector>

#include "bench/timing.h"
#include "bench/w1_layers.h"
#include "bench/workloads.h"
#include "engine/creation.h"
#include "engine/random.h"
#include "ops/ops.h"

namespace strata::bench {

Figure run_w1_linear_layers() {
  struct Layer {
    Tensor x, weight, bias, grad_out;
  };
  Generator gen(3);
  std::vector<Layer> layers;
  for (const W1LinearShape& l : kW1Layers) {
    Layer layer{randn({kW1Batch, l.in}, {}, &gen), mul(randn({l.out, l.in}, {}, &gen), 0.05), zeros({l.out}),
                randn({kW1Batch, l.out}, {}, &gen)};
    layer.x.set_requires_grad(l.input_needs_grad);
    layer.weight.set_requires_grad(true);
    layer.bias.set_requires_grad(true);
    layers.push_back(std::move(layer));
  }
  auto step = [&] {
    for (Layer& l : layers) {
      l.x.zero_grad();
      l.weight.zero_grad();
      l.bias.zero_grad();
      linear(l.x, l.weight, l.bias).backward(l.grad_out);
    }
  };
  const double seconds = seconds_per_call(step, 1.0);
  return {"W1-layers", "GFLOP/s", w1_product_flops_per_image() * kW1Batch / seconds / 1e9,
          "strata's forward and backward of W1's seven Linear layers alone"};
}

}  // namespace strata::bench
