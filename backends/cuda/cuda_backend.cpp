#include "backends/cuda/cuda_backend.h"

#include "backends/cuda/cuda_check.h"

namespace strata {

CudaBackend::CudaBackend(int device) : device_(device), name_("cuda:" + std::to_string(device)), allocator_(device) {
  cuda::check(cudaSetDevice(device_), "cuda backend");
  // Non-blocking: the legacy default stream would serialise against every other stream.
  cuda::check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cuda backend: stream");
  cuda::check(cublasCreate(&blas_), "cuda backend: cuBLAS handle");
  cuda::check(cublasSetStream(blas_, stream_), "cuda backend: cuBLAS stream");
  // float32 products in plain IEEE float32, as on the CPU: TF32 tensor cores would change results
  // at the 1e-3 level, which a user must ask for (PyTorch's allow_tf32 is off for matmul too).
  cuda::check(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH), "cuda backend: cuBLAS math mode");
  cuda::check(cudaMalloc(reinterpret_cast<void**>(&kernel_error_), sizeof(KernelError)), "cuda backend: error slot");
  cuda::check(cudaMemsetAsync(kernel_error_, 0, sizeof(KernelError), stream_), "cuda backend: error slot");
}

CudaBackend::~CudaBackend() {
  // Backends live for the whole process (cuda_plugin.cpp never deletes one); this only runs if a
  // caller owns one directly.
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_);
  if (workspace_) allocator_.deallocate(workspace_, workspace_bytes_);
  cudaFree(kernel_error_);
  cublasDestroy(blas_);
  cudaStreamDestroy(stream_);
}

void CudaBackend::activate() const { cuda::check(cudaSetDevice(device_), name_.c_str()); }

// cudaGetLastError, not cudaPeekAtLastError: it also clears the error, so that an op after a caught
// failure does not report that failure again under its own name.
void CudaBackend::check_launch(const char* op) const { cuda::check(cudaGetLastError(), op); }

void* CudaBackend::allocate(size_t nbytes) {
  activate();
  return allocator_.allocate(nbytes);
}

void CudaBackend::deallocate(void* ptr, size_t nbytes) { allocator_.deallocate(ptr, nbytes); }

void CudaBackend::copy_to_host(const void* src, void* host_dst, size_t nbytes) {
  if (!nbytes) return;
  activate();
  cuda::check(cudaMemcpyAsync(host_dst, src, nbytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
  // The host reads the buffer next: wait for it, and for every kernel queued before it.
  cuda::check(cudaStreamSynchronize(stream_), "copy to host");
}

void CudaBackend::copy_from_host(const void* host_src, void* dst, size_t nbytes) {
  if (!nbytes) return;
  activate();
  // From pageable memory cudaMemcpyAsync returns once the source is staged, so the caller may free it.
  cuda::check(cudaMemcpyAsync(dst, host_src, nbytes, cudaMemcpyHostToDevice, stream_), "copy from host");
}

void* CudaBackend::workspace(size_t nbytes) {
  if (nbytes > workspace_bytes_) {
    // The old block may still be read by queued kernels; giving it back to the allocator is safe
    // because any reuse is queued behind them on the same stream.
    if (workspace_) allocator_.deallocate(workspace_, workspace_bytes_);
    workspace_ = nullptr;
    workspace_bytes_ = 0;
    workspace_ = allocator_.allocate(nbytes);
    workspace_bytes_ = nbytes;
  }
  return workspace_;
}

void CudaBackend::reset_kernel_error() {
  cuda::check(cudaMemsetAsync(kernel_error_, 0, sizeof(KernelError), stream_), "kernel error slot");
}

void CudaBackend::raise_kernel_error(const char* op) {
  KernelError e{};
  cuda::check(cudaMemcpyAsync(&e, kernel_error_, sizeof(KernelError), cudaMemcpyDeviceToHost, stream_), op);
  cuda::check(cudaStreamSynchronize(stream_), op);
  switch (e.code) {
    case KernelError::kNone: return;
    case KernelError::kIndexOutOfRange:
      throw Error(detail::concat(op, ": index ", e.value, " is out of range for a dimension of size ", e.limit));
    case KernelError::kIntegerDivisionByZero:
      throw Error(detail::concat(op, ": integer division by zero"));
    default: throw Error(detail::concat(op, ": kernel reported error code ", e.code));
  }
}

}  // namespace strata
