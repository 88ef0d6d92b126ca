// Collectives of GPU tensors on NCCL, for data-parallel training with each process on its own GPU
// (strata train --distributed --device cuda). The NCCL calls live in the CUDA plugin
// (backends/cuda/cuda_nccl.cpp); this communicator sits on top of the MPI one, which starts the job,
// carries NCCL's bootstrap id from rank 0, and still moves CPU tensors and metric sums.
//
// A collective is queued on the GPU's stream behind the kernels that made its buffer, so a gradient
// bucket can start while backward goes on. Waits poll with the communicator's timeout; past it the
// NCCL communicator is aborted and the error names the collective, as MPI's do.
#pragma once

#include <memory>

#include "engine/distributed/communicator.h"

namespace strata::distributed {

// Whether this build's CUDA plugin has NCCL (and a GPU is usable).
bool nccl_available();

// This process's NCCL communicator on `device` (cuda:<local rank>, typically), created collectively:
// every rank of `host` must call it. Throws naming the reason when NCCL is not available.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, Device device);

}  // namespace strata::distributed
