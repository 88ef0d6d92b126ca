// Tensor factories. None records a graph; call set_requires_grad() on the result to make a leaf.
#pragma once

#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata {

struct TensorOptions {
  DType dtype = DType::Float32;
  Device device = Device::cpu();
};

Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
// A zero-dim tensor holding `value`.
Tensor scalar_tensor(double value, TensorOptions opt = {});

// [start, end) in steps of `step` (int64 by default, as in NumPy/PyTorch for integer arguments).
Tensor arange(double start, double end, double step = 1.0, TensorOptions opt = {DType::Int64});
Tensor arange(double end, TensorOptions opt = {DType::Int64});
// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, TensorOptions opt = {});
Tensor eye(int64_t n, TensorOptions opt = {});

// Copies host values into a new tensor of the given shape (numel must match).
Tensor from_vector(const std::vector<float>& values, const Shape& shape, Device device = Device::cpu());
Tensor from_vector(const std::vector<double>& values, const Shape& shape, Device device = Device::cpu());
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape, Device device = Device::cpu());
// Copies numel(shape) elements of `dtype` from a raw host buffer.
Tensor from_blob(const void* data, const Shape& shape, DType dtype, Device device = Device::cpu());

// Random tensors; `gen` defaults to default_generator().
Tensor rand(const Shape& shape, TensorOptions opt = {}, Generator* gen = nullptr);   // U(0, 1)
Tensor randn(const Shape& shape, TensorOptions opt = {}, Generator* gen = nullptr);  // N(0, 1)
Tensor uniform(const Shape& shape, double low, double high, TensorOptions opt = {}, Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double stddev, TensorOptions opt = {}, Generator* gen = nullptr);
// Integers uniform in [low, high), int64 unless opt says otherwise.
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt = {DType::Int64},
               Generator* gen = nullptr);
// Each element 1 with probability p_i, else 0 (same shape and dtype as p).
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
Tensor bernoulli(const Shape& shape, double p, TensorOptions opt = {}, Generator* gen = nullptr);
// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, Generator* gen = nullptr);

}  // namespace strata
