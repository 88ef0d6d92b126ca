#include "engine/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "engine/autograd.h"
#include "engine/dispatch.h"

namespace strata {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device), backend_(&backend_for(device)) {
  data_ = backend_->allocate(nbytes);
}

// To the backend that allocated it, even should the device's backend have changed since (a test's
// loopback device).
Storage::~Storage() { backend_->deallocate(data_, nbytes_); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape)
    STRATA_CHECK(s >= 0, "empty: negative size in shape ", shape_str(shape));
  STRATA_CHECK(static_cast<int64_t>(shape.size()) <= kMaxDims, "empty: shape ", shape_str(shape), " has ",
               shape.size(), " dims; at most ", kMaxDims, " are supported");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel_of(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  const TensorImpl& b = base.checked("make_view");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = b.storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = b.dtype;
  return Tensor(std::move(impl));
}

const TensorImpl& Tensor::checked(const char* what) const {
  STRATA_CHECK(impl_, what, ": the tensor is undefined");
  return *impl_;
}

const Shape& Tensor::shape() const { return checked("shape").shape; }
const Shape& Tensor::strides() const { return checked("strides").strides; }
int64_t Tensor::offset() const { return checked("offset").offset; }
int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }
int64_t Tensor::numel() const { return numel_of(shape()); }
DType Tensor::dtype() const { return checked("dtype").dtype; }
Device Tensor::device() const { return checked("device").storage->device(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked("storage").storage; }

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked("is_contiguous");
  if (numel_of(t.shape) == 0) return true;  // no element to misplace, as PyTorch
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl& t = checked("raw_data");
  return static_cast<char*>(t.storage->data()) + t.offset * static_cast<int64_t>(dtype_size(t.dtype));
}

View Tensor::view() const {
  const TensorImpl& t = checked("view");
  View v;
  v.data = raw_data();
  v.dtype = t.dtype;
  v.ndim = static_cast<int>(t.shape.size());
  for (int i = 0; i < v.ndim; ++i) {
    v.shape[i] = t.shape[i];
    v.strides[i] = t.strides[i];
  }
  return v;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const TensorImpl& t = checked("to_vector");
  // Gather into a contiguous host buffer of the tensor's own dtype, then convert.
  Tensor host = Tensor::empty(t.shape, t.dtype, Device::cpu());
  if (device().is_cpu()) {
    backend_for(Device::cpu()).copy(view(), host.view());
  } else {
    Tensor dense = Tensor::empty(t.shape, t.dtype, device());
    backend_for(device()).copy(view(), dense.view());
    backend_for(device()).copy_to_host(dense.raw_data(), host.raw_data(), dense.storage()->nbytes());
  }
  const int64_t n = host.numel();
  std::vector<T> out(static_cast<size_t>(n));
  const void* p = host.raw_data();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::Float32: out[i] = static_cast<T>(static_cast<const float*>(p)[i]); break;
      case DType::Float64: out[i] = static_cast<T>(static_cast<const double*>(p)[i]); break;
      case DType::Int64: out[i] = static_cast<T>(static_cast<const int64_t*>(p)[i]); break;
      case DType::Bool: out[i] = static_cast<T>(static_cast<const bool*>(p)[i]); break;
    }
  }
  return out;
}

template <class T>
T Tensor::item() const {
  STRATA_CHECK(numel() == 1, "item: tensor of shape ", shape_str(shape()), " has ", numel(),
               " elements, not one");
  return to_vector<T>()[0];
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<int> Tensor::to_vector<int>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template int Tensor::item<int>() const;
template bool Tensor::item<bool>() const;

bool Tensor::requires_grad() const { return checked("requires_grad").requires_grad; }

Tensor& Tensor::set_requires_grad(bool flag) {
  TensorImpl& t = const_cast<TensorImpl&>(checked("set_requires_grad"));
  STRATA_CHECK(!t.grad_fn, "set_requires_grad: only leaf tensors can change requires_grad; this one is "
               "the output of '", t.grad_fn ? t.grad_fn->name() : "", "' (use detach() first)");
  STRATA_CHECK(!flag || is_floating(t.dtype), "set_requires_grad: only floating-point tensors can "
               "require grad; this one is ", dtype_name(t.dtype));
  t.requires_grad = flag;
  return *this;
}

bool Tensor::is_leaf() const { return !checked("is_leaf").grad_fn; }
Tensor Tensor::grad() const { return checked("grad").grad; }

void Tensor::set_grad(const Tensor& grad) {
  TensorImpl& t = *impl_;
  STRATA_CHECK(!grad.defined() || grad.shape() == t.shape, "set_grad: gradient shape ",
               shape_str(grad.shape()), " differs from the tensor's ", shape_str(t.shape));
  t.grad = grad;
}

void Tensor::zero_grad() { checked("zero_grad"), impl_->grad = Tensor(); }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked("grad_fn").grad_fn; }

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
  autograd::backward({*this}, {grad_output}, retain_graph);
}

Tensor Tensor::detach() const {
  const TensorImpl& t = checked("detach");
  return make_view(*this, t.shape, t.strides, t.offset);
}

void Tensor::bump_version() const { storage()->bump_version(); }

namespace {

// Values of a tensor as text, NumPy style, eliding the middle of long dims.
void format_values(std::ostream& os, const std::vector<double>& values, const Shape& shape, DType dtype,
                   size_t dim, int64_t base, int indent) {
  constexpr int64_t kEdge = 3;  // shown at each end of a dim longer than 2 * kEdge
  const int64_t n = shape[dim];
  int64_t stride = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) stride *= shape[d];
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      os << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - kEdge;
    }
    if (dim + 1 == shape.size()) {
      const double v = values[base + i];
      if (dtype == DType::Bool) os << (v != 0 ? "true" : "false");
      else if (dtype == DType::Int64) os << static_cast<int64_t>(v);
      else os << std::setprecision(6) << v;
    } else {
      format_values(os, values, shape, dtype, dim + 1, base + i * stride, indent + 1);
    }
    if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  std::vector<double> values = to_vector<double>();
  if (shape().empty()) {
    if (dtype() == DType::Int64) os << static_cast<int64_t>(values[0]);
    else if (dtype() == DType::Bool) os << (values[0] != 0 ? "true" : "false");
    else os << std::setprecision(6) << values[0];
  } else {
    format_values(os, values, shape(), dtype(), 0, 0, 7);
  }
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype()) << ", device=" << device().str();
  if (requires_grad()) os << ", requires_grad=true";
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace strata
