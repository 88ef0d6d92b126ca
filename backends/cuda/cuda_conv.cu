// 2-D convolution on the GPU as im2col + cuBLAS gemm, the same decomposition as the CPU backend
// (backends/cpu/cpu_conv.cpp), so both agree to gemm rounding:
// - forward:         out[n, g] = W_g · col(x[n])_g, one strided-batched gemm per group over a chunk
//                    of samples (or per sample over the groups, whichever makes fewer calls);
// - backward input:  col = W_g^T · grad_out[n, g], then col2im. This is also conv_transpose2d's
//                    forward. col2im is a gather (each input pixel sums its own taps in a fixed
//                    order) rather than a scatter with atomics, so the result is deterministic and
//                    adds in the CPU's order;
// - backward weight: the batch is folded into the gemm's inner dimension: im2col writes a chunk as
//                    [C*kh*kw, samples*pixels] and grad_out is transposed to [C_out, samples*pixels],
//                    so one gemm (batched over the groups) sums a whole chunk, and later chunks add
//                    on with beta = 1. Chunks are fixed by the workspace budget, so the summation
//                    order, and the result, is the same on every run. The bias gradient is a
//                    per-channel block reduction with a fixed shape (deterministic too).
// The batch is processed in chunks so the column workspace stays under kColumnBudget (one sample at
// least). cuBLAS is column-major: a row-major C = op(A)·op(B) is issued as C^T = op(B)^T·op(A)^T.
#include <algorithm>
#include <climits>

#include "backends/cuda/cuda_kernels.cuh"

namespace strata {

namespace {

using cuda::blocks_for;
using cuda::kThreads;

// Column workspace per call; a chunk holds as many samples as fit, one at least.
constexpr size_t kColumnBudget = size_t{64} << 20;
// cuBLAS takes int batch counts; chunks stay well below that.
constexpr int64_t kMaxChunk = 65535;

// The geometry kernels need (channels here are all the input channels: im2col ignores groups,
// since [C, kh, kw] rows of consecutive groups are consecutive in the column matrix).
struct ConvShape {
  int64_t channels, h, w, oh, ow;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};

ConvShape conv_shape(const Conv2dParams& p) {
  return {p.in_channels, p.in_h,     p.in_w,  p.out_h, p.out_w,      p.kernel_h,  p.kernel_w,
          p.stride_h,    p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w};
}

// A 1x1 convolution with stride 1 and no padding needs no im2col: the input is the column matrix.
bool is_pointwise(const Conv2dParams& p) {
  return p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 &&
         p.pad_w == 0;
}

int to_int(int64_t v, const char* op) {
  STRATA_CHECK(v >= 0 && v <= INT_MAX, op, ": a matrix dimension of ", v, " is too large for cuBLAS");
  return static_cast<int>(v);
}

// Samples per chunk when each sample needs `per_sample` workspace elements of size `elem`.
int64_t chunk_for(int64_t batch, int64_t per_sample, size_t elem) {
  const int64_t bytes = std::max<int64_t>(1, per_sample * static_cast<int64_t>(elem));
  const int64_t fit = std::max<int64_t>(1, static_cast<int64_t>(kColumnBudget) / bytes);
  return std::min({batch, fit, kMaxChunk});
}

cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                                    int n, int k, const float* alpha, const float* a, int lda, long long sa,
                                    const float* b, int ldb, long long sb, const float* beta, float* c,
                                    int ldc, long long sc, int batch) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc,
                                   batch);
}

cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                                    int n, int k, const double* alpha, const double* a, int lda, long long sa,
                                    const double* b, int ldb, long long sb, const double* beta, double* c,
                                    int ldc, long long sc, int batch) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc,
                                   batch);
}

// Row-major C[i] = op(A[i]) (m x k) · op(B[i]) (k x n) + beta C[i] for i < batch; the strides are
// element distances between batch matrices. k must be positive (callers handle empty products:
// what cuBLAS does with k = 0 and beta = 0 is not something to rely on).
template <class T>
void rowmajor_gemm(const CudaBackend& be, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   const T* a, int64_t lda, int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b,
                   T beta, T* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  const char* op = "conv2d";
  const T alpha = T(1);
  // Column-major C^T (n x m) = op(B)^T (n x k) · op(A)^T (k x m): B's buffer is the first operand.
  cuda::check(gemm_strided_batched(be.blas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(n, op), to_int(m, op),
                                   to_int(k, op), &alpha, b, to_int(ldb, op), stride_b, a, to_int(lda, op),
                                   stride_a, &beta, c, to_int(ldc, op), stride_c, to_int(batch, op)),
              op);
}

