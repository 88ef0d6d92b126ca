#include "training/traversal_grid.h"

#include <filesystem>
#include <optional>

#include "analysis/latent_traversal.h"
#include "engine/io/image.h"
#include "models/autoencoders/autoencoder.h"
#include "ops/ops.h"
#include "training/trainer.h"

namespace strata::training {

namespace fs = std::filesystem;

void write_traversal_grid(Trainable& model, const DataSplits& data, const TraversalRequest& request,
                          const std::string& path) {
  models::Autoencoder* ae = model.autoencoder();
  STRATA_CHECK(ae != nullptr, "traversal: the model has no latent code to traverse");
  STRATA_CHECK(data.image_height > 0, "traversal: the data are not images (a traversal grid shows decoded images)");
  NoGradGuard no_grad;
  // A class-conditional model encodes and decodes under the class of the example the grid is
  // centred on (example 0's when centred at the prior).
  int64_t label = -1;
  if (ae->conditional()) {
    STRATA_CHECK(data.validation.labels().defined(), ae->name(), " traversal: a conditional model needs labelled data");
    const int64_t at = request.prior_center ? 0 : request.example;
    STRATA_CHECK(at >= 0 && at < data.validation.size(), ae->name(), " traversal: example ", at, " is not in the ",
                 data.validation_name, " split (", data.validation.size(), " examples)");
    label = narrow(data.validation.labels(), 0, at, 1).item<int64_t>();
  }
  Tensor center;
  if (request.prior_center) {
    STRATA_CHECK(ae->has_prior(), ae->name(), " traversal: the model has no prior to center at; center at an example");
    center = zeros({ae->options().latent_dim}, {DType::Float32, ae->device()});
  } else {
    const int64_t n = data.validation.size();
    STRATA_CHECK(request.example >= 0 && request.example < n, ae->name(), " traversal: example ", request.example,
                 " is not in the ", data.validation_name, " split (", n, " examples)");
    const bool was_training = ae->is_training();
    ae->eval();
    std::optional<models::GivenLabels> given;
    const Device device = ae->device();
    if (ae->conditional()) given.emplace(*ae, to_device(narrow(data.validation.labels(), 0, request.example, 1), device));
    center = reshape(ae->encode(to_device(narrow(data.validation.inputs(), 0, request.example, 1), device)).code,
                     {ae->options().latent_dim});
    if (was_training) ae->train();
  }
  const analysis::TraversalOptions options{.dims = request.dims, .steps = request.steps, .limit = 3.0, .label = label};
  const Tensor images = analysis::latent_traversal(*ae, center, options);
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  io::save_image_grid(path, reshape(images, {images.size(0), data.image_channels, data.image_height, data.image_width}), request.steps);
}

std::string traversal_run_to_png(const std::string& run_dir, const TraversalRequest& request, const std::string& out) {
  LoadedRun r = load_run(run_dir, "best");
  const std::string path = out.empty() ? (fs::path(run_dir) / "traversals" / "traversal.png").string() : out;
  write_traversal_grid(*r.model, *r.data, request, path);
  return path;
}

}  // namespace strata::training
