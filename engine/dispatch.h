// The single dispatch point: ops ask for the backend of their tensors' device here.
#pragma once

#include "backends/backend.h"
#include "engine/tensor.h"

namespace strata {

// The backend serving `device`; throws when that backend was not built or has no device.
Backend& backend_for(Device device);

// Throws naming `op` unless every defined tensor in `ts` lives on the same device; returns it.
Device common_device(const char* op, std::initializer_list<const Tensor*> ts);

}  // namespace strata
