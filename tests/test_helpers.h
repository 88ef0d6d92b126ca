// Small helpers shared by the tests.
#pragma once

#include <catch2/catch.hpp>

#include <vector>

#include "engine/gradcheck.h"
#include "engine/threading.h"
#include "ops/ops.h"

namespace strata::test {

// A float64 leaf with values drawn from N(0, 1) (seeded), shifted and scaled as asked.
inline Tensor leaf64(const Shape& shape, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  Generator gen(seed);
  Tensor t = add(mul(randn(shape, {DType::Float64}, &gen), scale), shift);
  return t.set_requires_grad(true);
}

inline Tensor tensor64(const std::vector<double>& values, const Shape& shape) {
  return from_vector(values, shape);
}

inline Tensor tensor32(const std::vector<float>& values, const Shape& shape) {
  return from_vector(values, shape);
}

// Element-by-element comparison of a tensor with expected values.
inline void require_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
  const std::vector<double> got = t.to_vector<double>();
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    REQUIRE(got[i] == Approx(expected[i]).margin(tol).epsilon(tol));
  }
}

// Restores the thread count when a test that changes it ends, even on failure.
struct ThreadCountGuard {
  int saved = get_num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

// Runs gradcheck and fails the test with its message when it does not pass.
inline void require_gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opt = {}) {
  const GradcheckResult r = gradcheck(f, inputs, opt);
  INFO(r.message);
  REQUIRE(r.ok);
}

// Requires `fn` to throw strata::Error whose message contains every fragment.
template <class Fn>
void require_error(Fn&& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& f : fragments) {
      INFO("message: " << what << "\nmissing: " << f);
      REQUIRE(what.find(f) != std::string::npos);
    }
    return;
  }
  FAIL("expected a strata::Error containing " << (fragments.empty() ? std::string() : fragments[0]));
}

}  // namespace strata::test
