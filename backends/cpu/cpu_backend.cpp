#include "backends/cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include <tbb/global_control.h>
#include <tbb/info.h>

#include "backends/cpu/buffer_cache.h"
#include "backends/cpu/cpu_isa.h"

namespace strata {

namespace {
std::unique_ptr<tbb::global_control> tbb_limit;
}  // namespace

// OpenBLAS stays single-threaded for the life of the process: every parallel gemm is split over
// TBB's workers instead (backends/cpu/cpu_gemm.cpp says why).
CpuBackend::CpuBackend() : num_threads_(std::max(1, tbb::info::default_concurrency())) {
  openblas_set_num_threads(1);
}

void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  return cpu::BufferCache::allocate(nbytes);
}

void CpuBackend::deallocate(void* ptr, size_t nbytes) { cpu::BufferCache::deallocate(ptr, nbytes); }

void CpuBackend::copy_to_host(const void* src, void* dst, size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}
void CpuBackend::copy_from_host(const void* src, void* dst, size_t nbytes) {
  if (nbytes) std::memcpy(dst, src, nbytes);
}

void CpuBackend::set_num_threads(int n) {
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
  num_threads_ = n;
}

int CpuBackend::num_threads() const { return num_threads_; }

// The kernels compiled once per instruction set go through the active variant's table
// (backends/cpu/cpu_isa.h); their code is in cpu_elementwise.cpp, cpu_reduce.cpp and cpu_optim.cpp.
void CpuBackend::fill(const View& out, double value) { cpu::cpu_kernels().fill(out, value); }
void CpuBackend::copy(const View& src, const View& dst) { cpu::cpu_kernels().copy(src, dst); }
void CpuBackend::unary(UnaryOp op, const View& in, const View& out, double p0, double p1) {
  cpu::cpu_kernels().unary(op, in, out, p0, p1);
}
void CpuBackend::binary(BinaryOp op, const View& a, const View& b, const View& out, double p0) {
  cpu::cpu_kernels().binary(op, a, b, out, p0);
}
bool CpuBackend::unary_with_derivative(UnaryOp op, const View& in, const View& out, const View& derivative) {
  return cpu::cpu_kernels().unary_with_derivative(op, in, out, derivative);
}
void CpuBackend::where(const View& cond, const View& a, const View& b, const View& out) {
  cpu::cpu_kernels().where(cond, a, b, out);
}

void CpuBackend::reduce(ReduceOp op, const View& in, uint32_t dim_mask, const View& out) {
  cpu::cpu_kernels().reduce(op, in, dim_mask, out);
}
void CpuBackend::arg_reduce(bool is_max, const View& in, int dim, const View& values, const View& indices) {
  cpu::cpu_kernels().arg_reduce(is_max, in, dim, values, indices);
}
void CpuBackend::softmax(const View& in, const View& out, bool log) { cpu::cpu_kernels().softmax(in, out, log); }
void CpuBackend::softmax_backward(const View& grad_out, const View& y, const View& grad_in, bool log) {
  cpu::cpu_kernels().softmax_backward(grad_out, y, grad_in, log);
}

void CpuBackend::adam_update(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg,
                             void* exp_avg_sq, void* max_exp_avg_sq, const AdamStep& s) {
  cpu::cpu_kernels().adam_update(dtype, n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, s);
}
void CpuBackend::sgd_update(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf,
                            double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                            bool first_step) {
  cpu::cpu_kernels().sgd_update(dtype, n, param, grad, momentum_buf, lr, momentum, dampening, weight_decay,
                                nesterov, first_step);
}
void CpuBackend::rmsprop_update(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                                void* momentum_buf, double lr, double alpha, double eps, double weight_decay,
                                double momentum) {
  cpu::cpu_kernels().rmsprop_update(dtype, n, param, grad, square_avg, momentum_buf, lr, alpha, eps,
                                    weight_decay, momentum);
}

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace strata
