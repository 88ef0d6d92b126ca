// The interface every backend implements: a few dozen kernels over raw buffers and strided views.
// A backend knows nothing of Tensor or autograd. Ops (ops/) check shapes and dtypes, build the
// output, and call exactly one or a few of these; the engine (engine/dispatch.h) picks the backend
// from the tensors' device. Adding a backend means implementing this class and one registration line.
//
// Conventions shared by every kernel:
// - Outputs are written, never read (unless a kernel says it accumulates).
// - Views passed as inputs may have any strides, including 0 (broadcast). Views passed as outputs
//   are contiguous unless a kernel says otherwise.
// - Index tensors are int64. Errors that only a kernel can see (an index out of range) throw
//   strata::Error naming the op.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/types.h"

namespace strata {

// The arguments of one Backend::gemm call, for Backend::gemm_group.
struct GemmCall {
  DType dtype;
  bool trans_a, trans_b;
  int64_t m, n, k;
  double alpha;
  const void* a;
  int64_t lda, stride_a;
  const void* b;
  int64_t ldb, stride_b;
  double beta;
  void* c;
  int64_t ldc, stride_c, batch;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // --- memory ---
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  // Copies between this backend's memory and host memory (plain memcpy on the CPU).
  virtual void copy_to_host(const void* src, void* host_dst, size_t nbytes) = 0;
  virtual void copy_from_host(const void* host_src, void* dst, size_t nbytes) = 0;

  virtual void set_num_threads(int n) = 0;
  virtual int num_threads() const = 0;

  // --- elementwise ---
  virtual void fill(const View& out, double value) = 0;  // out may be strided
  // dst[i] = (dst dtype) src[i]; same shape; both may be strided (used for contiguous(), casts, cat).
  virtual void copy(const View& src, const View& dst) = 0;
  virtual void unary(UnaryOp op, const View& in, const View& out, double p0, double p1) = 0;
  virtual void binary(BinaryOp op, const View& a, const View& b, const View& out, double p0) = 0;
  // out = f(x) and derivative = f'(x) in one pass, for an activation whose derivative shares most of
  // its work with f (SiLU and GELU: sigmoid(x), or erf): the op then saves f'(x) and its backward is
  // one multiply instead of a second evaluation. out and derivative are contiguous, `in` may be
  // strided. Returns false, writing nothing, where the backend has no such kernel for `op`; the op
  // then saves x and evaluates the derivative in its backward.
  virtual bool unary_with_derivative(UnaryOp op, const View& in, const View& out, const View& derivative) {
    (void)op, (void)in, (void)out, (void)derivative;
    return false;
  }
  // out = cond ? a : b; cond is bool.
  virtual void where(const View& cond, const View& a, const View& b, const View& out) = 0;

  // --- reductions ---
  // Reduces `in` over the dims whose bit is set in dim_mask; `out` has in's rank with those dims
  // of size 1 (keepdim layout), contiguous.
  virtual void reduce(ReduceOp op, const View& in, uint32_t dim_mask, const View& out) = 0;
  // Max (is_max) or min over one dim, with the index of the first extremum; keepdim layout.
  virtual void arg_reduce(bool is_max, const View& in, int dim, const View& values,
                          const View& indices) = 0;
  // Softmax or log-softmax over the last dim of a contiguous [rows, cols] buffer.
  virtual void softmax(const View& in, const View& out, bool log) = 0;
  // grad_in from grad_out and the saved softmax (or log-softmax) output y, same layout.
  virtual void softmax_backward(const View& grad_out, const View& y, const View& grad_in, bool log) = 0;

