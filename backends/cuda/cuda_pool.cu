// Pooling and nearest-neighbour upsampling over contiguous NCHW buffers on the GPU, one thread per
// element written. The formulas are the CPU backend's (backends/cpu/cpu_pool.cpp) loop for loop.
//
// The backward passes are gathers, not scatters: each input element walks the outputs whose
// windows contain it and sums their contributions in increasing output order. That needs no
// atomics, gives the same result on every run, and adds in exactly the order the CPU's scatter
// loops do, so both backends agree bit for bit on the backward passes given the same grad_out.
#include <algorithm>
#include <limits>

#include "backends/cuda/cuda_kernels.cuh"

namespace strata {

namespace {

using cuda::blocks_for;
using cuda::kThreads;

// The outputs [lo, hi) along one axis whose window (start o * stride - pad, `kernel` wide)
// contains input position `at`.
struct Range {
  int64_t lo, hi;
};

__device__ inline Range windows_containing(int64_t at, int64_t kernel, int64_t stride, int64_t pad,
                                           int64_t outs) {
  // o * stride - pad <= at  and  at < o * stride - pad + kernel
  const int64_t first = at + pad - kernel + 1;  // smallest o * stride allowed
  const int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t hi = std::min<int64_t>((at + pad) / stride + 1, outs);  // at + pad >= 0 always
  return {lo, std::max(lo, hi)};
}

// The avg_pool2d divisor of the window starting at (y0, x0), exactly as the CPU computes it. With
// count_include_pad the divisor counts padding cells (but not the window past the padding).
__device__ inline int64_t avg_divisor(const Pool2dParams& p, int64_t y0, int64_t x0) {
  if (p.count_include_pad)
    return (std::min(y0 + p.kernel_h, p.in_h + p.pad_h) - y0) *
           (std::min(x0 + p.kernel_w, p.in_w + p.pad_w) - x0);
  const int64_t rows = std::min(y0 + p.kernel_h, p.in_h) - std::max<int64_t>(y0, 0);
  const int64_t cols = std::min(x0 + p.kernel_w, p.in_w) - std::max<int64_t>(x0, 0);
  // The CPU's forward counts the in-image cells one by one: none when either span is empty.
  return rows > 0 && cols > 0 ? rows * cols : 0;
}

template <class T>
__global__ void max_pool_forward_kernel(Pool2dParams p, const T* x, T* out, int64_t* indices) {
  const int64_t total = p.batch * p.channels * p.out_h * p.out_w;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t xo = t % p.out_w, y = (t / p.out_w) % p.out_h, plane = t / (p.out_w * p.out_h);
    const T* src = x + plane * p.in_h * p.in_w;
    T best = -std::numeric_limits<T>::infinity();
    int64_t best_index = -1;  // stays -1 for a window entirely in the padding
    for (int64_t i = 0; i < p.kernel_h; ++i) {
      const int64_t iy = y * p.stride_h - p.pad_h + i;
      if (iy < 0 || iy >= p.in_h) continue;
      for (int64_t j = 0; j < p.kernel_w; ++j) {
        const int64_t ix = xo * p.stride_w - p.pad_w + j;
        if (ix < 0 || ix >= p.in_w) continue;
        const T v = src[iy * p.in_w + ix];
        // The first maximum wins ties; a NaN always wins. The break leaves only this row (as on
        // the CPU), so a NaN in a later row takes the index over.
        if (best_index < 0 || v > best || v != v) best = v, best_index = iy * p.in_w + ix;
        if (v != v) break;
      }
    }
    out[t] = best;
    indices[t] = best_index;
  }
}

// grad_x[plane, iy, ix] = sum of grad_out over the outputs whose stored index is this pixel. Such an
// output's window contains the pixel, so only those windows are scanned.
template <class T>
__global__ void max_pool_backward_kernel(Pool2dParams p, const T* grad_out, const int64_t* indices,
                                         T* grad_x) {
  const int64_t total = p.batch * p.channels * p.in_h * p.in_w;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t ix = t % p.in_w, iy = (t / p.in_w) % p.in_h, plane = t / (p.in_w * p.in_h);
    const int64_t here = iy * p.in_w + ix;
    const Range ys = windows_containing(iy, p.kernel_h, p.stride_h, p.pad_h, p.out_h);
    const Range xs = windows_containing(ix, p.kernel_w, p.stride_w, p.pad_w, p.out_w);
    const int64_t base = plane * p.out_h * p.out_w;
    T acc = T(0);
    for (int64_t y = ys.lo; y < ys.hi; ++y)
      for (int64_t xo = xs.lo; xo < xs.hi; ++xo) {
        const int64_t at = base + y * p.out_w + xo;
        if (indices[at] == here) acc += grad_out[at];
      }
    grad_x[t] = acc;
  }
}

