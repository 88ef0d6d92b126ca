#include "analysis/disentanglement/factor_codes.h"

#include <algorithm>
#include <vector>

#include "analysis/disentanglement/metric_utils.h"
#include "engine/creation.h"
#include "engine/shape.h"

namespace strata::analysis {

CodeSample sample_codes(const FactorDataset& dataset, const Representation& representation, int64_t n,
                        Generator* gen, int64_t batch_size) {
  STRATA_CHECK(n >= 1, "sample_codes: n must be at least 1, got ", n);
  STRATA_CHECK(batch_size >= 1, "sample_codes: batch_size must be at least 1, got ", batch_size);
  STRATA_CHECK(static_cast<bool>(representation), "sample_codes: the representation function is empty");
  const Tensor factors = dataset.sample_factors(n, gen);
  const int64_t k = dataset.num_factors();
  STRATA_CHECK(factors.dim() == 2 && factors.size(0) == n && factors.size(1) == k,
               "sample_codes: ", dataset.name(), ".sample_factors gave ", shape_str(factors.shape()),
               ", expected [", n, ", ", k, "]");
  const std::vector<int64_t> rows = factors.to_vector<int64_t>();
  std::vector<double> codes;
  int64_t num_codes = -1;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t b = std::min(batch_size, n - start);
    const std::vector<int64_t> batch(rows.begin() + start * k, rows.begin() + (start + b) * k);
    const detail::Matrix z =
        detail::encode_rows(dataset, representation, batch, b, "sample_codes", num_codes);
    num_codes = z.cols;
    codes.insert(codes.end(), z.v.begin(), z.v.end());
  }
  return {from_vector(codes, {n, num_codes}), from_vector(rows, {n, k})};
}

}  // namespace strata::analysis