// The per-group products of `samples` samples against the (group-sliced, sample-shared) weight:
// C[s, g] = op(W_g) · B[s, g]. One strided-batched call per group over the samples, or per sample
// over the groups when there are more groups than samples (depthwise convolutions).
template <class T>
void grouped_gemm(const CudaBackend& be, bool trans_w, int64_t m, int64_t n, int64_t k, const T* w,
                  int64_t ldw, int64_t w_group, const T* b, int64_t ldb, int64_t b_sample, int64_t b_group,
                  T beta, T* c, int64_t ldc, int64_t c_sample, int64_t c_group, int64_t samples,
                  int64_t groups) {
  if (groups <= samples) {
    for (int64_t g = 0; g < groups; ++g)
      rowmajor_gemm<T>(be, trans_w, false, m, n, k, w + g * w_group, ldw, 0, b + g * b_group, ldb, b_sample,
                       beta, c + g * c_group, ldc, c_sample, samples);
  } else {
    for (int64_t s = 0; s < samples; ++s)
      rowmajor_gemm<T>(be, trans_w, false, m, n, k, w, ldw, w_group, b + s * b_sample, ldb, b_group, beta,
                       c + s * c_sample, ldc, c_group, groups);
  }
}

// col[(c, i, j), (y, x)] of `samples` samples = x[n, c, y*sh - ph + i*dh, x*sw - pw + j*dw] (0
// outside the image). kSampleMajor lays the chunk out as [samples][rows][pixels] (forward: one
// matrix per sample); otherwise as [rows][samples][pixels] (the weight gradient's folded batch).
template <class T, bool kSampleMajor>
__global__ void im2col_kernel(ConvShape g, int64_t samples, const T* x, T* col) {
  const int64_t pixels = g.oh * g.ow, rows = g.channels * g.kh * g.kw, total = samples * rows * pixels;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t pix = t % pixels;
    const int64_t row = kSampleMajor ? (t / pixels) % rows : t / (pixels * samples);
    const int64_t n = kSampleMajor ? t / (pixels * rows) : (t / pixels) % samples;
    const int64_t j = row % g.kw, i = (row / g.kw) % g.kh, c = row / (g.kw * g.kh);
    const int64_t iy = (pix / g.ow) * g.sh - g.ph + i * g.dh, ix = (pix % g.ow) * g.sw - g.pw + j * g.dw;
    col[t] =
        (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) ? x[((n * g.channels + c) * g.h + iy) * g.w + ix] : T(0);
  }
}

// The adjoint of im2col (sample-major layout) as a gather: each input pixel sums the column entries
// of the taps that read it, in tap order (i, then j) - the order the CPU's col2im adds them in.
template <class T>
__global__ void col2im_kernel(ConvShape g, int64_t samples, const T* col, T* x) {
  const int64_t pixels = g.oh * g.ow, total = samples * g.channels * g.h * g.w;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t ix = t % g.w, iy = (t / g.w) % g.h, nc = t / (g.w * g.h);  // nc = n * channels + c
    const T* taps = col + nc * g.kh * g.kw * pixels;
    T acc = T(0);
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t yy = iy + g.ph - i * g.dh;  // = y * sh for the output row y that reads iy with tap i
      if (yy < 0) break;                        // and only decreases with i
      if (yy % g.sh != 0 || yy / g.sh >= g.oh) continue;
      const int64_t y = yy / g.sh;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t xx = ix + g.pw - j * g.dw;
        if (xx < 0) break;
        if (xx % g.sw != 0 || xx / g.sw >= g.ow) continue;
        acc += taps[(i * g.kw + j) * pixels + y * g.ow + xx / g.sw];
      }
    }
    x[t] = acc;
  }
}

// out[n, c, :] = bias[c]: the forward gemm then adds onto it (beta = 1), as on the CPU.
template <class T>
__global__ void fill_bias_kernel(int64_t total, int64_t channels, int64_t pixels, const T* bias, T* out) {
  STRATA_GRID_STRIDE_LOOP(t, total) out[t] = bias[(t / pixels) % channels];
}

// [samples][channels][pixels] -> [channels][samples][pixels], so a chunk's output gradient of one
// channel is one row of samples * pixels for the folded weight-gradient gemm.
template <class T>
__global__ void to_channel_major_kernel(int64_t samples, int64_t channels, int64_t pixels, const T* in,
                                        T* out) {
  const int64_t total = samples * channels * pixels;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t pix = t % pixels, n = (t / pixels) % samples, c = t / (pixels * samples);
    out[t] = in[(n * channels + c) * pixels + pix];
  }
}

