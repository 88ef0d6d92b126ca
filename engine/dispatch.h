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

// dst <- src for two tensors of one shape on any devices; dst must be contiguous. On one device it is
// the backend's (strided, casting) copy; across devices src is packed on its own device if strided
// and its bytes moved (between two GPUs through the host), so the dtypes must match. Copies to the
// CPU wait for the source device; copies to a GPU are queued on its stream.
void copy_across_devices(const Tensor& src, const Tensor& dst);

// Throws naming `op` unless every defined tensor in `ts` lives on the same device; returns it.
Device common_device(const char* op, std::initializer_list<const Tensor*> ts);

}  // namespace strata
