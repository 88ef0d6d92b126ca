#include "engine/dispatch.h"

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_loader.h"

#include <vector>

namespace strata {

Backend& backend_for(Device device) {
  switch (device.type) {
    case DeviceType::CPU: return cpu_backend();
    case DeviceType::CUDA: return cuda_plugin::backend(device.index);
  }
  throw Error("dispatch: unknown device type of " + device.str());
}

int cuda_device_count() { return cuda_plugin::device_count(); }
bool cuda_is_available() { return cuda_device_count() > 0; }
std::string cuda_unavailable_reason() { return cuda_plugin::unavailable_reason(); }

void copy_across_devices(const Tensor& src, const Tensor& dst) {
  const Device from = src.device(), to = dst.device();
  if (from == to) {
    backend_for(to).copy(src.view(), dst.view());
    return;
  }
  STRATA_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype() && dst.is_contiguous(),
               "copy_across_devices: ", shape_str(src.shape()), " ", dtype_name(src.dtype()), " on ", from.str(),
               " to ", shape_str(dst.shape()), " ", dtype_name(dst.dtype()), " on ", to.str(),
               " (the shapes and dtypes must match and the destination be contiguous)");
  Tensor dense = src;
  if (!src.is_contiguous()) {
    dense = Tensor::empty(src.shape(), src.dtype(), from);
    backend_for(from).copy(src.view(), dense.view());
  }
  const size_t nbytes = static_cast<size_t>(src.numel()) * dtype_size(src.dtype());
  if (nbytes == 0) return;
  if (from.is_cpu()) {
    backend_for(to).copy_from_host(dense.raw_data(), dst.raw_data(), nbytes);
  } else if (to.is_cpu()) {
    backend_for(from).copy_to_host(dense.raw_data(), dst.raw_data(), nbytes);
  } else {
    std::vector<char> host(nbytes);
    backend_for(from).copy_to_host(dense.raw_data(), host.data(), nbytes);
    backend_for(to).copy_from_host(host.data(), dst.raw_data(), nbytes);
  }
}

Device common_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else {
      STRATA_CHECK(t->device() == first->device(), op, ": tensors are on different devices (",
                   first->device().str(), " and ", t->device().str(), ")");
    }
  }
  STRATA_CHECK(first, op, ": no defined tensor given");
  return first->device();
}

}  // namespace strata