  // --- linear algebra ---
  // Row-major C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b] for b < batch, with op(X) = X or X^T.
  // stride_* are element distances between consecutive batch matrices (0 broadcasts one matrix).
  virtual void gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                    double alpha, const void* a, int64_t lda, int64_t stride_a, const void* b,
                    int64_t ldb, int64_t stride_b, double beta, void* c, int64_t ldc, int64_t stride_c,
                    int64_t batch) = 0;
  // Products that share no output and write nothing another reads, run in any order or at once:
  // the backward of a product issues its two gradients so. A CPU backend runs them side by side,
  // each on its share of the threads, rather than each split over all of them; this default runs
  // them in turn.
  virtual void gemm_group(const GemmCall* calls, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      const GemmCall& g = calls[i];
      gemm(g.dtype, g.trans_a, g.trans_b, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.stride_a, g.b, g.ldb, g.stride_b,
           g.beta, g.c, g.ldc, g.stride_c, g.batch);
    }
  }

  // --- convolution (contiguous NCHW input/output, OIHW weights, [groups] handled inside) ---
  // Elements of the column matrices (im2col) that conv2d_forward can hand to conv2d_backward_weight
  // for the whole batch, so that the weight gradient need not rebuild them from x; 0 when this
  // backend builds none for p (then both take columns = null).
  virtual int64_t conv2d_columns_size(const Conv2dParams& p) const {
    (void)p;
    return 0;
  }
  // out = conv(x, w) + bias (bias may be null). When columns is non-null it receives x's column
  // matrices (conv2d_columns_size(p) elements).
  virtual void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w,
                              const void* bias, void* out, void* columns) = 0;
  // grad_x = conv2d's adjoint applied to grad_out (this is also conv_transpose2d's forward).
  virtual void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* grad_out,
                                     const void* w, void* grad_x) = 0;
  // grad_w (and grad_bias when non-null) from x and grad_out; overwrites. When columns is non-null
  // it holds x's column matrices as conv2d_forward wrote them, and x is not read.
  virtual void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* x,
                                      const void* grad_out, void* grad_w, void* grad_bias,
                                      const void* columns) = 0;

  // --- pooling and resampling (contiguous NCHW) ---
  virtual void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out,
                                  int64_t* indices) = 0;
  virtual void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out,
                                   const int64_t* indices, void* grad_x) = 0;
  virtual void avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out) = 0;
  virtual void avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out,
                                   void* grad_x) = 0;
  // Nearest-neighbour upsampling by integer factors; backward sums each block.
  virtual void upsample_nearest2d_forward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh,
                                          int64_t sw, const void* x, void* out) = 0;
  virtual void upsample_nearest2d_backward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh,
                                           int64_t sw, const void* grad_out, void* grad_x) = 0;

  // --- indexing (in/out contiguous; index int64 contiguous) ---
  // out = in.index_select(dim, index): in viewed as [outer, in_dim, inner], out as [outer, n, inner].
  virtual void index_select(const View& in, int64_t outer, int64_t in_dim, int64_t inner,
                            const int64_t* index, int64_t n, const View& out) = 0;
  // grad_in[.., index[i], ..] += grad_out[.., i, ..]; grad_in must be zeroed by the caller.
  virtual void index_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner,
                         const int64_t* index, int64_t n, const View& grad_in) = 0;
  // out[o, j, i] = in[o, index[o, j, i], i]: in [outer, in_dim, inner], index/out [outer, n, inner].
  virtual void gather(const View& in, int64_t outer, int64_t in_dim, int64_t inner,
                      const int64_t* index, int64_t n, const View& out) = 0;
  // grad_in[o, index[o, j, i], i] += grad_out[o, j, i]; grad_in zeroed by the caller.
  virtual void scatter_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner,
                           const int64_t* index, int64_t n, const View& grad_in) = 0;

  // --- random numbers: Philox4x32-10, element i draws from counter (offset + i / 4), lane i % 4 ---
  virtual void random_uniform(const View& out, uint64_t seed, uint64_t offset, double low,
                              double high) = 0;
  virtual void random_normal(const View& out, uint64_t seed, uint64_t offset, double mean,
                             double stddev) = 0;
  // Integers uniform in [low, high) into an int64 view.
  virtual void random_int(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) = 0;

  // --- optimizer updates over contiguous buffers of n elements (no graph) ---
  virtual void adam_update(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg,
                           void* exp_avg_sq, void* max_exp_avg_sq, const AdamStep& s) = 0;
  // SGD with momentum buffer (may be null when momentum == 0).
  virtual void sgd_update(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf,
                          double lr, double momentum, double dampening, double weight_decay,
                          bool nesterov, bool first_step) = 0;
  virtual void rmsprop_update(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                              void* momentum_buf, double lr, double alpha, double eps,
                              double weight_decay, double momentum) = 0;
};

}  // namespace strata