// grad_bias[c] = sum over samples and pixels of grad_out[n, c, :]: one block per channel, each
// thread summing a fixed strided subset, then a tree in shared memory. The shape of the sum
// depends only on the sizes, so the result is the same on every run. Launch with kThreads threads.
template <class T>
__global__ void bias_grad_kernel(int64_t samples, int64_t channels, int64_t pixels, const T* g, T* out) {
  __shared__ T partial[kThreads];
  const int64_t per_channel = samples * pixels;
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    T s = T(0);
    for (int64_t e = threadIdx.x; e < per_channel; e += blockDim.x)
      s += g[((e / pixels) * channels + c) * pixels + e % pixels];
    partial[threadIdx.x] = s;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[c] = partial[0];
    __syncthreads();  // partial is rewritten for the next channel
  }
}

template <class T>
void zero(const CudaBackend& be, T* ptr, int64_t count, const char* op) {
  if (count > 0)
    cuda::check(cudaMemsetAsync(ptr, 0, static_cast<size_t>(count) * sizeof(T), be.stream()), op);
}

template <class T>
void forward_typed(CudaBackend& be, const Conv2dParams& p, const T* x, const T* w, const T* bias, T* out) {
  const char* op = "conv2d";
  const ConvShape g = conv_shape(p);
  const int64_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const int64_t pixels = p.out_h * p.out_w, k = cin * p.kernel_h * p.kernel_w,
                rows = p.in_channels * p.kernel_h * p.kernel_w;
  const int64_t x_sample = p.in_channels * p.in_h * p.in_w, out_sample = p.out_channels * pixels;
  const int64_t total = p.batch * out_sample;
  if (total == 0) return;
  T beta = T(0);
  if (bias) {
    fill_bias_kernel<T>
        <<<blocks_for(total), kThreads, 0, be.stream()>>>(total, p.out_channels, pixels, bias, out);
    be.check_launch(op);
    beta = T(1);
  }
  if (k == 0) {  // no input channels or an empty kernel: the output is the bias alone
    if (!bias) zero(be, out, total, op);
    return;
  }
  const bool pointwise = is_pointwise(p);
  // A pointwise input already is its column matrix, with the same strides (rows = C, pixels = H*W).
  const int64_t chunk =
      pointwise ? std::min(p.batch, kMaxChunk) : chunk_for(p.batch, rows * pixels, sizeof(T));
  T* col = pointwise ? nullptr
                     : static_cast<T*>(be.workspace(static_cast<size_t>(chunk * rows * pixels) * sizeof(T)));
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t b = std::min(chunk, p.batch - n0);
    const T* cols = x + n0 * x_sample;
    if (!pointwise) {
      const int64_t count = b * rows * pixels;
      im2col_kernel<T, true><<<blocks_for(count), kThreads, 0, be.stream()>>>(g, b, cols, col);
      be.check_launch(op);
      cols = col;
    }
    // out_g [cout, pixels] = W_g [cout, k] · col_g [k, pixels]
    grouped_gemm<T>(be, false, cout, pixels, k, w, k, cout * k, cols, pixels, rows * pixels, k * pixels, beta,
                    out + n0 * out_sample, pixels, out_sample, cout * pixels, b, p.groups);
  }
}

template <class T>
void backward_input_typed(CudaBackend& be, const Conv2dParams& p, const T* grad_out, const T* w, T* grad_x) {
  const char* op = "conv2d backward";
  const ConvShape g = conv_shape(p);
  const int64_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const int64_t pixels = p.out_h * p.out_w, k = cin * p.kernel_h * p.kernel_w,
                rows = p.in_channels * p.kernel_h * p.kernel_w;
  const int64_t x_sample = p.in_channels * p.in_h * p.in_w, out_sample = p.out_channels * pixels;
  if (p.batch * x_sample == 0) return;
  if (k == 0 || cout == 0 || pixels == 0) {  // an empty product: nothing reaches the input
    zero(be, grad_x, p.batch * x_sample, op);
    return;
  }
  const bool pointwise = is_pointwise(p);
  // A pointwise convolution's column matrix is grad_x itself: the gemm writes it directly.
  const int64_t chunk =
      pointwise ? std::min(p.batch, kMaxChunk) : chunk_for(p.batch, rows * pixels, sizeof(T));
  T* col = pointwise ? nullptr
                     : static_cast<T*>(be.workspace(static_cast<size_t>(chunk * rows * pixels) * sizeof(T)));
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t b = std::min(chunk, p.batch - n0);
    T* cols = pointwise ? grad_x + n0 * x_sample : col;
    // col_g [k, pixels] = W_g^T [k, cout] · grad_out_g [cout, pixels]
    grouped_gemm<T>(be, true, k, pixels, cout, w, k, cout * k, grad_out + n0 * out_sample, pixels, out_sample,
                    cout * pixels, T(0), cols, pixels, rows * pixels, k * pixels, b, p.groups);
    if (pointwise) continue;
    const int64_t count = b * x_sample;
    col2im_kernel<T><<<blocks_for(count), kThreads, 0, be.stream()>>>(g, b, col, grad_x + n0 * x_sample);
    be.check_launch(op);
  }
}

