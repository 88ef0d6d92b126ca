#include "analysis/latent_traversal.h"

#include <cmath>
#include <optional>

#include "ops/ops.h"

namespace strata::analysis {

Tensor traversal_codes(const Tensor& center, const TraversalOptions& options, const std::string& model) {
  STRATA_CHECK(center.defined() && center.dim() == 1 && center.size(0) >= 1, model,
               " traversal: the center must be one code [L], got ",
               center.defined() ? shape_str(center.shape()) : "an undefined tensor");
  const int64_t latent = center.size(0);
  STRATA_CHECK(options.steps >= 2, model, " traversal: needs at least 2 steps per row, got ", options.steps);
  STRATA_CHECK(options.limit > 0 && std::isfinite(options.limit), model, " traversal: the limit must be a positive number, got ",
               options.limit);
  std::vector<int64_t> dims = options.dims;
  if (dims.empty())
    for (int64_t d = 0; d < latent; ++d) dims.push_back(d);
  for (int64_t d : dims)
    STRATA_CHECK(d >= 0 && d < latent, model, " traversal: latent dimension ", d, " does not exist (the code has ", latent,
                 " dimensions, 0..", latent - 1, ")");
  const std::vector<double> base = center.to_vector<double>();
  const int64_t rows = static_cast<int64_t>(dims.size());
  std::vector<double> codes;
  codes.reserve(static_cast<size_t>(rows * options.steps * latent));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < options.steps; ++j) {
      std::vector<double> code = base;
      code[static_cast<size_t>(dims[static_cast<size_t>(i)])] =
          -options.limit + 2.0 * options.limit * static_cast<double>(j) / static_cast<double>(options.steps - 1);
      codes.insert(codes.end(), code.begin(), code.end());
    }
  return to_dtype(from_vector(codes, {rows * options.steps, latent}, center.device()), center.dtype());
}

Tensor latent_traversal(models::Autoencoder& model, const Tensor& center, const TraversalOptions& options) {
  STRATA_CHECK(!center.defined() || center.dim() != 1 || center.size(0) == model.options().latent_dim, model.name(),
               " traversal: the center must be a code of ", model.options().latent_dim, " values, got ",
               shape_str(center.shape()));
  const Tensor codes = traversal_codes(center, options, model.name());
  STRATA_CHECK(!model.conditional() || (options.label >= 0 && options.label < model.options().num_classes), model.name(),
               " traversal: the model is conditioned on ", model.options().num_classes,
               " classes; give the class to decode under (label), got ", options.label);
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::optional<models::GivenLabels> given;
  if (model.conditional()) given.emplace(model, full({codes.size(0)}, static_cast<double>(options.label), {DType::Int64}));
  const Tensor images = model.likelihood().mean(model.decode(codes));
  if (was_training) model.train();
  return images;
}

}  // namespace strata::analysis
