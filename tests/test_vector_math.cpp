// The vectorisable float exp, expm1, softplus tail, sigmoid and tanh of backends/cpu/vector_math.h against
// libm evaluated in double and rounded once: accuracy in ulp over their whole ranges (every 257th
// float bit pattern, about 9 million values per function) and the special values.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

#include "backends/cpu/vector_math.h"

using strata::cpu::exp_f32;
using strata::cpu::exp_nonpositive_f32;
using strata::cpu::expm1_f32;
using strata::cpu::sigmoid;
using strata::cpu::softplus_tail_f32;
using strata::cpu::tanh_f32;

namespace {

// Distance in units in the last place between two non-negative finite floats (denormals included):
// their bit patterns are ordered like their values.
int64_t ulp_distance(float a, float b) {
  return std::abs(static_cast<int64_t>(std::bit_cast<uint32_t>(a)) - static_cast<int64_t>(std::bit_cast<uint32_t>(b)));
}

// Calls check(x) for every 257th float from lo up to hi (lo < hi, both finite).
template <class Check>
void sweep(float lo, float hi, Check&& check) {
  for (float x = lo; x <= hi;) {
    check(x);
    // Walk the bit pattern: upwards in magnitude for positive x, downwards for negative x.
    const uint32_t bits = std::bit_cast<uint32_t>(x);
    if (x < 0) {
      x = bits > 0x80000000u + 257 ? std::bit_cast<float>(bits - 257) : 0.0f;
    } else {
      x = std::bit_cast<float>(bits + 257);
    }
  }
}

struct WorstUlp {
  int64_t ulp = 0;
  float at = 0;
};

// The largest ulp distance between f(x) and reference(x) (double, rounded once to float) over the
// sweep from lo to hi, and where it occurs.
template <class F, class Reference>
WorstUlp worst_ulp(float lo, float hi, F&& f, Reference&& reference) {
  WorstUlp worst;
  sweep(lo, hi, [&](float x) {
    const int64_t d = ulp_distance(f(x), static_cast<float>(reference(static_cast<double>(x))));
    if (d > worst.ulp) worst = {d, x};
  });
  return worst;
}

}  // namespace

TEST_CASE("exp_f32 is within 2 ulp of libm over the whole float range", "[vector_math]") {
  const WorstUlp worst = worst_ulp(-103.9f, 88.72f, exp_f32, [](double x) { return std::exp(x); });
  INFO("worst at x = " << worst.at);
  CHECK(worst.ulp <= 2);
}

