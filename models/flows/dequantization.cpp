#include "models/flows/dequantization.h"

#include <cmath>
#include <vector>

#include "engine/creation.h"
#include "ops/ops.h"

namespace strata::models {

Tensor dequantize_uniform(const Tensor& x, int64_t levels, Generator* gen) {
  STRATA_CHECK(levels >= 2, "dequantize_uniform: needs at least 2 levels, got ", levels);
  STRATA_CHECK(x.defined() && x.numel() > 0, "dequantize_uniform: needs data, got an empty tensor");
  STRATA_CHECK(x.device() == Device::cpu(), "dequantize_uniform: prepares data on the CPU, where the loaders give them");
  // Data preparation on the host, in double: the levels are recovered exactly (k / 255 in float32
  // rounds back to k), and the data carry no gradient.
  const double top = static_cast<double>(levels - 1);
  std::vector<double> y = to_dtype(contiguous(x), DType::Float64).to_vector<double>();
  const std::vector<double> u = rand(x.shape(), {DType::Float64}, gen).to_vector<double>();
  for (size_t i = 0; i < y.size(); ++i) {
    const double k = std::round(y[i] * top);
    STRATA_CHECK(k >= 0 && k <= top, "dequantize_uniform: values must lie in [0, 1] (levels 0..", levels - 1,
                 "), got ", y[i], " at flat index ", i, " of ", shape_str(x.shape()));
    y[i] = (k + u[i]) / static_cast<double>(levels);
  }
  return to_dtype(from_vector(y, x.shape(), x.device()), x.dtype());
}

double dequantization_log_volume(int64_t dim, int64_t levels) {
  return -static_cast<double>(dim) * std::log(static_cast<double>(levels));
}

}  // namespace strata::models
