// 2-D convolution as im2col + gemm, one sample per task: the batch is spread over TBB workers and
// each gemm runs single-threaded inside (OpenBLAS's own threads lose to this on batched small
// products: see cpu_gemm.cpp). conv2d's backward-data pass (gemm + col2im) is also
// conv_transpose2d's forward, and conv2d's forward is conv_transpose2d's backward-data pass.
#include <algorithm>
#include <cstring>
#include <vector>

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

// col[(c, i, j), (y, x)] = x[c, y*sh - ph + i*dh, x*sw - pw + j*dw] (0 outside the image).
template <class T>
void im2col(const Geometry& g, const T* x, T* col) {
  for (int64_t c = 0; c < g.cin; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * g.oh * g.ow;
        for (int64_t y = 0; y < g.oh; ++y) {
          const int64_t iy = y * g.sh - g.ph + i * g.dh;
          T* out = row + y * g.ow;
          if (iy < 0 || iy >= g.h) {
            std::fill(out, out + g.ow, T(0));
            continue;
          }
          const T* in = x + (c * g.h + iy) * g.w;
          for (int64_t xo = 0; xo < g.ow; ++xo) {
            const int64_t ix = xo * g.sw - g.pw + j * g.dw;
            out[xo] = (ix >= 0 && ix < g.w) ? in[ix] : T(0);
          }
        }
      }
}

// The adjoint of im2col: x[c, iy, ix] += col[(c, i, j), (y, x)]; x must be zeroed by the caller.
template <class T>
void col2im(const Geometry& g, const T* col, T* x) {
  for (int64_t c = 0; c < g.cin; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = col + ((c * g.kh + i) * g.kw + j) * g.oh * g.ow;
        for (int64_t y = 0; y < g.oh; ++y) {
          const int64_t iy = y * g.sh - g.ph + i * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          T* out = x + (c * g.h + iy) * g.w;
          const T* in = row + y * g.ow;
          for (int64_t xo = 0; xo < g.ow; ++xo) {
            const int64_t ix = xo * g.sw - g.pw + j * g.dw;
            if (ix >= 0 && ix < g.w) out[ix] += in[xo];
          }
        }
      }
}

// A 1x1 convolution with stride 1 and no padding needs no im2col: the input already is the column matrix.
bool is_pointwise(const Geometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

template <class T>
void forward_typed(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* out) {
  const Geometry g = geometry(p);
  const int64_t x_sample = p.in_channels * g.h * g.w, out_sample = p.out_channels * g.oh * g.ow;
  const int64_t w_group = g.cout * g.col_rows();
  cpu::BlasSerialScope serial;
  cpu::parallel_for(p.batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> col(is_pointwise(g) ? 0 : static_cast<size_t>(g.col_rows() * g.col_cols()));
    for (int64_t n = begin; n < end; ++n)
      for (int64_t grp = 0; grp < p.groups; ++grp) {
        const T* xg = x + n * x_sample + grp * g.cin * g.h * g.w;
        T* og = out + n * out_sample + grp * g.cout * g.oh * g.ow;
        const T* cols = xg;
        if (!is_pointwise(g)) {
          im2col(g, xg, col.data());
          cols = col.data();
        }
        T beta = 0;
        if (bias) {
          for (int64_t c = 0; c < g.cout; ++c) std::fill(og + c * g.col_cols(), og + (c + 1) * g.col_cols(), bias[grp * g.cout + c]);
          beta = 1;
        }
        cpu::gemm_rowmajor<T>(false, false, g.cout, g.col_cols(), g.col_rows(), T(1), w + grp * w_group, g.col_rows(), cols,
                       g.col_cols(), beta, og, g.col_cols());
      }
  });
}

