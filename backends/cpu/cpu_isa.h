// Which x86 vector instruction set the CPU backend's elementwise, reduction and optimizer kernels
// run with, chosen at run time.
//
// The library is built for baseline x86-64 (SSE2), so that one build runs on any x86-64 machine.
// The kernel files that are bound by arithmetic rather than memory (cpu_elementwise.cpp,
// cpu_reduce.cpp, cpu_optim.cpp) are compiled twice more, for AVX2 and for AVX-512
// (cpu_isa_target.h), and the first kernel call picks the best one the machine supports, as
// PyTorch's DispatchStub does. W3 (SiLU forward and backward over 1024 x 256 activations) ran at
// 116-126 steps/s with the SSE2 kernels and at 167-179 with the AVX2 or AVX-512 ones
// (`STRATA_CPU_ISA=... strata-bench --worker W3`, alternately, 2 cores).
//
// Every variant gives the same bits: the library is built with -ffp-contract=off (no fused
// multiply-add the source did not write), float sums keep their order, and exp/sigmoid are the
// same branch-free arithmetic at every width (tests/test_cpu_isa.cpp checks this kernel by kernel;
// only a NaN's sign bit may differ, as SSE and VEX encodings pass on different operands' NaNs).
//
// STRATA_CPU_ISA=baseline|avx2|avx512 in the environment caps the choice (as ATEN_CPU_CAPABILITY
// does for PyTorch), e.g. to compare speeds or to rule the vector code out when chasing a bug.
#pragma once

#include <cstdint>
#include <string_view>

#include "backends/backend.h"

namespace strata::cpu {

enum class CpuIsa { Baseline = 0, Avx2 = 1, Avx512 = 2 };

const char* cpu_isa_name(CpuIsa isa);
// Parses "baseline", "avx2" or "avx512"; throws naming the text otherwise.
CpuIsa parse_cpu_isa(std::string_view text);

// The best variant both this build and this machine have (Baseline where the variants were not
// built: a compiler other than GCC, or a CPU other than x86-64).
CpuIsa best_cpu_isa();
// The variant the kernels use: best_cpu_isa(), capped by $STRATA_CPU_ISA.
CpuIsa cpu_isa();
// Switches the kernels to `isa` (tests and benchmarks); throws if this machine or build lacks it.
// Not for use while kernels run on other threads.
void set_cpu_isa(CpuIsa isa);

// The kernels compiled once per instruction set; CpuBackend forwards to the active table.
struct CpuKernelTable {
  // cpu_elementwise.cpp
  void (*fill)(const View& out, double value);
  void (*copy)(const View& src, const View& dst);
  void (*unary)(UnaryOp op, const View& in, const View& out, double p0, double p1);
  void (*binary)(BinaryOp op, const View& a, const View& b, const View& out, double p0);
  bool (*unary_with_derivative)(UnaryOp op, const View& in, const View& out, const View& derivative);
  void (*where)(const View& cond, const View& a, const View& b, const View& out);
  // cpu_reduce.cpp
  void (*reduce)(ReduceOp op, const View& in, uint32_t dim_mask, const View& out);
  void (*arg_reduce)(bool is_max, const View& in, int dim, const View& values, const View& indices);
  void (*softmax)(const View& in, const View& out, bool log);
  void (*softmax_backward)(const View& grad_out, const View& y, const View& grad_in, bool log);
  // cpu_optim.cpp
  void (*adam_update)(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                      void* max_exp_avg_sq, const AdamStep& s);
  void (*sgd_update)(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf, double lr,
                     double momentum, double dampening, double weight_decay, bool nesterov, bool first_step);
  void (*rmsprop_update)(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                         void* momentum_buf, double lr, double alpha, double eps, double weight_decay,
                         double momentum);
};

// The table of the active variant.
const CpuKernelTable& cpu_kernels();

// What each compilation of the kernel files defines: it fills its part of its variant's table.
#define STRATA_CPU_ISA_REGISTRARS(ns)                  \
  namespace ns {                                       \
  void add_elementwise_kernels(CpuKernelTable& table); \
  void add_reduce_kernels(CpuKernelTable& table);      \
  void add_optim_kernels(CpuKernelTable& table);       \
  }
STRATA_CPU_ISA_REGISTRARS(baseline)
STRATA_CPU_ISA_REGISTRARS(avx2)
STRATA_CPU_ISA_REGISTRARS(avx512)
#undef STRATA_CPU_ISA_REGISTRARS

}  // namespace strata::cpu
