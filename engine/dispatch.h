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

// Copies nbytes from `src` on device `from` to `dst` on device `to` (between two GPUs through the
// host). Copies to the CPU wait for the source device; copies to a GPU are queued on its stream.
void copy_bytes(const void* src, Device from, void* dst, Device to, size_t nbytes);

// Throws naming `op` unless every defined tensor in `ts` lives on the same device; returns it.
Device common_device(const char* op, std::initializer_list<const Tensor*> ts);

}  // namespace strata
