// The vocabulary every layer speaks: element types, devices and strided views of raw buffers.
// Nothing here knows about Tensor, autograd or models; engine/ builds on these types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace strata {

enum class DType : uint8_t { Float32, Float64, Int64, Bool };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return type == DeviceType::CPU ? "cpu" : "cuda:" + std::to_string(index); }
};

// Kernels take at most this many dimensions; ops reject larger tensors with a clear error.
constexpr int kMaxDims = 8;

// A strided window onto a raw buffer, as a kernel sees it. `data` already includes the storage
// offset; strides count elements, not bytes; a stride of 0 repeats an element (broadcasting).
struct View {
  void* data = nullptr;
  DType dtype = DType::Float32;
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  bool is_contiguous() const {
    if (numel() == 0) return true;
    int64_t expected = 1;
    for (int i = ndim - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  template <class T>
  T* ptr() const { return static_cast<T*>(data); }
};

// Elementwise maps of one input. p0/p1 are the op's scalar parameters where it has any.
enum class UnaryOp : uint8_t {
  Neg, Exp, Log, Log1p, Expm1, Sqrt, Rsqrt, Abs, Sign, Square, Reciprocal,
  Relu, Sigmoid, Tanh, Softplus, LogSigmoid, Gelu, Silu,
  LeakyRelu,   // p0 = negative slope
  Elu,         // p0 = alpha
  AddScalar,   // x + p0
  MulScalar,   // x * p0
  RsubScalar,  // p0 - x
  DivScalar,   // x / p0
  RdivScalar,  // p0 / x
  PowScalar,   // x ^ p0
  RpowScalar,  // p0 ^ x
  Clamp,       // min(max(x, p0), p1)
  GtScalar, LtScalar, GeScalar, LeScalar, EqScalar, NeScalar,  // x ? p0 -> bool
  LogicalNot,  // bool -> bool
};

// Elementwise maps of two inputs (already broadcast to the output's shape by the caller).
// The *Backward ops are the fused local derivatives the ops' backward formulas use:
// out = a * f'(b) where a is the incoming gradient and b the saved input (or output, as named).
enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  Eq, Ne, Lt, Le, Gt, Ge,         // -> bool
  LogicalAnd, LogicalOr,          // bool, bool -> bool
  BceWithLogits,                  // a = logits, b = targets: max(a,0) - a*b + log1p(exp(-|a|))
  BceWithLogitsBackward,          // a = logits, b = targets: (sigmoid(a) - b) * p0
  ReluBackward,                   // b = input
  LeakyReluBackward,              // b = input, p0 = slope
  EluBackward,                    // b = input, p0 = alpha
  GeluBackward,                   // b = input
  SiluBackward,                   // b = input
  SoftplusBackward,               // b = input
  LogSigmoidBackward,             // b = input
  SigmoidBackward,                // b = output
  TanhBackward,                   // b = output
};

enum class ReduceOp : uint8_t { Sum, Max, Min, Prod };

// Parameters of a 2-D convolution, shared by conv2d, conv_transpose2d and their backward passes.
// Shapes are those of the *convolution* (input -> output); conv_transpose2d swaps the roles.
struct Conv2dParams {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

struct Pool2dParams {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // avg_pool2d only
};

// One step of an optimizer over a contiguous parameter buffer and its state buffers.
struct AdamStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  int64_t step = 1;        // 1-based, for bias correction
  bool decoupled = false;  // AdamW: decay the weights directly instead of adding to the gradient
  bool amsgrad = false;
};

}  // namespace strata
