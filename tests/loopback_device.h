// A stand-in for a GPU on machines without one: a backend serving cuda:0 whose memory is host
// memory at a tagged address. Its kernels are the CPU backend's, called with the tag removed, so
// every result is bit for bit the CPU's; but host code that reads a "device" pointer directly
// (instead of through copy_to_host) dereferences a non-canonical address and crashes at once.
// So a program run on it proves that its device plumbing is complete: every tensor it mixes is
// on one device, and nothing on the device is touched from the host.
#pragma once

#include "backends/backend.h"

namespace strata::test {

// Installs the loopback as cuda:0 for the guard's lifetime (cuda_plugin::override_backend).
class LoopbackDevice {
 public:
  LoopbackDevice();
  ~LoopbackDevice();
  LoopbackDevice(const LoopbackDevice&) = delete;
  LoopbackDevice& operator=(const LoopbackDevice&) = delete;
  Backend& backend();
};

}  // namespace strata::test
