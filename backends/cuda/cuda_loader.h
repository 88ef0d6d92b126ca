// The engine's side of the CUDA plugin: finds libstrata_cuda.so and asks it for backends. Part of
// libstrata in every build (it needs no CUDA headers); without a plugin it reports why.
#pragma once

#include <string>

#include "backends/backend.h"

namespace strata::cuda_plugin {

// The backend of cuda:<device>; throws strata::Error naming the device and the reason when there
// is none (no plugin in this build, no driver, no such GPU).
Backend& backend(int device);

// How many GPUs the plugin sees: 0 when there is no plugin, driver or GPU. Never throws.
int device_count();

// An entry point of the plugin by name (the NCCL collectives of cuda_nccl.cpp); null when the
// plugin is not loaded or lacks it (built without NCCL).
void* symbol(const char* name);

// Serves cuda:<device> from `backend` instead of the plugin, or the plugin again when null. For
// tests without a GPU: a loopback backend over host memory (tests/loopback_device.h) exercises every
// device transfer of a program on any machine. Not thread-safe against concurrent dispatch.
void override_backend(int device, Backend* backend);
bool is_overridden(int device);

// Why device_count() is 0 ("" when it is not), for messages and skipped tests.
std::string unavailable_reason();

}  // namespace strata::cuda_plugin
