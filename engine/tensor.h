// Tensor: a cheap handle to (shared storage, shape, strides, offset, dtype, device, autograd meta).
// Copying a Tensor copies the handle; views share storage. Tensor has no math methods: the
// operations are free functions in ops/ (include "ops/ops.h"), so every file shows what it uses.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/types.h"
#include "core/error.h"
#include "engine/shape.h"

namespace strata {

class Backend;
class Node;
class TensorImpl;

// A block of device memory. Views of it share the storage and its version counter, which every
// in-place write bumps so autograd can detect a saved tensor that was modified later.
class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  uint64_t version_ = 0;
  Backend* backend_;
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (e.g. "no gradient")
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // An uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  // A view of `base`'s storage with the given geometry (no copy, no autograd: ops add that).
  static Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;

  // Pointer to element 0 (offset applied). T must match dtype().
  template <class T>
  T* data_ptr() const;
  void* raw_data() const;
  // The single value of a one-element tensor.
  template <class T>
  T item() const;
  // All values in logical (row-major) order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // A description of this tensor for a kernel.
  View view() const;

  // --- autograd ---
  bool requires_grad() const;
  Tensor& set_requires_grad(bool requires_grad = true);  // leaves only
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& grad);
  void zero_grad();      // drops the gradient (as PyTorch's set_to_none=True)
  const std::shared_ptr<Node>& grad_fn() const;
  // Backpropagates from this tensor: it must be a scalar unless `grad_output` is given.
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;
  // A tensor sharing storage with this one, cut off from the graph.
  Tensor detach() const;

  // Marks an in-place write to the storage (kernels that write into an existing tensor call it).
  void bump_version() const;

  std::string str() const;  // shape, dtype, device and (truncated) values
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  const TensorImpl& checked(const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

class TensorImpl {
 public:
  std::shared_ptr<Storage> storage;
  Shape shape, strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;

  // Autograd metadata. Leaves that require grad get a lazily created gradient accumulator node;
  // results of recorded ops have grad_fn set.
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;
  std::shared_ptr<Node> grad_accumulator;
  Tensor grad;
};

// Throws naming `op` unless `t` holds elements of type T.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::Float32; }
template <>
constexpr DType dtype_of<double>() { return DType::Float64; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <>
constexpr DType dtype_of<bool>() { return DType::Bool; }

template <class T>
T* Tensor::data_ptr() const {
  const TensorImpl& t = checked("data_ptr");
  STRATA_CHECK(t.dtype == dtype_of<T>(), "data_ptr: tensor has dtype ", dtype_name(t.dtype),
               " but the pointer type is ", dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw_data());
}

}  // namespace strata