TEST_CASE("exp_nonpositive_f32 is exp_f32 bit for bit on every non-positive float swept", "[vector_math]") {
  // Past -103.97 both give 0; from -max to -0, every 257th bit pattern, and -infinity.
  int64_t differing = 0;
  float first = 0;
  sweep(-std::numeric_limits<float>::max(), -0.0f, [&](float x) {
    if (std::bit_cast<uint32_t>(exp_nonpositive_f32(x)) != std::bit_cast<uint32_t>(exp_f32(x)) && differing++ == 0)
      first = x;
  });
  INFO("first difference at x = " << first);
  CHECK(differing == 0);
  CHECK(exp_nonpositive_f32(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(exp_nonpositive_f32(0.0f) == 1.0f);
}

TEST_CASE("exp_f32 special values: 0, overflow, underflow, infinities, NaN", "[vector_math]") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(exp_f32(0.0f) == 1.0f);
  CHECK(exp_f32(89.0f) == inf);
  CHECK(exp_f32(1000.0f) == inf);
  CHECK(exp_f32(inf) == inf);
  CHECK(exp_f32(-104.0f) == 0.0f);
  CHECK(exp_f32(-inf) == 0.0f);
  CHECK(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
  // The smallest results are denormal: still within 1 ulp of the correctly rounded value.
  CHECK(ulp_distance(exp_f32(-100.0f), static_cast<float>(std::exp(-100.0))) <= 1);
  CHECK(exp_f32(-100.0f) > 0.0f);
}

TEST_CASE("softplus_tail_f32(a) = log(1 + e^-a) within 4 ulp for a >= 0", "[vector_math]") {
  const WorstUlp worst =
      worst_ulp(0.0f, 103.0f, softplus_tail_f32, [](double a) { return std::log1p(std::exp(-a)); });
  INFO("worst at a = " << worst.at);
  // e^-a's own error (up to 2 ulp) passes into log1p almost undiminished near a = 2, plus the
  // division and the series: measured worst 4 ulp (2.4e-7 relative).
  CHECK(worst.ulp <= 4);
  CHECK(softplus_tail_f32(0.0f) == static_cast<float>(std::log(2.0)));
  CHECK(softplus_tail_f32(std::numeric_limits<float>::infinity()) == 0.0f);
}

TEST_CASE("sigmoid<float> is within 3 ulp of 1 / (1 + e^-x) on both sides and saturates cleanly", "[vector_math]") {
  const WorstUlp worst =
      worst_ulp(-103.0f, 60.0f, sigmoid<float>, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  INFO("worst at x = " << worst.at);
  CHECK(worst.ulp <= 3);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(sigmoid(inf) == 1.0f);
  CHECK(sigmoid(-inf) == 0.0f);
  CHECK(sigmoid(0.0f) == 0.5f);
  CHECK(std::isnan(sigmoid(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("tanh_f32 is within 2 ulp of libm over the whole float range, odd, with exact saturation", "[vector_math]") {
  // Both sides (the sweep walks negative floats by magnitude too), through the switch from the
  // series to 1 - 2 / (e^2a + 1) at 0.625 and on into saturation.
  const WorstUlp worst = worst_ulp(-20.0f, 20.0f, tanh_f32, [](double x) { return std::tanh(x); });
  INFO("worst " << worst.ulp << " ulp at x = " << worst.at);
  CHECK(worst.ulp <= 2);
  const WorstUlp tiny = worst_ulp(0.0f, 1e-3f, tanh_f32, [](double x) { return std::tanh(x); });
  CHECK(tiny.ulp <= 1);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(tanh_f32(inf) == 1.0f);
  CHECK(tanh_f32(-inf) == -1.0f);
  CHECK(tanh_f32(50.0f) == 1.0f);
  CHECK(tanh_f32(-1e30f) == -1.0f);
  CHECK(std::bit_cast<uint32_t>(tanh_f32(-0.0f)) == std::bit_cast<uint32_t>(-0.0f));
  CHECK(tanh_f32(0.0f) == 0.0f);
  CHECK(std::isnan(tanh_f32(std::numeric_limits<float>::quiet_NaN())));
  // Denormal inputs: tanh(x) = x.
  CHECK(tanh_f32(1e-40f) == 1e-40f);
}

TEST_CASE("expm1_f32 is within 2 ulp of libm over its whole range, keeps -0 and saturates", "[vector_math]") {
  // Through the switch from the series to e^x - 1 at |x| = 0.5, on both sides, up to overflow.
  const auto reference = [](double x) { return std::expm1(x); };
  const WorstUlp worst = worst_ulp(-110.0f, 88.0f, expm1_f32, reference);
  INFO("worst " << worst.ulp << " ulp at x = " << worst.at);
  CHECK(worst.ulp <= 2);
  const WorstUlp small = worst_ulp(-0.5f, 0.5f, expm1_f32, reference);  // where e^x - 1 would cancel
  INFO("worst below 0.5: " << small.ulp << " ulp at x = " << small.at);
  CHECK(small.ulp <= 1);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(expm1_f32(inf) == inf);
  CHECK(expm1_f32(89.0f) == inf);
  CHECK(expm1_f32(-inf) == -1.0f);
  CHECK(expm1_f32(-120.0f) == -1.0f);
  CHECK(std::bit_cast<uint32_t>(expm1_f32(-0.0f)) == std::bit_cast<uint32_t>(-0.0f));
  CHECK(expm1_f32(0.0f) == 0.0f);
  CHECK(expm1_f32(1e-40f) == 1e-40f);  // denormal: expm1(x) = x
  CHECK(std::isnan(expm1_f32(std::numeric_limits<float>::quiet_NaN())));
}
