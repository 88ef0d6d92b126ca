// 2-D convolution as im2col + gemm, one sample per task: the batch is spread over TBB workers and
// each gemm runs single-threaded inside (OpenBLAS's own threads lose to this on batched small
// products: see cpu_gemm.cpp). conv2d's backward-data pass (gemm + col2im) is also
// conv_transpose2d's forward, and conv2d's forward is conv_transpose2d's backward-data pass.
#include <algorithm>
#include <vector>

#include <tbb/enumerable_thread_specific.h>

#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dtype_dispatch.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

namespace strata {

namespace {

// Geometry of one group of one sample.
struct Geometry {
  int64_t cin, cout;      // channels per group
  int64_t h, w, oh, ow;   // input and output sizes
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t col_rows() const { return cin * kh * kw; }
  int64_t col_cols() const { return oh * ow; }
};

Geometry geometry(const Conv2dParams& p) {
  return {p.in_channels / p.groups, p.out_channels / p.groups, p.in_h, p.in_w, p.out_h, p.out_w, p.kernel_h,
          p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dilation_h, p.dilation_w};
}

// The outputs o in [lo, hi) of a window sweep whose tap reads input o * stride + offset inside [0, size).
struct Span {
  int64_t lo, hi;
};

Span inside(int64_t offset, int64_t stride, int64_t size, int64_t n) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t hi = offset >= size ? 0 : (size - offset + stride - 1) / stride;
  const int64_t h = std::min(hi, n);
  return {std::min(lo, h), h};
}

// col[(c, i, j), (y, x)] = x[c, y*sh - ph + i*dh, x*sw - pw + j*dw] (0 outside the image). The
// in-image span of each row is worked out once per tap, so the inner loop is a plain (strided) copy;
// with a bounds test per element instead, im2col took a fifth of the W2 step (perf) and ran 1.3x
// (W2's stride 2) to 3x (stride 1) slower.
// The transposed layout, one row per output position holding its receptive field (kw-long
// contiguous copies; the products then take it with trans_b), copied W2's 32x14x14 k4 s2 layer
// twice as fast on its own (0.50 against 0.88-1.16 ns an element, one thread), yet W2 ran slower
// with it: 2461-2898 against 2754-3033 images/s in five alternations (AMD EPYC Zen 3), and its
// copies stayed 18.5-24% of the step in perf against 19.4% for im2col and col2im. Not kept.
template <class T>
void im2col(const Geometry& g, const T* x, T* col) {
  const int64_t plane = g.oh * g.ow;
  for (int64_t c = 0; c < g.cin; ++c)
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t row_offset = i * g.dh - g.ph;
      const Span ys = inside(row_offset, g.sh, g.h, g.oh);
      for (int64_t j = 0; j < g.kw; ++j, col += plane) {
        const int64_t col_offset = j * g.dw - g.pw;
        const Span xs = inside(col_offset, g.sw, g.w, g.ow);
        for (int64_t k = 0; k < ys.lo * g.ow; ++k) col[k] = T(0);
        for (int64_t y = ys.lo; y < ys.hi; ++y) {
          T* out = col + y * g.ow;
          const T* in = x + (c * g.h + y * g.sh + row_offset) * g.w;  // the input row; taps index from its start
          for (int64_t k = 0; k < xs.lo; ++k) out[k] = T(0);
          if (g.sw == 1) {
            for (int64_t k = xs.lo; k < xs.hi; ++k) out[k] = in[k + col_offset];
          } else {
            for (int64_t k = xs.lo; k < xs.hi; ++k) out[k] = in[k * g.sw + col_offset];
          }
          for (int64_t k = xs.hi; k < g.ow; ++k) out[k] = T(0);
        }
        for (int64_t k = ys.hi * g.ow; k < plane; ++k) col[k] = T(0);
      }
    }
}

// The adjoint of im2col: x[c, iy, ix] += col[(c, i, j), (y, x)]; x must be zeroed by the caller.
template <class T>
void col2im(const Geometry& g, const T* col, T* x) {
  const int64_t plane = g.oh * g.ow;
  for (int64_t c = 0; c < g.cin; ++c)
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t row_offset = i * g.dh - g.ph;
      const Span ys = inside(row_offset, g.sh, g.h, g.oh);
      for (int64_t j = 0; j < g.kw; ++j, col += plane) {
        const int64_t col_offset = j * g.dw - g.pw;
        const Span xs = inside(col_offset, g.sw, g.w, g.ow);
        for (int64_t y = ys.lo; y < ys.hi; ++y) {
          const T* in = col + y * g.ow;
          T* out = x + (c * g.h + y * g.sh + row_offset) * g.w;
          for (int64_t k = xs.lo; k < xs.hi; ++k) out[k * g.sw + col_offset] += in[k];
        }
      }
    }
}

