// `strata analyze intrinsic-dim`: the intrinsic dimension of a dataset, and of an autoencoder run's
// latent codes of it, by the estimators of analysis/intrinsic_dimension.h (MLE with the MacKay &
// Ghahramani average, normaliser k - 1, and as "mle-k2" with Pope et al.'s k - 2; TwoNN in its
// maximum-likelihood and fitted forms; local PCA at a variance fraction) for each k, over all points
// and per class, on exact nearest neighbours (analysis/nearest_neighbors.h: one search per point
// set, with the largest k, serves every k).
//
// Data: fashion-mnist is its training and test images together (70,000 x 784, pixels in [0, 1]);
// any other --data name of the registry is its training split followed by its held-out split.
// --run AE_RUN adds the same estimates on the posterior means (training/two_step.h, LatentCodes) of
// those images under AE_RUN's best checkpoint; AE_RUN must have been trained on the same data.
//
// Writes OUT.csv (space, method, k, class, points, skipped, estimate; class "all" or the label) and
// OUT.svg (estimate against k for each method on all points), and prints progress.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace strata::training {

struct IntrinsicDimensionOptions {
  std::string data = "fashion-mnist";
  std::vector<int64_t> ks = {3, 5, 10, 20};  // each >= 2 and below the points of every set
  std::vector<std::string> methods = {"mle", "twonn", "lpca"};
  std::string run;                               // AE_RUN for latent codes (empty: data only)
  std::string out = "docs/intrinsic-dimension";  // OUT.csv and OUT.svg
  bool per_class = true;                         // also each class of labelled data
  int64_t limit = 0;                             // the first N points only (0: all)
  int64_t per_class_limit = 0;                   // the first N points of each class (0: all)
  double variance_fraction = 0.95;               // local PCA
  int threads = 0;                               // CPU threads (0: leave as is)
  std::ostream* log = nullptr;                   // progress (null: std::cout)
};

struct IntrinsicDimensionRow {
  std::string space;   // "data" or "latent"
  std::string method;  // mle, mle-k2 (Pope et al.'s normaliser k - 2), twonn, twonn-fit, lpca
  int64_t k = 0;       // neighbours used (2 for TwoNN)
  std::string subset;  // "all" or the class label
  int64_t points = 0, skipped = 0;
  double estimate = 0;
};

struct IntrinsicDimensionReport {
  std::vector<IntrinsicDimensionRow> rows;
  std::string csv_path, figure_path;
  double wall_s = 0;
};

// The method names --method accepts.
const std::vector<std::string>& intrinsic_dimension_methods();

IntrinsicDimensionReport intrinsic_dimension_report(const IntrinsicDimensionOptions& options);

}  // namespace strata::training
