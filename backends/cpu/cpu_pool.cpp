// Pooling and nearest-neighbour upsampling over contiguous NCHW buffers, parallel over (n, c) planes.
#include <algorithm>
#include <limits>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dtype_dispatch.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

namespace strata {

namespace {

// Planes per task so that each task has a few thousand elements of work.
int64_t plane_grain(int64_t plane_size) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(plane_size, 1)); }

}  // namespace

void CpuBackend::max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out, int64_t* indices) {
  cpu::visit_floating(dtype, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    cpu::parallel_for(p.batch * p.channels, plane_grain(p.out_h * p.out_w), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        const T* src = in + plane * p.in_h * p.in_w;
        for (int64_t y = 0; y < p.out_h; ++y)
          for (int64_t xo = 0; xo < p.out_w; ++xo) {
            T best = -std::numeric_limits<T>::infinity();
            int64_t best_index = -1;
            for (int64_t i = 0; i < p.kernel_h; ++i) {
              const int64_t iy = y * p.stride_h - p.pad_h + i;
              if (iy < 0 || iy >= p.in_h) continue;
              for (int64_t j = 0; j < p.kernel_w; ++j) {
                const int64_t ix = xo * p.stride_w - p.pad_w + j;
                if (ix < 0 || ix >= p.in_w) continue;
                const T v = src[iy * p.in_w + ix];
                if (best_index < 0 || v > best || v != v) best = v, best_index = iy * p.in_w + ix;
                if (v != v) break;  // NaN wins, as in PyTorch
              }
            }
            const int64_t at = (plane * p.out_h + y) * p.out_w + xo;
            o[at] = best;
            indices[at] = best_index;
          }
      }
    });
  });
}

void CpuBackend::max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out, const int64_t* indices,
                                     void* grad_x) {
  cpu::visit_floating(dtype, "max_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(grad_out);
    T* gx = static_cast<T*>(grad_x);
    const int64_t out_plane = p.out_h * p.out_w, in_plane = p.in_h * p.in_w;
    cpu::parallel_for(p.batch * p.channels, plane_grain(in_plane), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        T* dst = gx + plane * in_plane;
        std::fill(dst, dst + in_plane, T(0));
        for (int64_t i = 0; i < out_plane; ++i) {
          const int64_t at = plane * out_plane + i;
          if (indices[at] >= 0) dst[indices[at]] += g[at];  // overlapping windows add up
        }
      }
    });
  });
}

void CpuBackend::avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out) {
  cpu::visit_floating(dtype, "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    cpu::parallel_for(p.batch * p.channels, plane_grain(p.out_h * p.out_w), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        const T* src = in + plane * p.in_h * p.in_w;
        for (int64_t y = 0; y < p.out_h; ++y)
          for (int64_t xo = 0; xo < p.out_w; ++xo) {
            const int64_t y0 = y * p.stride_h - p.pad_h, x0 = xo * p.stride_w - p.pad_w;
            T sum = 0;
            int64_t inside = 0;
            for (int64_t iy = std::max<int64_t>(y0, 0); iy < std::min(y0 + p.kernel_h, p.in_h); ++iy)
              for (int64_t ix = std::max<int64_t>(x0, 0); ix < std::min(x0 + p.kernel_w, p.in_w); ++ix) {
                sum += src[iy * p.in_w + ix];
                ++inside;
              }
            // With count_include_pad the divisor counts padding cells (but not the window past it).
            const int64_t padded = (std::min(y0 + p.kernel_h, p.in_h + p.pad_h) - y0) *
                                   (std::min(x0 + p.kernel_w, p.in_w + p.pad_w) - x0);
            const int64_t divisor = p.count_include_pad ? padded : inside;
            o[(plane * p.out_h + y) * p.out_w + xo] = divisor > 0 ? sum / static_cast<T>(divisor) : T(0);
          }
      }
    });
  });
}

void CpuBackend::avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out, void* grad_x) {
  cpu::visit_floating(dtype, "avg_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(grad_out);
    T* gx = static_cast<T*>(grad_x);
    const int64_t in_plane = p.in_h * p.in_w;
    cpu::parallel_for(p.batch * p.channels, plane_grain(in_plane), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        T* dst = gx + plane * in_plane;
        std::fill(dst, dst + in_plane, T(0));
        for (int64_t y = 0; y < p.out_h; ++y)
          for (int64_t xo = 0; xo < p.out_w; ++xo) {
            const int64_t y0 = y * p.stride_h - p.pad_h, x0 = xo * p.stride_w - p.pad_w;
            int64_t inside = 0;
            for (int64_t iy = std::max<int64_t>(y0, 0); iy < std::min(y0 + p.kernel_h, p.in_h); ++iy)
              inside += std::min(x0 + p.kernel_w, p.in_w) - std::max<int64_t>(x0, 0);
            const int64_t padded = (std::min(y0 + p.kernel_h, p.in_h + p.pad_h) - y0) *
                                   (std::min(x0 + p.kernel_w, p.in_w + p.pad_w) - x0);
            const int64_t divisor = p.count_include_pad ? padded : inside;
            if (divisor <= 0) continue;
            const T share = g[(plane * p.out_h + y) * p.out_w + xo] / static_cast<T>(divisor);
            for (int64_t iy = std::max<int64_t>(y0, 0); iy < std::min(y0 + p.kernel_h, p.in_h); ++iy)
              for (int64_t ix = std::max<int64_t>(x0, 0); ix < std::min(x0 + p.kernel_w, p.in_w); ++ix)
                dst[iy * p.in_w + ix] += share;
          }
      }
    });
  });
}

void CpuBackend::upsample_nearest2d_forward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                            const void* x, void* out) {
  cpu::visit_floating(dtype, "upsample_nearest2d", [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* o = static_cast<T*>(out);
    const int64_t ow = w * sw;
    cpu::parallel_for(nc, plane_grain(h * w * sh * sw), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane)
        for (int64_t y = 0; y < h * sh; ++y) {
          const T* src = in + (plane * h + y / sh) * w;
          T* dst = o + (plane * h * sh + y) * ow;
          for (int64_t xo = 0; xo < ow; ++xo) dst[xo] = src[xo / sw];
        }
    });
  });
}

void CpuBackend::upsample_nearest2d_backward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                             const void* grad_out, void* grad_x) {
  cpu::visit_floating(dtype, "upsample_nearest2d backward", [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(grad_out);
    T* gx = static_cast<T*>(grad_x);
    const int64_t ow = w * sw;
    cpu::parallel_for(nc, plane_grain(h * w * sh * sw), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        T* dst = gx + plane * h * w;
        std::fill(dst, dst + h * w, T(0));
        for (int64_t y = 0; y < h * sh; ++y) {
          const T* src = g + (plane * h * sh + y) * ow;
          T* row = dst + (y / sh) * w;
          for (int64_t xo = 0; xo < ow; ++xo) row[xo / sw] += src[xo];
        }
      }
    });
  });
}

}  // namespace strata
