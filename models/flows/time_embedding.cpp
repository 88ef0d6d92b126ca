#include "models/flows/time_embedding.h"

#include <cmath>
#include <vector>

#include "ops/ops.h"

namespace strata::models {

Tensor sinusoidal_time_embedding(const Tensor& t, int64_t features, DType dtype) {
  STRATA_CHECK(features >= 2 && features % 2 == 0,
               "sinusoidal_time_embedding: features must be an even number of at least 2, got ", features);
  STRATA_CHECK(t.defined(), "sinusoidal_time_embedding: t is an undefined tensor");
  const std::vector<double> times = t.to_vector<double>();
  const int64_t n = static_cast<int64_t>(times.size());
  const int64_t half = features / 2;
  std::vector<double> out(static_cast<size_t>(n * features));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < half; ++k) {
      const double angle = 1000.0 * times[i] * std::pow(10000.0, -2.0 * k / features);
      out[i * features + k] = std::sin(angle);
      out[i * features + half + k] = std::cos(angle);
    }
  return to_dtype(from_vector(out, {n, features}, t.device()), dtype);
}

}  // namespace strata::models
