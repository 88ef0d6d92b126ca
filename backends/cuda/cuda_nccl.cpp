// NCCL collectives over GPU buffers, for engine/distributed/nccl_communicator.cpp: C entry points
// of the plugin (plain types only, as cuda_plugin.cpp's). Each collective is queued on the device
// backend's one stream, so it runs after the kernels that produced its buffer and before any that
// read the result: no extra synchronisation. Completion is observed by polling (strata_nccl_query),
// so that the caller can keep a deadline and abort a communicator whose peer has died.
#include <nccl.h>

#include <cstdio>
#include <string>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_check.h"

#define STRATA_CUDA_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" strata::Backend* strata_cuda_backend(int device, char* error, size_t error_size);

namespace {

struct NcclComm {
  ncclComm_t comm = nullptr;
  strata::CudaBackend* backend = nullptr;
};

void write(char* out, size_t size, const std::string& text) {
  if (out && size) std::snprintf(out, size, "%s", text.c_str());
}

// Communicators here are blocking (NCCL's default), so ncclInProgress does not occur.
bool ok(ncclResult_t r, const char* what, char* error, size_t error_size) {
  if (r == ncclSuccess) return true;
  write(error, error_size, std::string(what) + ": NCCL error " + ncclGetErrorString(r));
  return false;
}

bool nccl_type(int dtype, ncclDataType_t* out, char* error, size_t error_size) {
  switch (dtype) {
    case 0: *out = ncclFloat32; return true;
    case 1: *out = ncclFloat64; return true;
    case 2: *out = ncclInt64; return true;
  }
  write(error, error_size, "NCCL: dtype code " + std::to_string(dtype) + " is not float32, float64 or int64");
  return false;
}

// Whether `c` can take a call: not aborted, and its GPU made current (no exception may cross the
// C entry points).
bool usable(NcclComm* c, char* error, size_t error_size) {
  if (!c->comm) {
    write(error, error_size, "the NCCL communicator was aborted after an earlier failure");
    return false;
  }
  try {
    c->backend->activate();
  } catch (const std::exception& e) {
    write(error, error_size, e.what());
    return false;
  }
  return true;
}

}  // namespace

// The 128-byte id that rank 0 makes and every rank passes to strata_nccl_init. 0 on success.
STRATA_CUDA_EXPORT int strata_nccl_unique_id(unsigned char* id, char* error, size_t error_size) {
  ncclUniqueId u;
  if (!ok(ncclGetUniqueId(&u), "ncclGetUniqueId", error, error_size)) return -1;
  static_assert(sizeof(u.internal) == NCCL_UNIQUE_ID_BYTES, "NCCL's unique id changed size");
  for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; ++i) id[i] = static_cast<unsigned char>(u.internal[i]);
  return 0;
}

// This process's member of a communicator of `ranks` processes on GPU `device`; null on failure.
STRATA_CUDA_EXPORT void* strata_nccl_init(int device, int ranks, int rank, const unsigned char* id, char* error,
                                          size_t error_size) {
  strata::Backend* b = strata_cuda_backend(device, error, error_size);
  if (!b) return nullptr;
  auto* c = new NcclComm;
  c->backend = static_cast<strata::CudaBackend*>(b);
  try {
    c->backend->activate();
  } catch (const std::exception& e) {
    write(error, error_size, e.what());
    delete c;
    return nullptr;
  }
  ncclUniqueId u;
  for (int i = 0; i < NCCL_UNIQUE_ID_BYTES; ++i) u.internal[i] = static_cast<char>(id[i]);
  if (!ok(ncclCommInitRank(&c->comm, ranks, u, rank), "ncclCommInitRank", error, error_size)) {
    delete c;
    return nullptr;
  }
  return c;
}

// Queues an in-place sum over ranks of `count` elements at `data` (device memory). 0 on success.
STRATA_CUDA_EXPORT int strata_nccl_all_reduce_sum(void* comm, void* data, int64_t count, int dtype, char* error,
                                                  size_t error_size) {
  auto* c = static_cast<NcclComm*>(comm);
  ncclDataType_t type;
  if (!nccl_type(dtype, &type, error, error_size) || !usable(c, error, error_size)) return -1;
  return ok(ncclAllReduce(data, data, static_cast<size_t>(count), type, ncclSum, c->comm, c->backend->stream()),
            "ncclAllReduce", error, error_size)
             ? 0
             : -1;
}

// Queues an in-place broadcast of `root`'s `count` elements. 0 on success.
STRATA_CUDA_EXPORT int strata_nccl_broadcast(void* comm, void* data, int64_t count, int dtype, int root, char* error,
                                             size_t error_size) {
  auto* c = static_cast<NcclComm*>(comm);
  ncclDataType_t type;
  if (!nccl_type(dtype, &type, error, error_size) || !usable(c, error, error_size)) return -1;
  return ok(ncclBroadcast(data, data, static_cast<size_t>(count), type, root, c->comm, c->backend->stream()),
            "ncclBroadcast", error, error_size)
             ? 0
             : -1;
}

// 1 once everything queued on the device's stream (the collectives included) has finished, 0 while
// it runs, -1 when NCCL or CUDA reports a failure (the reason in `error`).
STRATA_CUDA_EXPORT int strata_nccl_query(void* comm, char* error, size_t error_size) {
  auto* c = static_cast<NcclComm*>(comm);
  if (!usable(c, error, error_size)) return -1;
  ncclResult_t async = ncclSuccess;
  if (!ok(ncclCommGetAsyncError(c->comm, &async), "ncclCommGetAsyncError", error, error_size)) return -1;
  if (!ok(async, "NCCL (asynchronous)", error, error_size)) return -1;
  const cudaError_t s = cudaStreamQuery(c->backend->stream());
  if (s == cudaSuccess) return 1;
  if (s == cudaErrorNotReady) return 0;
  (void)cudaGetLastError();
  write(error, error_size, std::string("cudaStreamQuery: ") + cudaGetErrorString(s));
  return -1;
}

// Ends a communicator whose collectives cannot finish (a peer died or hung); it is unusable after.
STRATA_CUDA_EXPORT void strata_nccl_abort(void* comm) {
  auto* c = static_cast<NcclComm*>(comm);
  if (c->comm) ncclCommAbort(c->comm);
  c->comm = nullptr;
}

STRATA_CUDA_EXPORT void strata_nccl_destroy(void* comm) {
  auto* c = static_cast<NcclComm*>(comm);
  if (c->comm) ncclCommDestroy(c->comm);
  delete c;
}
