// The single dispatch point: ops ask for the backend of their tensors' device here.
#pragma once

#include <string>

#include "backends/backend.h"
#include "engine/tensor.h"

namespace strata {

// The backend serving `device`; throws when that backend was not built or has no device.
Backend& backend_for(Device device);

// How many CUDA devices this process can use: 0 without the CUDA backend (a build with
// STRATA_CUDA=OFF), without a driver, or without a GPU; cuda_unavailable_reason() says which.
int cuda_device_count();
bool cuda_is_available();
std::string cuda_unavailable_reason();

// Throws naming `op` unless every defined tensor in `ts` lives on the same device; returns it.
Device common_device(const char* op, std::initializer_list<const Tensor*> ts);

}  // namespace strata
