#include "models/autoencoders/conditioning.h"

#include "ops/ops.h"

namespace strata::models {

Tensor one_hot_condition(const Tensor& labels, int64_t num_classes, DType dtype, const std::string& model) {
  STRATA_CHECK(labels.defined() && labels.dim() == 1 && labels.dtype() == DType::Int64, model,
               ": class labels must be int64 [N], got ",
               labels.defined() ? std::string(dtype_name(labels.dtype())) + " " + shape_str(labels.shape()) : "an undefined tensor");
  for (int64_t c : contiguous(labels).to_vector<int64_t>())
    STRATA_CHECK(c >= 0 && c < num_classes, model, ": class label ", c, " is outside 0..", num_classes - 1,
                 " (the model is conditioned on ", num_classes, " classes)");
  return one_hot(labels, num_classes, dtype);
}

ArchitectureSpec conditioned_encoder_spec(const ArchitectureSpec& spec, int64_t num_classes) {
  ArchitectureSpec out = spec;
  if (spec.kind != ArchitectureKind::Mlp) out.channels += num_classes;
  return out;
}

int64_t conditioned_input_dim(const ArchitectureSpec& spec, int64_t input_dim, int64_t num_classes,
                              const std::string& model) {
  if (spec.kind == ArchitectureKind::Mlp) return input_dim + num_classes;
  const int64_t side = conv_image_size(spec, input_dim, model);
  return input_dim + num_classes * side * side;
}

Tensor append_condition(const Tensor& x, const Tensor& one_hot, const ArchitectureSpec& spec, int64_t input_dim,
                        const std::string& model) {
  STRATA_CHECK(one_hot.size(0) == x.size(0), model, ": ", one_hot.size(0), " class labels for a batch of ", x.size(0));
  if (spec.kind == ArchitectureKind::Mlp) return cat({x, one_hot}, 1);
  const int64_t side = conv_image_size(spec, input_dim, model), n = x.size(0), classes = one_hot.size(1);
  const Tensor planes = expand(reshape(one_hot, {n, classes, 1, 1}), {n, classes, side, side});
  const Tensor image = reshape(x, {n, spec.channels, side, side});
  return reshape(cat({image, planes}, 1), {n, (spec.channels + classes) * side * side});
}

}  // namespace strata::models