// A 1x1 convolution with stride 1 and no padding needs no im2col: the input already is the column matrix.
bool is_pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// Runs fn(begin, end) over the samples of a batch, spread over TBB workers (the gemms inside are
// single-threaded OpenBLAS calls). A single sample runs on the calling thread alone.
// One product per sample packs the weight once per sample (W2's 64x512 weight for 49 output columns).
// Blocks of samples side by side in one product of ~256 columns (branch experiment/conv-sample-blocks)
// cut OpenBLAS's packing from 16.6% to 12.5% of W2's perf samples on Intel Ice Lake, but im2col into
// the wider, no longer cache-hot block rose from 11.3% to 16.9% and gathering grad_out / scattering out
// added 4.2%: the worker's user time was 47.8-53.0 s against 46.4-50.2 s per sample (three
// alternations). Not kept. A constant-stride-2 copy in im2col vectorised the inner loop (SSE2) but left
// im2col at 11% of the samples: W2's rows are 7 and 14 long, so loop overhead, not the copy, dominates.
template <class Fn>
void over_samples(int64_t batch, Fn&& fn) {
  cpu::parallel_for(batch, 1, fn);
}

// One column buffer per worker thread, allocated once per call and reused for every sample it runs.
template <class T>
using ColumnScratch = tbb::enumerable_thread_specific<std::vector<T>>;

size_t column_size(const Geometry& g) {
  return is_pointwise(g) ? 0 : static_cast<size_t>(g.col_rows() * g.col_cols());
}

// The slot of sample n, group grp in a batch's kept column matrices (conv2d_columns_size elements).
template <class T>
T* column_slot(T* columns, const Geometry& g, int64_t groups, int64_t n, int64_t grp) {
  return columns + static_cast<size_t>(n * groups + grp) * column_size(g);
}

// With `columns` (conv2d_columns_size elements) each sample's and group's column matrix is built in
// its own slot there, for conv2d_backward_weight to reuse; without, in a per-thread scratch buffer.
template <class T>
void forward_typed(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* out, T* columns) {
  const Geometry g = geometry(p);
  const int64_t x_sample = p.in_channels * g.h * g.w, out_sample = p.out_channels * g.oh * g.ow;
  const int64_t w_group = g.cout * g.col_rows();
  ColumnScratch<T> scratch(columns ? 0 : column_size(g));
  over_samples(p.batch, [&](int64_t begin, int64_t end) {
    T* const thread_col = scratch.local().data();
    for (int64_t n = begin; n < end; ++n)
      for (int64_t grp = 0; grp < p.groups; ++grp) {
        const T* xg = x + n * x_sample + grp * g.cin * g.h * g.w;
        T* og = out + n * out_sample + grp * g.cout * g.oh * g.ow;
        const T* cols = xg;
        if (!is_pointwise(g)) {
          T* col = columns ? column_slot(columns, g, p.groups, n, grp) : thread_col;
          im2col(g, xg, col);
          cols = col;
        }
        T beta = 0;
        if (bias) {  // the gemm adds onto the bias (beta = 1) instead of a second pass over the output
          for (int64_t c = 0; c < g.cout; ++c)
            std::fill(og + c * g.col_cols(), og + (c + 1) * g.col_cols(), bias[grp * g.cout + c]);
          beta = 1;
        }
        cpu::gemm_rowmajor<T>(false, false, g.cout, g.col_cols(), g.col_rows(), T(1), w + grp * w_group,
                              g.col_rows(), cols, g.col_cols(), beta, og, g.col_cols());
      }
  });
}

template <class T>
void backward_input_typed(const Conv2dParams& p, const T* grad_out, const T* w, T* grad_x) {
  const Geometry g = geometry(p);
  const int64_t x_sample = p.in_channels * g.h * g.w, out_sample = p.out_channels * g.oh * g.ow;
  const int64_t w_group = g.cout * g.col_rows();
  ColumnScratch<T> scratch(column_size(g));
  over_samples(p.batch, [&](int64_t begin, int64_t end) {
    T* col = scratch.local().data();
    for (int64_t n = begin; n < end; ++n)
      for (int64_t grp = 0; grp < p.groups; ++grp) {
        T* xg = grad_x + n * x_sample + grp * g.cin * g.h * g.w;
        const T* og = grad_out + n * out_sample + grp * g.cout * g.oh * g.ow;
        // col = W_g^T [cin*kh*kw, cout] @ dOut_g [cout, OH*OW]; a pointwise conv's column matrix is grad_x itself.
        T* cols = is_pointwise(g) ? xg : col;
        cpu::gemm_rowmajor<T>(true, false, g.col_rows(), g.col_cols(), g.cout, T(1), w + grp * w_group,
                              g.col_rows(), og, g.col_cols(), T(0), cols, g.col_cols());
        if (is_pointwise(g)) continue;
        std::fill(xg, xg + g.cin * g.h * g.w, T(0));
        col2im(g, col, xg);
      }
  });
}

