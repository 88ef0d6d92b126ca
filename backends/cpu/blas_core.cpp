// OpenBLAS's kernel set, and re-running a program with the widest one (blas_core.h says why).
#include "backends/cpu/blas_core.h"

#include <cblas.h>
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace strata::cpu {

namespace {

// OpenBLAS 0.3.21's kernel sets that use AVX-512 (its dynamic.c names them so).
bool is_avx512_core(const char* name) {
  for (const char* core : {"SkylakeX", "Cooperlake", "SapphireRapids"})
    if (strcasecmp(name, core) == 0) return true;
  return false;
}

}  // namespace

const char* blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

const char* wider_blas_core(const char* loaded_core, bool cpu_has_avx512, const char* coretype_variable) {
  if (coretype_variable != nullptr) return nullptr;
  if (!cpu_has_avx512 || loaded_core == nullptr || is_avx512_core(loaded_core)) return nullptr;
  return "SkylakeX";
}

bool cpu_has_avx512_for_blas() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

void reexec_with_widest_blas_core(char** argv) {
  const char* core = wider_blas_core(blas_core_name(), cpu_has_avx512_for_blas(), std::getenv("OPENBLAS_CORETYPE"));
  if (core == nullptr || argv == nullptr || argv[0] == nullptr) return;
  // Set even if the exec fails, so that child processes do not try again.
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "strata: could not re-run with OPENBLAS_CORETYPE=%s (%s); OpenBLAS keeps its %s kernels\n",
               core, std::strerror(errno), blas_core_name());
}

}  // namespace strata::cpu
