// The CUDA backend: cuBLAS for products, own kernels for everything else, one stream per device.
// Its kernels are split by theme into cuda_*.cu files; this class only lists them. It is built as
// a plugin of its own (libstrata_cuda.so, see cuda_plugin.cpp) that the engine loads on the first
// use of a CUDA device, so that a CPU-only program never maps cuBLAS (see backends/cuda/README.md).
//
// Ordering: every kernel, copy and cuBLAS call of a device goes to that device's one stream, in
// call order, so a buffer freed back to the allocator can be handed out again at once (any later
// use is queued behind the earlier ones). copy_to_host waits for the stream: it is the only place
// the host sees device results, so it is the only synchronisation a program needs.
#pragma once

#include <cstdint>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_allocator.h"

namespace strata {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  const char* name() const override { return name_.c_str(); }

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void copy_to_host(const void* src, void* host_dst, size_t nbytes) override;
  void copy_from_host(const void* host_src, void* dst, size_t nbytes) override;
  // The GPU schedules its own threads; these only remember the value (strata --threads).
  void set_num_threads(int n) override { num_threads_ = n; }
  int num_threads() const override { return num_threads_; }

  // cuda_elementwise.cu
  void fill(const View& out, double value) override;
  void copy(const View& src, const View& dst) override;
  void unary(UnaryOp op, const View& in, const View& out, double p0, double p1) override;
  void binary(BinaryOp op, const View& a, const View& b, const View& out, double p0) override;
  void where(const View& cond, const View& a, const View& b, const View& out) override;

  // cuda_reduce.cu
  void reduce(ReduceOp op, const View& in, uint32_t dim_mask, const View& out) override;
  void arg_reduce(bool is_max, const View& in, int dim, const View& values, const View& indices) override;
  void softmax(const View& in, const View& out, bool log) override;
  void softmax_backward(const View& grad_out, const View& y, const View& grad_in, bool log) override;

  // cuda_gemm.cpp
  void gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
            const void* a, int64_t lda, int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b,
            double beta, void* c, int64_t ldc, int64_t stride_c, int64_t batch) override;

  // cuda_conv.cu
  // No conv2d_columns_size override: these kernels build their columns in chunks of the batch, so
  // there are none to keep and conv2d_forward / conv2d_backward_weight get columns = null.
  void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias,
                      void* out, void* columns) override;
  void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* grad_out, const void* w,
                             void* grad_x) override;
  void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* x, const void* grad_out,
                              void* grad_w, void* grad_bias, const void* columns) override;

  // cuda_pool.cu
  void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out,
                          int64_t* indices) override;
  void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out, const int64_t* indices,
                           void* grad_x) override;
  void avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out) override;
  void avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out, void* grad_x) override;
  void upsample_nearest2d_forward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                  const void* x, void* out) override;
  void upsample_nearest2d_backward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                   const void* grad_out, void* grad_x) override;

  // cuda_index.cu
  void index_select(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                    int64_t n, const View& out) override;
  void index_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                 int64_t n, const View& grad_in) override;
  void gather(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
              const View& out) override;
  void scatter_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                   int64_t n, const View& grad_in) override;

  // cuda_random.cu
  void random_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) override;
  void random_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double stddev) override;
  void random_int(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) override;

  // cuda_optim.cu
  void adam_update(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                   void* max_exp_avg_sq, const AdamStep& s) override;
  void sgd_update(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf, double lr,
                  double momentum, double dampening, double weight_decay, bool nesterov,
                  bool first_step) override;
  void rmsprop_update(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                      void* momentum_buf, double lr, double alpha, double eps, double weight_decay,
                      double momentum) override;

  // --- for the kernel files ---
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas() const { return blas_; }
  // Makes this backend's GPU the calling thread's current device (every entry point calls it).
  void activate() const;
  // Throws naming `op` if the last launch failed (bad configuration, no kernel image for this GPU).
  void check_launch(const char* op) const;
  // Scratch device memory of at least `nbytes` that stays valid until the next call (im2col).
  void* workspace(size_t nbytes);

  // Errors only a kernel can see (an index out of range, an integer division by zero): a kernel
  // reports the first one into this device slot, and raise_kernel_error() waits for the stream and
  // throws naming `op`. Kernels that can fail call reset before and raise after.
  struct KernelError {
    enum Code : int32_t { kNone = 0, kIndexOutOfRange = 1, kIntegerDivisionByZero = 2 };
    int32_t code;     // a Code
    int64_t value;    // the offending value (the index)
    int64_t limit;    // and the bound it broke (the dimension's size)
  };
  KernelError* kernel_error_slot() const { return kernel_error_; }
  void reset_kernel_error();
  void raise_kernel_error(const char* op);

 private:
  int device_;
  std::string name_;
  int num_threads_ = 1;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cuda::CachingAllocator allocator_;
  KernelError* kernel_error_ = nullptr;  // device memory
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

}  // namespace strata
