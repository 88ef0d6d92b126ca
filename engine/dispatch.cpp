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

void copy_bytes(const void* src, Device from, void* dst, Device to, size_t nbytes) {
  if (nbytes == 0) return;
  if (from.is_cpu() && to.is_cpu()) {
    backend_for(to).copy_from_host(src, dst, nbytes);  // a memcpy
  } else if (from.is_cpu()) {
    backend_for(to).copy_from_host(src, dst, nbytes);
  } else if (to.is_cpu()) {
    backend_for(from).copy_to_host(src, dst, nbytes);
  } else {
    std::vector<char> host(nbytes);
    backend_for(from).copy_to_host(src, host.data(), nbytes);
    backend_for(to).copy_from_host(host.data(), dst, nbytes);
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
