// exp, expm1, tanh and log1p for the elementwise kernels, written so that a loop calling them vectorises: no
// libm call and no branch, only arithmetic, selects and bit casts. With glibc's scalar expf in
// the loop, SiLU's forward and backward were a third of W3's step in perf; the BCE-with-logits
// loss was a tenth of W1's.
//
// float only: double keeps std::exp / std::log1p (gradient checks run in double and want libm's
// correctly rounded results). Accuracy (tests/test_vector_math.cpp, against std:: over the whole
// range): exp_f32 within 2 ulp, denormal results included; softplus_tail_f32 within 4 ulp; sigmoid within
// 3 ulp; tanh_f32 within 2 ulp; expm1_f32 within 2 ulp.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace strata::cpu {

// Forced inline: called out of line (GCC's size heuristics declined to inline exp_f32 into the
// kernels' lambdas), the loops stay scalar and the point of these functions is lost (perf on W3
// showed exp_f32 as a symbol of its own).
#define STRATA_VECTOR_INLINE [[gnu::always_inline]] inline

// The range exp_f32 computes in: below it e^x is 0 in float, above it +inf.
constexpr float kExpLowest = -103.97208f;
constexpr float kExpHighest = 88.72284f;

// e^x for x in [kExpLowest, kExpHighest].
// Cody-Waite range reduction x = n ln2 + r, |r| <= ln2 / 2, with ln2 in two parts so that r is
// exact; e^r by Cephes' degree-6 minimax polynomial; 2^n applied as two factors 2^(n/2) 2^(n - n/2)
// so that results in the denormal range are still right.
STRATA_VECTOR_INLINE float exp_f32_clamped(float clamped) {
  // Round to nearest by adding and subtracting 1.5 * 2^23 (needs no SSE4.1 roundps).
  const float shifter = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + shifter) - shifter;
  const float r = (clamped - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t half = ni >> 1;
  const float scale_a = std::bit_cast<float>((half + 127) << 23);
  const float scale_b = std::bit_cast<float>((ni - half + 127) << 23);
  return er * scale_a * scale_b;
}

// e^x for every float x: +inf above 88.72, 0 below -103.97, NaN for NaN.
STRATA_VECTOR_INLINE float exp_f32(float x) {
  // Clamped so that n fits the exponent field; written as selects (fmin/fmax would be libm calls),
  // with NaN mapped to the lower bound so no NaN reaches the float-to-int conversion.
  const float low = x >= kExpLowest ? x : kExpLowest;
  float result = exp_f32_clamped(low <= kExpHighest ? low : kExpHighest);
  result = x > kExpHighest ? std::numeric_limits<float>::infinity() : result;
  result = x < kExpLowest ? 0.0f : result;
  return x != x ? x : result;
}

// e^a for a <= 0, as exp_f32 gives it, without the upper clamp and the overflow and NaN selects
// (a NaN gives some finite value: the caller selects NaN itself). sigmoid's e^-|x| is one: the
// fused SiLU forward (W3's 8.7%, compute bound) ran 1.34x faster with it than with exp_f32 in a
// harness (2.39 against 1.79 ns an element, AMD EPYC Zen 3, AVX2), with bit-identical results;
// W3 itself moved within its noise (140-164 against 124-162 steps/s, five alternations).
STRATA_VECTOR_INLINE float exp_nonpositive_f32(float a) {
  const float result = exp_f32_clamped(a >= kExpLowest ? a : kExpLowest);
  return a < kExpLowest ? 0.0f : result;
}

// log(1 + e^-a) for a >= 0 (the tail of softplus and of BCE with logits): t = e^-a in (0, 1],
// log1p(t) = 2 atanh(s) with s = t / (2 + t) in (0, 1/3], summed as 2 s (1 + s^2/3 + s^4/5 + ...)
// to s^16 (the next term is below 2^-26 relative).
STRATA_VECTOR_INLINE float softplus_tail_f32(float a) {
  const float t = exp_f32(-a);
  const float s = t / (2.0f + t);
  const float s2 = s * s;
  float q = 1.0f / 17;
  q = q * s2 + 1.0f / 15;
  q = q * s2 + 1.0f / 13;
  q = q * s2 + 1.0f / 11;
  q = q * s2 + 1.0f / 9;
  q = q * s2 + 1.0f / 7;
  q = q * s2 + 1.0f / 5;
  q = q * s2 + 1.0f / 3;
  return 2.0f * s * (q * s2 + 1.0f);
}

