#include "engine/dispatch.h"

#include "backends/cpu/cpu_backend.h"

namespace strata {

Backend& backend_for(Device device) {
  switch (device.type) {
    case DeviceType::CPU: return cpu_backend();
    case DeviceType::CUDA: break;
  }
  throw Error("dispatch: device " + device.str() + " is not available (this build has no CUDA backend)");
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