template <class T>
void backward_weight_typed(CudaBackend& be, const Conv2dParams& p, const T* x, const T* grad_out, T* grad_w,
                           T* grad_bias) {
  const char* op = "conv2d backward";
  const ConvShape g = conv_shape(p);
  const int64_t cin = p.in_channels / p.groups, cout = p.out_channels / p.groups;
  const int64_t pixels = p.out_h * p.out_w, k = cin * p.kernel_h * p.kernel_w,
                rows = p.in_channels * p.kernel_h * p.kernel_w;
  const int64_t x_sample = p.in_channels * p.in_h * p.in_w, out_sample = p.out_channels * pixels;
  const int64_t w_group = cout * k, w_total = w_group * p.groups;
  if (grad_bias && p.out_channels > 0) {
    if (p.batch * pixels == 0) {
      zero(be, grad_bias, p.out_channels, op);
    } else {
      const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(p.out_channels, 65535));
      bias_grad_kernel<T>
          <<<blocks, kThreads, 0, be.stream()>>>(p.batch, p.out_channels, pixels, grad_out, grad_bias);
      be.check_launch(op);
    }
  }
  if (w_total == 0) return;
  if (p.batch * pixels == 0) {  // an empty batch contributes nothing
    zero(be, grad_w, w_total, op);
    return;
  }
  // Per sample: its columns [rows, pixels] and its output gradient in channel-major order. The
  // folded gemm's inner dimension is samples * pixels, an int for cuBLAS.
  int64_t chunk = chunk_for(p.batch, (rows + p.out_channels) * pixels, sizeof(T));
  chunk = std::max<int64_t>(1, std::min<int64_t>(chunk, INT_MAX / pixels));
  T* col = static_cast<T*>(
      be.workspace(static_cast<size_t>(chunk * (rows + p.out_channels) * pixels) * sizeof(T)));
  T* grad_t = col + chunk * rows * pixels;
  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t b = std::min(chunk, p.batch - n0), inner = b * pixels;
    const int64_t count = b * rows * pixels;
    im2col_kernel<T, false><<<blocks_for(count), kThreads, 0, be.stream()>>>(g, b, x + n0 * x_sample, col);
    be.check_launch(op);
    const T* gsrc = grad_out + n0 * out_sample;  // one sample already is channel-major
    if (b > 1) {
      const int64_t gcount = b * out_sample;
      to_channel_major_kernel<T>
          <<<blocks_for(gcount), kThreads, 0, be.stream()>>>(b, p.out_channels, pixels, gsrc, grad_t);
      be.check_launch(op);
      gsrc = grad_t;
    }
    // dW_g [cout, k] (+)= grad_out_g [cout, b*pixels] · col_g^T [b*pixels, k], batched over the groups.
    rowmajor_gemm<T>(be, false, true, cout, k, inner, gsrc, inner, cout * inner, col, inner, k * inner,
                     n0 == 0 ? T(0) : T(1), grad_w, k, w_group, p.groups);
  }
}

}  // namespace

void CudaBackend::conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w,
                                 const void* bias, void* out, void* columns) {
  STRATA_CHECK(columns == nullptr, "conv2d: the CUDA backend keeps no column matrices (conv2d_columns_size is 0)");
  activate();
  cuda::visit_floating(dtype, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    forward_typed<T>(*this, p, static_cast<const T*>(x), static_cast<const T*>(w),
                     static_cast<const T*>(bias), static_cast<T*>(out));
  });
}

void CudaBackend::conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* grad_out,
                                        const void* w, void* grad_x) {
  activate();
  cuda::visit_floating(dtype, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    backward_input_typed<T>(*this, p, static_cast<const T*>(grad_out), static_cast<const T*>(w),
                            static_cast<T*>(grad_x));
  });
}

void CudaBackend::conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* x,
                                         const void* grad_out, void* grad_w, void* grad_bias,
                                         const void* columns) {
  STRATA_CHECK(columns == nullptr, "conv2d backward: the CUDA backend keeps no column matrices");
  activate();
  cuda::visit_floating(dtype, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    backward_weight_typed<T>(*this, p, static_cast<const T*>(x), static_cast<const T*>(grad_out),
                             static_cast<T*>(grad_w), static_cast<T*>(grad_bias));
  });
}

}  // namespace strata
