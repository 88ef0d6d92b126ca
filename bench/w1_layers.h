// The seven Linear layers of W1 (WORKLOADS.md) at its batch of 128, for the figures that time
// parts of a W1 step on their own (bench/w1_bare_products.cpp, bench/w1_linear_layers.cpp).
#pragma once

namespace strata::bench {

struct W1LinearShape {
  int in, out;
  bool input_needs_grad;  // false for the first layer: the data needs no gradient
};

// 784 -> 512 -> 256, heads 256 -> 32 (mean and log-variance), 32 -> 256 -> 512 -> 784.
inline constexpr W1LinearShape kW1Layers[] = {{784, 512, false}, {512, 256, true}, {256, 32, true},
                                             {256, 32, true},   {32, 256, true},   {256, 512, true},
                                             {512, 784, true}};
inline constexpr int kW1Batch = 128;

// Multiply-adds times two of the layers' forward and backward products for one image.
inline double w1_product_flops_per_image() {
  double flops = 0;
  for (const W1LinearShape& l : kW1Layers) flops += 2.0 * l.in * l.out * (l.input_needs_grad ? 3 : 2);
  return flops;
}

}  // namespace strata::bench
