// `strata eval --run RUN --sample-quality --classifier CLS_RUN [--n N] [--seed S]`: how close RUN's
// samples are to the held-out images, in the feature space of a classifier this project trained on
// the same data (models/classifier/, `strata train --model classifier`), printed and written to
// RUN/sample_quality.json (atomically).
//
// The features are the classifier's penultimate layer (128 ReLU units), NOT Inception-v3's: the
// Frechet distance here is not FID and does not compare with published FIDs, only with other runs
// measured with the same classifier run (shared/papers/metrics.md, "Sample quality without
// downloaded networks"). Reported: the squared Frechet distance of Gaussians fitted to the two
// feature sets (analysis/sample_quality/frechet_distance.h), improved precision and recall (k = 3)
// and density and coverage (k = 5) (analysis/sample_quality/precision_recall.h), between n samples
// and the first n images of the classifier's held-out split (Fashion-MNIST's test set), and the
// classifier's accuracy on that whole split. The k-NN figures depend on n and the Frechet distance of
// finite sets is biased upwards, so runs compare at equal n; as a scale, "reference" holds the same
// figures with the first n training images in place of the samples (what real images score).
//
// RUN is any run whose samples are images of the classifier's data: the VAE family (samples from
// the prior), fm / lfm runs, and two-step runs (--latent-of, whose samples are decoded). Samples are
// clamped to [0, 1] as the picture grids are; a class-conditional run draws the labels 0, 1, ..., C-1
// in turn (the held-out split's balance). Refused: a CLS_RUN that is not a classifier, a classifier
// of other data or another image size, a RUN without samples (ae, cae, dae, classifiers) or whose
// samples are not images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/sample_quality/frechet_distance.h"
#include "analysis/sample_quality/precision_recall.h"
#include "engine/tensor.h"

namespace strata::models {
class Classifier;
}

namespace strata::training {

// n's default: all of Fashion-MNIST's 10,000 test images against 10,000 samples, about 35 s for a
// conv VAE on 2 busy cores (the k-NN figures on 10,000 x 10,000 distances, three times, dominate).
constexpr int64_t kSampleQualityDefaultN = 10000;

struct SampleQualityOptions {
  std::string classifier_run;          // CLS_RUN (its best checkpoint)
  std::string checkpoint = "best";     // of RUN: best or latest
  int64_t n = kSampleQualityDefaultN;  // samples and held-out images (at most the split's size)
  uint64_t seed = 0;                   // the samples' draws
};

struct SampleQualityReport {
  std::string run;
  nlohmann::ordered_json json;  // what RUN/sample_quality.json holds
};

// The feature-space scores of samples against real images (both given as classifier features):
// the squared Frechet distance, precision and recall (k = 3), density and coverage (k = 5).
struct FeatureScores {
  analysis::FrechetResult frechet;
  analysis::PrecisionRecall precision_recall;
  analysis::DensityCoverage density_coverage;
};
FeatureScores score_features(const Tensor& real, const Tensor& fake);
// The classifier's penultimate-layer features of flat images [N, D], in batches; no gradient.
Tensor classifier_features(models::Classifier& classifier, const Tensor& images);

SampleQualityReport evaluate_sample_quality(const std::string& run_dir, const SampleQualityOptions& options);
// What `strata eval --sample-quality` prints, a line each.
std::vector<std::string> sample_quality_report_lines(const SampleQualityReport& report);

}  // namespace strata::training
