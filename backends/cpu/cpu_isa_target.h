// Compiles the rest of the including kernel file for one instruction set (cpu_isa.h says why).
// Include it LAST, after every other header: `#pragma GCC target` applies to the functions
// defined after it, so the headers' inline functions and templates keep the baseline target in
// every object file. Were the whole file built with -mavx2 instead, an inline function from a
// header could come out with AVX2 code under its usual name, and the linker could keep that copy
// for the baseline callers as well, which would then fault on a machine without AVX2.
//
// STRATA_CPU_ISA_LEVEL (set by CMakeLists.txt for the extra compilations): 0 or unset for the
// baseline, 1 for AVX2 (x86-64-v3), 2 for AVX-512 (x86-64-v4). STRATA_CPU_ISA_NS names the
// variant's namespace; everything with external linkage in a kernel file lives in it.
#pragma once

#if !defined(STRATA_CPU_ISA_LEVEL) || STRATA_CPU_ISA_LEVEL == 0
#define STRATA_CPU_ISA_NS baseline
#elif STRATA_CPU_ISA_LEVEL == 1
#define STRATA_CPU_ISA_NS avx2
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt")
#elif STRATA_CPU_ISA_LEVEL == 2
#define STRATA_CPU_ISA_NS avx512
// 512-bit vectors: GCC otherwise keeps AVX-512 code to 256 bits. With only cpu_elementwise.cpp
// compiled per instruction set, W3 ran at 155-171 steps/s with 512 bits against 139-151 with AVX2;
// with all three files the two are within noise (167-179 against 171-175) on this project's AMD
// EPYC machines, where W3 is then bound by its products.
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,popcnt,avx512f,avx512vl,avx512dq,avx512bw,avx512cd")
#pragma GCC target("prefer-vector-width=512")
#else
#error "STRATA_CPU_ISA_LEVEL must be 0, 1 or 2"
#endif

// Kernel loops are flattened so that every op's lambda and the vector_math.h functions are
// inlined into the loop: under a target pragma GCC declined to inline some of them (SiLU's
// backward stayed a call per element and W3 got slower than SSE2).
#define STRATA_KERNEL_LOOP __attribute__((flatten))