// tanh(x) for every float x, odd, so computed on a = |x| with x's sign put back (tanh(-0) = -0).
// Below a = 0.625 the Taylor series to x^19 in Horner form (the next term is below 1e-8 of the
// sum there); from 0.625 on 1 - 2 / (e^2a + 1), which has no cancellation (2 / (e^2a + 1) is at
// most 0.45 of the result's 0.55), and becomes exactly 1 once e^2a overflows. glibc's tanhf goes
// through expm1f, a call per element: 12% of W5's instructions under callgrind.
STRATA_VECTOR_INLINE float tanh_f32(float x) {
  const float a = std::abs(x);
  const float s = a * a;
  // Coefficients of x^3, x^5, ..., x^19 of the series, over x^3: -1/3, 2/15, -17/315, 62/2835, ...
  float q = -443861162.0f / 1856156927625.0f;
  q = q * s + 6404582.0f / 10854718875.0f;
  q = q * s + -929569.0f / 638512875.0f;
  q = q * s + 21844.0f / 6081075.0f;
  q = q * s + -1382.0f / 155925.0f;
  q = q * s + 62.0f / 2835.0f;
  q = q * s + -17.0f / 315.0f;
  q = q * s + 2.0f / 15.0f;
  q = q * s + -1.0f / 3.0f;
  const float series = a + a * s * q;
  const float tail = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
  return std::copysign(a < 0.625f ? series : tail, x);
}

// e^x - 1 for every float x. Below |x| = 0.5 the Taylor series to x^10 in Horner form (the next
// term is below 3e-10 of the sum there), which keeps the digits that e^x - 1 cancels for small x;
// from 0.5 on exp_f32(x) - 1, whose subtraction is exact and which is -1 or +inf at the ends.
// The sign is x's (expm1(-0) = -0). glibc's expm1f was a call per element: 28 us of a W1 step
// for the KL term's 128x32.
STRATA_VECTOR_INLINE float expm1_f32(float x) {
  float q = 1.0f / 39916800;  // 1/11!, so that q x^2 ... is the series' x^2/2! + ... + x^10/10!
  q = q * x + 1.0f / 3628800;
  q = q * x + 1.0f / 362880;
  q = q * x + 1.0f / 40320;
  q = q * x + 1.0f / 5040;
  q = q * x + 1.0f / 720;
  q = q * x + 1.0f / 120;
  q = q * x + 1.0f / 24;
  q = q * x + 1.0f / 6;
  q = q * x + 0.5f;
  const float series = x + x * (x * q);
  const float tail = exp_f32(x) - 1.0f;
  return std::copysign(std::abs(x) < 0.5f ? series : tail, x);
}

// The kernels' entry points: the vectorisable float versions, libm for double.
template <class T>
STRATA_VECTOR_INLINE T fast_exp(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return exp_f32(x);
  } else {
    return std::exp(x);
  }
}

template <class T>
STRATA_VECTOR_INLINE T fast_exp_nonpositive(T a) {
  if constexpr (std::is_same_v<T, float>) {
    return exp_nonpositive_f32(a);
  } else {
    return std::exp(a);
  }
}

template <class T>
STRATA_VECTOR_INLINE T softplus_tail(T a) {
  if constexpr (std::is_same_v<T, float>) {
    return softplus_tail_f32(a);
  } else {
    return std::log1p(std::exp(-a));
  }
}

template <class T>
STRATA_VECTOR_INLINE T fast_tanh(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return tanh_f32(x);
  } else {
    return std::tanh(x);
  }
}

template <class T>
STRATA_VECTOR_INLINE T fast_expm1(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return expm1_f32(x);
  } else {
    return std::expm1(x);
  }
}

// 1 / (1 + e^-x) without overflow and without a branch: e = e^-|x|, then 1 / (1 + e) or
// e / (1 + e) by the sign of x.
template <class T>
STRATA_VECTOR_INLINE T sigmoid(T x) {
  const T e = fast_exp_nonpositive(-std::abs(x));
  const T inv = T(1) / (T(1) + e);
  return x != x ? x : x >= 0 ? inv : e * inv;
}

#undef STRATA_VECTOR_INLINE

}  // namespace strata::cpu
