#include "engine/data/factor_dataset.h"

#include "core/error.h"
#include "engine/creation.h"
#include "engine/shape.h"

namespace strata {

int64_t FactorDataset::size() const {
  int64_t n = 1;
  for (int64_t s : factor_sizes()) n *= s;
  return n;
}

std::vector<int64_t> FactorDataset::factors_of(int64_t index) const {
  STRATA_CHECK(index >= 0 && index < size(), name(), ": example ", index, " is out of range for ", size(),
               " examples");
  const std::vector<int64_t> sizes = factor_sizes();
  std::vector<int64_t> classes(sizes.size());
  for (size_t k = sizes.size(); k-- > 0;) {
    classes[k] = index % sizes[k];
    index /= sizes[k];
  }
  return classes;
}

int64_t FactorDataset::index_of(const std::vector<int64_t>& factor_classes) const {
  const std::vector<int64_t> sizes = factor_sizes();
  const std::vector<std::string> names = factor_names();
  STRATA_CHECK(factor_classes.size() == sizes.size(), name(), ": ", factor_classes.size(),
               " factor classes given, the dataset has ", sizes.size(), " factors");
  int64_t index = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    STRATA_CHECK(factor_classes[k] >= 0 && factor_classes[k] < sizes[k], name(), ": factor ", names[k],
                 " has ", sizes[k], " values (0..", sizes[k] - 1, "), got ", factor_classes[k]);
    index = index * sizes[k] + factor_classes[k];
  }
  return index;
}

Tensor FactorDataset::factors_of(const Tensor& indices) const {
  STRATA_CHECK(indices.dim() == 1 && indices.dtype() == DType::Int64, name(),
               ": indices must be int64 [N], got ", dtype_name(indices.dtype()), " ",
               shape_str(indices.shape()));
  const std::vector<int64_t> idx = indices.to_vector<int64_t>();
  const int64_t k = num_factors();
  std::vector<int64_t> out;
  out.reserve(idx.size() * k);
  for (int64_t i : idx)
    for (int64_t c : factors_of(i)) out.push_back(c);
  return from_vector(out, {static_cast<int64_t>(idx.size()), k});
}

Tensor FactorDataset::indices_of(const Tensor& factor_classes) const {
  const int64_t k = num_factors();
  STRATA_CHECK(
      factor_classes.dim() == 2 && factor_classes.size(1) == k && factor_classes.dtype() == DType::Int64,
      name(), ": factor classes must be int64 [N, ", k, "], got ", dtype_name(factor_classes.dtype()), " ",
      shape_str(factor_classes.shape()));
  const std::vector<int64_t> all = factor_classes.to_vector<int64_t>();
  const int64_t n = factor_classes.size(0);
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = index_of(std::vector<int64_t>(all.begin() + i * k, all.begin() + (i + 1) * k));
  return from_vector(out, {n});
}

Tensor FactorDataset::sample_factors(int64_t n, Generator* gen) const {
  STRATA_CHECK(n >= 0, name(), ": cannot sample ", n, " factor rows");
  const std::vector<int64_t> sizes = factor_sizes();
  const int64_t k = num_factors();
  // One uniform integer column per factor, drawn in factor order from the same generator.
  std::vector<std::vector<int64_t>> columns;
  for (int64_t s : sizes) columns.push_back(randint(0, s, {n}, {DType::Int64}, gen).to_vector<int64_t>());
  std::vector<int64_t> out(n * k);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) out[i * k + j] = columns[j][i];
  return from_vector(out, {n, k});
}

Tensor FactorDataset::render_indices(const Tensor& indices) const { return render(factors_of(indices)); }

FactorImages::FactorImages(std::shared_ptr<const FactorDataset> source, const Tensor& subset)
    : source_(std::move(source)) {
  STRATA_CHECK(source_ != nullptr, "FactorImages: the factor dataset is null");
  if (!subset.defined()) return;
  STRATA_CHECK(subset.dim() == 1 && subset.dtype() == DType::Int64, source_->name(),
               ": a subset must be int64 [M] example indices, got ", dtype_name(subset.dtype()), " ",
               shape_str(subset.shape()));
  subset_ = subset.to_vector<int64_t>();
  for (int64_t i : subset_)
    STRATA_CHECK(i >= 0 && i < source_->size(), source_->name(), ": subset index ", i,
                 " is out of range for ", source_->size(), " examples");
}

int64_t FactorImages::size() const {
  return subset_.empty() ? source_->size() : static_cast<int64_t>(subset_.size());
}

Batch FactorImages::gather(const Tensor& indices) const {
  STRATA_CHECK(indices.defined() && indices.dtype() == DType::Int64 && indices.dim() == 1, source_->name(),
               ": gather needs 1-D int64 indices");
  std::vector<int64_t> examples = indices.to_vector<int64_t>();
  for (int64_t& i : examples) {
    STRATA_CHECK(i >= 0 && i < size(), source_->name(), ": example ", i, " is out of range for ", size(),
                 " examples");
    if (!subset_.empty()) i = subset_[i];
  }
  return {source_->render_indices(from_vector(examples, {static_cast<int64_t>(examples.size())})), Tensor()};
}

}  // namespace strata
