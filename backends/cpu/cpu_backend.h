// The CPU backend: OpenBLAS for gemm, oneTBB for parallel loops. Its kernels are split by theme
// into cpu_*.cpp files; this class only lists them. The elementwise, reduction and optimizer
// kernels exist once per x86 instruction set and are reached through cpu_isa.h's table.
#pragma once

#include "backends/backend.h"

namespace strata {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  const char* name() const override { return "cpu"; }

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void copy_to_host(const void* src, void* host_dst, size_t nbytes) override;
  void copy_from_host(const void* host_src, void* dst, size_t nbytes) override;
  void set_num_threads(int n) override;
  int num_threads() const override;

  // cpu_elementwise.cpp (these three groups through cpu_isa.h's table; see cpu_backend.cpp)
  void fill(const View& out, double value) override;
  void copy(const View& src, const View& dst) override;
  void unary(UnaryOp op, const View& in, const View& out, double p0, double p1) override;
  void binary(BinaryOp op, const View& a, const View& b, const View& out, double p0) override;
  bool unary_with_derivative(UnaryOp op, const View& in, const View& out, const View& derivative) override;
  void where(const View& cond, const View& a, const View& b, const View& out) override;

  // cpu_reduce.cpp (through cpu_isa.h's table)
  void reduce(ReduceOp op, const View& in, uint32_t dim_mask, const View& out) override;
  void arg_reduce(bool is_max, const View& in, int dim, const View& values, const View& indices) override;
  void softmax(const View& in, const View& out, bool log) override;
  void softmax_backward(const View& grad_out, const View& y, const View& grad_in, bool log) override;

  // cpu_gemm.cpp
  void gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
            const void* a, int64_t lda, int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b,
            double beta, void* c, int64_t ldc, int64_t stride_c, int64_t batch) override;
  void gemm_group(const GemmCall* calls, size_t count) override;

  // cpu_conv.cpp
  int64_t conv2d_columns_size(const Conv2dParams& p) const override;
  void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias, void* out,
                      void* columns) override;
  void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* grad_out, const void* w,
                             void* grad_x) override;
  void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* x, const void* grad_out,
                              void* grad_w, void* grad_bias, const void* columns) override;

  // cpu_pool.cpp
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

  // cpu_index.cpp
  void index_select(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                    int64_t n, const View& out) override;
  void index_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                 int64_t n, const View& grad_in) override;
  void gather(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
              const View& out) override;
  void scatter_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                   int64_t n, const View& grad_in) override;

  // cpu_random.cpp
  void random_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) override;
  void random_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double stddev) override;
  void random_int(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) override;

  // cpu_optim.cpp (through cpu_isa.h's table)
  void adam_update(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                   void* max_exp_avg_sq, const AdamStep& s) override;
  void sgd_update(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf, double lr,
                  double momentum, double dampening, double weight_decay, bool nesterov,
                  bool first_step) override;
  void rmsprop_update(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                      void* momentum_buf, double lr, double alpha, double eps, double weight_decay,
                      double momentum) override;

 private:
  int num_threads_;
};

// The process-wide CPU backend.
Backend& cpu_backend();

}  // namespace strata
