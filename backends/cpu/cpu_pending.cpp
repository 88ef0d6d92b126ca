// TEMPORARY: kernels still being written (conv, pooling, optimizers). Each throws until its
// cpu_*.cpp lands; this file must be empty of definitions (and deleted) before the engine-core issue closes.
#include "backends/cpu/cpu_backend.h"
#include "core/error.h"

namespace strata {

#define STRATA_PENDING(name) throw Error(name ": not implemented yet on the CPU backend")

void CpuBackend::conv2d_forward(DType, const Conv2dParams&, const void*, const void*, const void*, void*) {
  STRATA_PENDING("conv2d");
}
void CpuBackend::conv2d_backward_input(DType, const Conv2dParams&, const void*, const void*, void*) {
  STRATA_PENDING("conv2d backward");
}
void CpuBackend::conv2d_backward_weight(DType, const Conv2dParams&, const void*, const void*, void*, void*) {
  STRATA_PENDING("conv2d backward");
}
void CpuBackend::max_pool2d_forward(DType, const Pool2dParams&, const void*, void*, int64_t*) {
  STRATA_PENDING("max_pool2d");
}
void CpuBackend::max_pool2d_backward(DType, const Pool2dParams&, const void*, const int64_t*, void*) {
  STRATA_PENDING("max_pool2d");
}
void CpuBackend::avg_pool2d_forward(DType, const Pool2dParams&, const void*, void*) { STRATA_PENDING("avg_pool2d"); }
void CpuBackend::avg_pool2d_backward(DType, const Pool2dParams&, const void*, void*) { STRATA_PENDING("avg_pool2d"); }
void CpuBackend::upsample_nearest2d_forward(DType, int64_t, int64_t, int64_t, int64_t, int64_t, const void*, void*) {
  STRATA_PENDING("upsample_nearest2d");
}
void CpuBackend::upsample_nearest2d_backward(DType, int64_t, int64_t, int64_t, int64_t, int64_t, const void*, void*) {
  STRATA_PENDING("upsample_nearest2d");
}

}  // namespace strata