template <class T>
void backward_input_typed(const Conv2dParams& p, const T* grad_out, const T* w, T* grad_x) {
  const Geometry g = geometry(p);
  const int64_t x_sample = p.in_channels * g.h * g.w, out_sample = p.out_channels * g.oh * g.ow;
  const int64_t w_group = g.cout * g.col_rows();
  cpu::BlasSerialScope serial;
  cpu::parallel_for(p.batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> col(is_pointwise(g) ? 0 : static_cast<size_t>(g.col_rows() * g.col_cols()));
    for (int64_t n = begin; n < end; ++n)
      for (int64_t grp = 0; grp < p.groups; ++grp) {
        T* xg = grad_x + n * x_sample + grp * g.cin * g.h * g.w;
        const T* og = grad_out + n * out_sample + grp * g.cout * g.oh * g.ow;
        if (is_pointwise(g)) {  // the column matrix is grad_x itself
          cpu::gemm_rowmajor<T>(true, false, g.col_rows(), g.col_cols(), g.cout, T(1), w + grp * w_group, g.col_rows(), og,
                         g.col_cols(), T(0), xg, g.col_cols());
          continue;
        }
        cpu::gemm_rowmajor<T>(true, false, g.col_rows(), g.col_cols(), g.cout, T(1), w + grp * w_group, g.col_rows(), og,
                       g.col_cols(), T(0), col.data(), g.col_cols());
        std::fill(xg, xg + g.cin * g.h * g.w, T(0));
        col2im(g, col.data(), xg);
      }
  });
}

template <class T>
void backward_weight_typed(const Conv2dParams& p, const T* x, const T* grad_out, T* grad_w, T* grad_bias) {
  const Geometry g = geometry(p);
  const int64_t x_sample = p.in_channels * g.h * g.w, out_sample = p.out_channels * g.oh * g.ow;
  const int64_t w_group = g.cout * g.col_rows(), w_total = w_group * p.groups;
  // A fixed number of chunks, each with its own accumulator summed in order afterwards: the result
  // does not depend on how TBB schedules the chunks.
  const int64_t chunks = std::min<int64_t>(p.batch, 8);
  std::vector<std::vector<T>> partial(static_cast<size_t>(chunks));
  cpu::BlasSerialScope serial;
  cpu::parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    std::vector<T> col(is_pointwise(g) ? 0 : static_cast<size_t>(g.col_rows() * g.col_cols()));
    for (int64_t chunk = cb; chunk < ce; ++chunk) {
      std::vector<T>& acc = partial[chunk];
      acc.assign(static_cast<size_t>(w_total), T(0));
      for (int64_t n = chunk * p.batch / chunks; n < (chunk + 1) * p.batch / chunks; ++n)
        for (int64_t grp = 0; grp < p.groups; ++grp) {
          const T* xg = x + n * x_sample + grp * g.cin * g.h * g.w;
          const T* og = grad_out + n * out_sample + grp * g.cout * g.oh * g.ow;
          const T* cols = xg;
          if (!is_pointwise(g)) {
            im2col(g, xg, col.data());
            cols = col.data();
          }
          // dW_g += dOut_g [cout, OH*OW] @ col^T [OH*OW, cin*kh*kw]
          cpu::gemm_rowmajor<T>(false, true, g.cout, g.col_rows(), g.col_cols(), T(1), og, g.col_cols(), cols, g.col_cols(),
                         T(1), acc.data() + grp * w_group, g.col_rows());
        }
    }
  });
  std::copy(partial[0].begin(), partial[0].end(), grad_w);
  for (int64_t c = 1; c < chunks; ++c)
    for (int64_t i = 0; i < w_total; ++i) grad_w[i] += partial[c][i];
  if (grad_bias) {
    const int64_t spatial = g.oh * g.ow;
    for (int64_t c = 0; c < p.out_channels; ++c) {
      double s = 0;
      for (int64_t n = 0; n < p.batch; ++n) {
        const T* row = grad_out + n * out_sample + c * spatial;
        for (int64_t i = 0; i < spatial; ++i) s += row[i];
      }
      grad_bias[c] = static_cast<T>(s);
    }
  }
}

}  // namespace

void CpuBackend::conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias,
                                void* out) {
  cpu::visit_floating(dtype, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    forward_typed<T>(p, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias),
                     static_cast<T*>(out));
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
                                        void* grad_w, void* grad_bias) {
  cpu::visit_floating(dtype, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    backward_weight_typed<T>(p, static_cast<const T*>(x), static_cast<const T*>(grad_out), static_cast<T*>(grad_w),
                             static_cast<T*>(grad_bias));
  });
}

}  // namespace strata
