#include "engine/data/dataset.h"

#include "engine/dispatch.h"

namespace strata {

namespace {

Tensor contiguous_data(const Tensor& t) {
  const Tensor d = t.detach();
  if (d.is_contiguous()) return d;
  Tensor out = Tensor::empty(d.shape(), d.dtype(), d.device());
  backend_for(d.device()).copy(d.view(), out.view());
  return out;
}

// Rows of `data` (viewed as [N, inner]) picked by `indices`, through the backend's index_select.
Tensor gather_rows(const Tensor& data, const Tensor& indices) {
  Shape shape = data.shape();
  const int64_t rows = shape[0];
  const int64_t inner = rows == 0 ? 0 : data.numel() / rows;
  shape[0] = indices.numel();
  Tensor out = Tensor::empty(shape, data.dtype(), data.device());
  backend_for(data.device())
      .index_select(data.view(), 1, rows, inner, indices.data_ptr<int64_t>(), indices.numel(), out.view());
  return out;
}

}  // namespace

TensorDataset::TensorDataset(const Tensor& inputs, const Tensor& labels) {
  STRATA_CHECK(inputs.defined(), "TensorDataset: inputs are undefined");
  STRATA_CHECK(inputs.dim() >= 1, "TensorDataset: inputs need a leading example dimension, got shape ",
               shape_str(inputs.shape()));
  if (labels.defined()) {
    STRATA_CHECK(labels.dim() >= 1 && labels.size(0) == inputs.size(0), "TensorDataset: inputs ",
                 shape_str(inputs.shape()), " and labels ", shape_str(labels.shape()),
                 " must have the same number of examples in dim 0");
    common_device("TensorDataset", {&inputs, &labels});
    labels_ = contiguous_data(labels);
  }
  inputs_ = contiguous_data(inputs);
}

Shape TensorDataset::example_shape() const { return Shape(inputs_.shape().begin() + 1, inputs_.shape().end()); }

Batch TensorDataset::gather(const Tensor& indices) const {
  STRATA_CHECK(indices.defined() && indices.dtype() == DType::Int64 && indices.dim() == 1,
               "TensorDataset::gather: indices must be a 1-D int64 tensor",
               indices.defined() ? detail::concat(", got ", dtype_name(indices.dtype()), " with shape ",
                                                  shape_str(indices.shape()))
                                 : std::string());
  common_device("TensorDataset::gather", {&inputs_, &indices});
  const Tensor idx = contiguous_data(indices);
  return {gather_rows(inputs_, idx), labels_.defined() ? gather_rows(labels_, idx) : Tensor()};
}

}  // namespace strata