// The weight gradient sums a product per sample. The batch is cut into a fixed number of chunks, each
// summed in sample order into its own buffer, and the buffers are added in chunk order: the result is
// the same bit for bit whatever the thread count or TBB's scheduling (per-thread buffers would make
// the float32 gradient, and so a whole training run, vary from run to run).
constexpr int64_t kWeightGradChunks = 8;

// `columns`, when non-null, are x's column matrices as forward_typed kept them.
template <class T>
void backward_weight_typed(const Conv2dParams& p, const T* x, const T* grad_out, T* grad_w, T* grad_bias,
                           const T* columns) {
  const Geometry g = geometry(p);
  const int64_t x_sample = p.in_channels * g.h * g.w, out_sample = p.out_channels * g.oh * g.ow;
  const int64_t w_group = g.cout * g.col_rows(), w_total = w_group * p.groups;
  const int64_t acc_size = w_total + (grad_bias ? p.out_channels : 0);  // the bias gradient rides along
  const int64_t chunks = std::min<int64_t>(p.batch, kWeightGradChunks);
  if (chunks == 0) {  // an empty batch contributes nothing
    std::fill(grad_w, grad_w + w_total, T(0));
    if (grad_bias) std::fill(grad_bias, grad_bias + p.out_channels, T(0));
    return;
  }
  std::vector<T> partial(static_cast<size_t>(chunks * acc_size), T(0));
  ColumnScratch<T> scratch(columns ? 0 : column_size(g));
  const auto run_chunks = [&](int64_t first, int64_t last) {
    T* const thread_col = scratch.local().data();
    for (int64_t chunk = first; chunk < last; ++chunk) {
      T* acc = partial.data() + chunk * acc_size;
      for (int64_t n = chunk * p.batch / chunks; n < (chunk + 1) * p.batch / chunks; ++n) {
        for (int64_t grp = 0; grp < p.groups; ++grp) {
          const T* xg = x + n * x_sample + grp * g.cin * g.h * g.w;
          const T* og = grad_out + n * out_sample + grp * g.cout * g.oh * g.ow;
          const T* cols = xg;
          if (!is_pointwise(g)) {
            if (columns) {
              cols = column_slot(columns, g, p.groups, n, grp);
            } else {
              im2col(g, xg, thread_col);
              cols = thread_col;
            }
          }
          // dW_g += dOut_g [cout, OH*OW] @ col^T [OH*OW, cin*kh*kw]
          cpu::gemm_rowmajor<T>(false, true, g.cout, g.col_rows(), g.col_cols(), T(1), og, g.col_cols(), cols,
                                g.col_cols(), T(1), acc + grp * w_group, g.col_rows());
        }
        if (grad_bias) {
          T* acc_bias = acc + w_total;
          for (int64_t c = 0; c < p.out_channels; ++c) {
            const T* row = grad_out + n * out_sample + c * g.col_cols();
            T s = 0;
            for (int64_t i = 0; i < g.col_cols(); ++i) s += row[i];
            acc_bias[c] += s;
          }
        }
      }
    }
  };
  over_samples(chunks, run_chunks);
  std::copy(partial.begin(), partial.begin() + w_total, grad_w);
  if (grad_bias) std::copy(partial.begin() + w_total, partial.begin() + acc_size, grad_bias);
  for (int64_t c = 1; c < chunks; ++c) {
    const T* acc = partial.data() + c * acc_size;
    for (int64_t i = 0; i < w_total; ++i) grad_w[i] += acc[i];
    if (grad_bias)
      for (int64_t i = 0; i < p.out_channels; ++i) grad_bias[i] += acc[w_total + i];
  }
}

}  // namespace

int64_t CpuBackend::conv2d_columns_size(const Conv2dParams& p) const {
  return static_cast<int64_t>(column_size(geometry(p))) * p.batch * p.groups;
}

void CpuBackend::conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias,
                                void* out, void* columns) {
  cpu::visit_floating(dtype, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    forward_typed<T>(p, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias),
                     static_cast<T*>(out), static_cast<T*>(columns));
  });
}

void CpuBackend::conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* grad_out, const void* w,
                                       void* grad_x) {
  cpu::visit_floating(dtype, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    backward_input_typed<T>(p, static_cast<const T*>(grad_out), static_cast<const T*>(w), static_cast<T*>(grad_x));
  });
}

void CpuBackend::conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* x, const void* grad_out,
                                        void* grad_w, void* grad_bias, const void* columns) {
  cpu::visit_floating(dtype, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    backward_weight_typed<T>(p, static_cast<const T*>(x), static_cast<const T*>(grad_out), static_cast<T*>(grad_w),
                             static_cast<T*>(grad_bias), static_cast<const T*>(columns));
  });
}

}  // namespace strata
