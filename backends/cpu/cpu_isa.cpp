// Picking the CPU kernels' instruction set at run time (cpu_isa.h).
#include "backends/cpu/cpu_isa.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace strata::cpu {

namespace {

CpuKernelTable make_table(CpuIsa isa) {
  CpuKernelTable table{};
  switch (isa) {
#if defined(STRATA_CPU_ISA_VARIANTS)
    case CpuIsa::Avx512:
      avx512::add_elementwise_kernels(table);
      avx512::add_reduce_kernels(table);
      avx512::add_optim_kernels(table);
      return table;
    case CpuIsa::Avx2:
      avx2::add_elementwise_kernels(table);
      avx2::add_reduce_kernels(table);
      avx2::add_optim_kernels(table);
      return table;
#endif
    default:
      baseline::add_elementwise_kernels(table);
      baseline::add_reduce_kernels(table);
      baseline::add_optim_kernels(table);
      return table;
  }
}

CpuIsa machine_best_isa() {
#if defined(STRATA_CPU_ISA_VARIANTS)
  __builtin_cpu_init();
  // The same feature sets as cpu_isa_target.h's pragmas (x86-64-v4 and x86-64-v3); the OS's
  // saving of the wide registers is part of what __builtin_cpu_supports checks.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi2"))
    return CpuIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
      __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("lzcnt") &&
      __builtin_cpu_supports("movbe") && __builtin_cpu_supports("popcnt"))
    return CpuIsa::Avx2;
#endif
  return CpuIsa::Baseline;
}

struct Selection {
  CpuIsa isa;
  CpuKernelTable table;
};

Selection initial_selection() {
  CpuIsa isa = best_cpu_isa();
  if (const char* env = std::getenv("STRATA_CPU_ISA"); env && *env) {
    const CpuIsa cap = parse_cpu_isa(env);
    if (static_cast<int>(cap) < static_cast<int>(isa)) isa = cap;
  }
  return {isa, make_table(isa)};
}

Selection& selection() {
  static Selection s = initial_selection();
  return s;
}

}  // namespace

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Baseline:
      return "baseline";
    case CpuIsa::Avx2:
      return "avx2";
    case CpuIsa::Avx512:
      return "avx512";
  }
  return "?";
}

CpuIsa parse_cpu_isa(std::string_view text) {
  for (CpuIsa isa : {CpuIsa::Baseline, CpuIsa::Avx2, CpuIsa::Avx512})
    if (text == cpu_isa_name(isa)) return isa;
  throw Error(detail::concat("STRATA_CPU_ISA: unknown instruction set '", std::string(text),
                             "' (expected baseline, avx2 or avx512)"));
}

CpuIsa best_cpu_isa() {
  static const CpuIsa best = machine_best_isa();
  return best;
}

CpuIsa cpu_isa() { return selection().isa; }

void set_cpu_isa(CpuIsa isa) {
  STRATA_CHECK(static_cast<int>(isa) <= static_cast<int>(best_cpu_isa()), "set_cpu_isa: ", cpu_isa_name(isa),
               " is not available here (the best this build and machine support is ",
               cpu_isa_name(best_cpu_isa()), ")");
  selection() = {isa, make_table(isa)};
}

const CpuKernelTable& cpu_kernels() { return selection().table; }

}  // namespace strata::cpu
