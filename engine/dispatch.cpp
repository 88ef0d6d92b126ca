#include "engine/dispatch.h"

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_loader.h"

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
