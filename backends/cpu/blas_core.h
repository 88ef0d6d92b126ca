// Which of OpenBLAS's kernel sets ("cores") a process runs, and running the widest the CPU has.
//
// OpenBLAS picks its kernels once, when the library loads, from the CPUs it knows; only the
// OPENBLAS_CORETYPE variable, read at that moment, overrides the pick. OpenBLAS 0.3.21 (Debian 12)
// does not know that AMD's Zen 4 and Zen 5 have AVX-512 and runs its AVX2 (Haswell) kernels there.
// On a Zen 5 (2 cores) its AVX-512 (SkylakeX) kernels were about twice as fast: a 1024^3
// cblas_sgemm at 221 against 117 GFLOP/s on one thread and 460 against 235 on two, and a W1
// training step at 2.6 against 4.2 ms (same binary, OPENBLAS_CORETYPE set or not, alternately).
// Since the choice cannot be changed after the library has loaded, strata's programs call
// reexec_with_widest_blas_core() first thing in main(): it runs the program again, once, with the
// variable set. A program that embeds strata can set OPENBLAS_CORETYPE=SkylakeX itself.
#pragma once

namespace strata::cpu {

// The kernel set OpenBLAS loaded, as it names it ("Haswell", "SkylakeX", ...).
const char* blas_core_name();

// The OPENBLAS_CORETYPE to run with, or nullptr to keep what loaded: the SkylakeX kernels when
// the CPU has the AVX-512 subsets they use (F, CD, BW, DQ, VL) and OpenBLAS loaded kernels
// without AVX-512. `coretype_variable` is $OPENBLAS_CORETYPE (nullptr when unset): any value,
// the user's or one an earlier exec set, is kept as it is.
const char* wider_blas_core(const char* loaded_core, bool cpu_has_avx512, const char* coretype_variable);

// Whether this CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use.
bool cpu_has_avx512_for_blas();

// When wider_blas_core() names a kernel set for this process, sets OPENBLAS_CORETYPE and runs
// this program again (execv of /proc/self/exe with the same arguments and environment); returns
// without doing anything otherwise, and also if the exec fails (then with a line on stderr).
// Call it before the program starts threads or opens files it would not want to reopen.
void reexec_with_widest_blas_core(char** argv);

}  // namespace strata::cpu