template <class T>
__global__ void avg_pool_forward_kernel(Pool2dParams p, const T* x, T* out) {
  const int64_t total = p.batch * p.channels * p.out_h * p.out_w;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t xo = t % p.out_w, y = (t / p.out_w) % p.out_h, plane = t / (p.out_w * p.out_h);
    const T* src = x + plane * p.in_h * p.in_w;
    const int64_t y0 = y * p.stride_h - p.pad_h, x0 = xo * p.stride_w - p.pad_w;
    T sum = T(0);
    for (int64_t iy = std::max<int64_t>(y0, 0); iy < std::min(y0 + p.kernel_h, p.in_h); ++iy)
      for (int64_t ix = std::max<int64_t>(x0, 0); ix < std::min(x0 + p.kernel_w, p.in_w); ++ix)
        sum += src[iy * p.in_w + ix];
    const int64_t divisor = avg_divisor(p, y0, x0);
    out[t] = divisor > 0 ? sum / static_cast<T>(divisor) : T(0);
  }
}

// grad_x[plane, iy, ix] = sum over the windows containing the pixel of grad_out / divisor, the
// share computed as on the CPU (one division per window, then added).
template <class T>
__global__ void avg_pool_backward_kernel(Pool2dParams p, const T* grad_out, T* grad_x) {
  const int64_t total = p.batch * p.channels * p.in_h * p.in_w;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t ix = t % p.in_w, iy = (t / p.in_w) % p.in_h, plane = t / (p.in_w * p.in_h);
    const Range ys = windows_containing(iy, p.kernel_h, p.stride_h, p.pad_h, p.out_h);
    const Range xs = windows_containing(ix, p.kernel_w, p.stride_w, p.pad_w, p.out_w);
    const int64_t base = plane * p.out_h * p.out_w;
    T acc = T(0);
    for (int64_t y = ys.lo; y < ys.hi; ++y)
      for (int64_t xo = xs.lo; xo < xs.hi; ++xo) {
        const int64_t divisor = avg_divisor(p, y * p.stride_h - p.pad_h, xo * p.stride_w - p.pad_w);
        if (divisor <= 0) continue;
        acc += grad_out[base + y * p.out_w + xo] / static_cast<T>(divisor);
      }
    grad_x[t] = acc;
  }
}

template <class T>
__global__ void upsample_forward_kernel(int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw, const T* x,
                                        T* out) {
  const int64_t oh = h * sh, ow = w * sw, total = nc * oh * ow;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t xo = t % ow, y = (t / ow) % oh, plane = t / (ow * oh);
    out[t] = x[(plane * h + y / sh) * w + xo / sw];
  }
}

// Each input element sums its sh x sw block, row by row (the CPU's order).
template <class T>
__global__ void upsample_backward_kernel(int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                         const T* grad_out, T* grad_x) {
  const int64_t ow = w * sw, total = nc * h * w;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t ix = t % w, iy = (t / w) % h, plane = t / (w * h);
    const T* block = grad_out + ((plane * h + iy) * sh) * ow + ix * sw;
    T acc = T(0);
    for (int64_t dy = 0; dy < sh; ++dy)
      for (int64_t dx = 0; dx < sw; ++dx) acc += block[dy * ow + dx];
    grad_x[t] = acc;
  }
}

}  // namespace

void CudaBackend::max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out,
                                     int64_t* indices) {
  activate();
  cuda::visit_floating(dtype, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = p.batch * p.channels * p.out_h * p.out_w;
    if (total == 0) return;
    max_pool_forward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(p, static_cast<const T*>(x),
                                                                             static_cast<T*>(out), indices);
    check_launch("max_pool2d");
  });
}

void CudaBackend::max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out,
                                      const int64_t* indices, void* grad_x) {
  activate();
  cuda::visit_floating(dtype, "max_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = p.batch * p.channels * p.in_h * p.in_w;
    if (total == 0) return;
    max_pool_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        p, static_cast<const T*>(grad_out), indices, static_cast<T*>(grad_x));
    check_launch("max_pool2d backward");
  });
}

void CudaBackend::avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out) {
  activate();
  cuda::visit_floating(dtype, "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = p.batch * p.channels * p.out_h * p.out_w;
    if (total == 0) return;
    avg_pool_forward_kernel<T>
        <<<blocks_for(total), kThreads, 0, stream()>>>(p, static_cast<const T*>(x), static_cast<T*>(out));
    check_launch("avg_pool2d");
  });
}

void CudaBackend::avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* grad_out,
                                      void* grad_x) {
  activate();
  cuda::visit_floating(dtype, "avg_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = p.batch * p.channels * p.in_h * p.in_w;
    if (total == 0) return;
    avg_pool_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        p, static_cast<const T*>(grad_out), static_cast<T*>(grad_x));
    check_launch("avg_pool2d backward");
  });
}

void CudaBackend::upsample_nearest2d_forward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh,
                                             int64_t sw, const void* x, void* out) {
  activate();
  cuda::visit_floating(dtype, "upsample_nearest2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = nc * h * sh * w * sw;
    if (total == 0) return;
    upsample_forward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        nc, h, w, sh, sw, static_cast<const T*>(x), static_cast<T*>(out));
    check_launch("upsample_nearest2d");
  });
}

void CudaBackend::upsample_nearest2d_backward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh,
                                              int64_t sw, const void* grad_out, void* grad_x) {
  activate();
  cuda::visit_floating(dtype, "upsample_nearest2d backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t total = nc * h * w;
    if (total == 0) return;
    upsample_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        nc, h, w, sh, sw, static_cast<const T*>(grad_out), static_cast<T*>(grad_x));
    check_launch("upsample_nearest2d backward");
  });
}

}  // namespace strata
