// The models and datasets the strata command knows by name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "engine/data/factor_dataset.h"
#include "training/run_config.h"
#include "training/trainable.h"

namespace strata::training {

class LatentCodes;  // training/two_step.h

struct NamedEntry {
  std::string name;
  std::string description;
};

std::vector<NamedEntry> models();
std::vector<NamedEntry> datasets();
std::vector<std::string> model_names();
std::vector<std::string> dataset_names();

// A freshly initialised model for inputs of `input_dim` features (initialised from the default generator).
// `num_classes`: the classes of the data's labels (0: unlabelled), which config.conditional needs;
// `image_channels`: C of image data given flat as C x S x S (the conv architecture reads it).
std::unique_ptr<Trainable> make_model(const RunConfig& config, int64_t input_dim, int64_t num_classes = 0,
                                      int64_t image_channels = 1);
// The levels a flow run dequantises its data from (models/flows/dequantization.h): 256 for
// fashion-mnist pixels under dequantize auto or uniform, 0 (none) otherwise.
int64_t flow_dequantize_levels(const RunConfig& config);
struct DataSplits;
// The model for `data`: as above with the data's sizes, and for latent data (--latent-of) wrapped to
// decode what it generates (TwoStepTrainable).
std::unique_ptr<Trainable> make_model(const RunConfig& config, const DataSplits& data);
// Checks the model-specific settings (arch, likelihood, beta, capacity, warm-up, corruption),
// naming the valid choices; validate() calls it.
void validate_model_settings(const RunConfig& config);

struct DataSplits {
  // In memory (TensorDataset) or made on demand (dSprites' FactorImages); the held-out split is
  // always in memory.
  std::shared_ptr<const Dataset> train;
  TensorDataset validation;
  int64_t image_height = 0, image_width = 0;  // for picture grids; 0 when the data are not images
  std::string validation_name = "validation";  // what the held-out split is, for messages
  int64_t num_classes = 0;                     // classes of the labels; 0 when the data have none
  bool points_2d = false;                      // 2-D points (toy data), pictured as scatter plots
  // Data with known generative factors (dsprites, shapes3d): the dataset, for strata eval --metrics.
  std::shared_ptr<const FactorDataset> factors = nullptr;
  int64_t image_channels = 1;  // C of images given flat as C x H x W (3: shapes3d)
  // Latent data (--latent-of): the examples are an autoencoder's codes of its data, whose image
  // geometry the fields above keep (decoded samples are pictured); null for other data.
  std::shared_ptr<const LatentCodes> latent = nullptr;

  int64_t input_dim() const { return validation.inputs().size(1); }
  // The training split as an in-memory dataset; throws, naming `what`, for data made on demand.
  const TensorDataset& train_in_memory(const std::string& what) const;
};
// config.data: "dsprites" or "shapes3d" (rendered on demand: engine/data/), "fashion-mnist"
// (validation = its test split, 10 classes) or "tensors:FILE.safetensors"
// (tensors "train" and optionally "validation", float32 [N, D]; optionally "train_labels" and
// "validation_labels", int64 [N] classes 0..C-1, which make the data labelled), or "toy:NAME", a 2-D
// toy distribution (models/flows/toy_data.h): 20,000 training and 5,000 held-out points drawn with
// fixed seeds, so runs with different --seed see the same data. With config.latent_of, the codes of
// that autoencoder run's own training and held-out splits (its best checkpoint), labels kept, of
// which --limit-train keeps the first N; config.data must name the autoencoder's data.
DataSplits load_data(const RunConfig& config);

}  // namespace strata::training
