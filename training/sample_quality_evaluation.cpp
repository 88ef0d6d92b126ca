#include "training/sample_quality_evaluation.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "analysis/sample_quality/frechet_distance.h"
#include "analysis/sample_quality/precision_recall.h"
#include "engine/io/atomic_file.h"
#include "models/classifier/classifier.h"
#include "ops/ops.h"
#include "training/trainer.h"

namespace strata::training {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kBatch = 500;
constexpr int64_t kPrecisionRecallK = 3;  // Kynkaanniemi et al. 2019
constexpr int64_t kDensityCoverageK = 5;  // Naeem et al. 2020

std::string geometry(const DataSplits& d) {
  if (d.image_height == 0) return detail::concat("not images: vectors of ", d.input_dim(), " values");
  return detail::concat(d.image_channels, " x ", d.image_height, " x ", d.image_width);
}

// Accuracy on the whole held-out split, and the features of its first n images.
std::pair<double, Tensor> held_out_features(models::Classifier& classifier, const TensorDataset& held_out,
                                            int64_t n) {
  NoGradGuard no_grad;
  const Tensor& x = held_out.inputs();
  const Tensor& y = held_out.labels();
  std::vector<Tensor> kept;
  int64_t correct = 0;
  for (int64_t start = 0; start < x.size(0); start += kBatch) {
    const int64_t rows = std::min(kBatch, x.size(0) - start);
    const Tensor f = classifier.features(narrow(x, 0, start, rows));
    const Tensor predicted = argmax(classifier.logits(f), 1);
    correct += static_cast<int64_t>(
        sum(to_dtype(eq(predicted, narrow(y, 0, start, rows)), DType::Float64)).item<double>());
    if (start < n) kept.push_back(narrow(f, 0, 0, std::min(rows, n - start)));
  }
  return {static_cast<double>(correct) / static_cast<double>(x.size(0)), cat(kept, 0)};
}

// n samples of RUN's model as flat images in [0, 1], drawn in batches from one generator; a
// class-conditional model gets the labels 0, 1, ..., C-1 in turn.
Tensor draw_samples(Trainable& model, int64_t n, uint64_t seed) {
  NoGradGuard no_grad;
  Generator gen(seed);
  const int64_t classes = model.num_classes();
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < n; start += kBatch) {
    const int64_t rows = std::min(kBatch, n - start);
    Tensor s;
    if (classes > 0) {
      std::vector<int64_t> labels(static_cast<size_t>(rows));
      for (int64_t i = 0; i < rows; ++i) labels[static_cast<size_t>(i)] = (start + i) % classes;
      s = model.labelled_sample(from_vector(labels, {rows}), &gen);
    } else {
      s = model.sample(rows, &gen);
    }
    parts.push_back(clamp(to_dtype(s, DType::Float32), 0.0, 1.0));
  }
  return cat(parts, 0);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Tensor classifier_features(models::Classifier& classifier, const Tensor& images) {
  NoGradGuard no_grad;
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += kBatch)
    parts.push_back(classifier.features(narrow(images, 0, start, std::min(kBatch, images.size(0) - start))));
  return cat(parts, 0);
}

FeatureScores score_features(const Tensor& real, const Tensor& fake) {
  return {analysis::frechet_distance(real, fake), analysis::precision_recall(real, fake, kPrecisionRecallK),
          analysis::density_coverage(real, fake, kDensityCoverageK)};
}

SampleQualityReport evaluate_sample_quality(const std::string& run_dir, const SampleQualityOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  STRATA_CHECK(!options.classifier_run.empty(),
               "eval --sample-quality: needs --classifier CLS_RUN, a run of ",
               "strata train --model classifier on the same data");
  STRATA_CHECK(options.n > kDensityCoverageK, "eval --sample-quality: n must be more than ",
               kDensityCoverageK, " (the k of density and coverage), got ", options.n);

  LoadedRun cls = load_run(options.classifier_run, "best");
  models::Classifier* classifier = cls.model->classifier();
  STRATA_CHECK(classifier != nullptr, "eval --sample-quality: --classifier ", options.classifier_run,
               " is a ", cls.config.model,
               " run, not a classifier (train one with strata train --model classifier --data ",
               cls.config.data, ")");

  LoadedRun r = load_run(run_dir, options.checkpoint);
  STRATA_CHECK(r.model->classifier() == nullptr && r.model->has_prior(),
               "eval --sample-quality: the model of ", run_dir, " (", r.config.model,
               ") has no samples to measure (no prior to sample from)");
  STRATA_CHECK(!r.data->points_2d && r.data->image_height > 0, "eval --sample-quality: the samples of ",
               run_dir, " are not images (data ", r.config.data,
               "); the classifier's features are of images");
  STRATA_CHECK(r.config.data == cls.config.data && r.data->image_height == cls.data->image_height &&
                   r.data->image_width == cls.data->image_width &&
                   r.data->image_channels == cls.data->image_channels,
               "eval --sample-quality: the classifier ", options.classifier_run, " was trained on ",
               cls.config.data, " (", geometry(*cls.data), "), but ", run_dir, " makes ", r.config.data,
               " images (", geometry(*r.data), "); train a classifier on the run's data");

  const TensorDataset& held_out = cls.data->validation;
  const int64_t n = std::min(options.n, held_out.size());
  const auto [accuracy, real] = held_out_features(*classifier, held_out, n);

  const auto t_sample = std::chrono::steady_clock::now();
  const Tensor samples = draw_samples(*r.model, n, options.seed);
  const double sample_seconds = seconds_since(t_sample);
  STRATA_CHECK(samples.dim() == 2 && samples.size(1) == classifier->input_dim(),
               "eval --sample-quality: the samples of ", run_dir, " are ", shape_str(samples.shape()),
               ", but the classifier takes [N, ", classifier->input_dim(), "]");
  const Tensor fake = classifier_features(*classifier, samples);
  const auto [fd, pr, dc] = score_features(real, fake);
  // The same figures with n training images in place of the samples: what samples as good as real
  // images score at this n (the Frechet distance of finite sets is biased upwards; the k-NN figures
  // depend on n).
  const TensorDataset& train = cls.data->train_in_memory("eval --sample-quality's reference");
  const Tensor reference =
      classifier_features(*classifier, narrow(train.inputs(), 0, 0, std::min(n, train.size())));
  const auto [ref_fd, ref_pr, ref_dc] = score_features(real, reference);

  SampleQualityReport report{run_dir, nlohmann::ordered_json::object()};
  nlohmann::ordered_json& j = report.json;
  j["run"] = run_dir;
  j["checkpoint"] = options.checkpoint;
  j["model"] = r.config.model;
  j["data"] = r.config.data;
  if (!r.config.latent_of.empty()) j["latent_of"] = r.config.latent_of;
  j["n"] = n;
  j["seed"] = options.seed;
  j["classifier_run"] = options.classifier_run;
  j["classifier_test_accuracy"] = accuracy;
  j["classifier_held_out"] =
      detail::concat("all ", held_out.size(), " images of the ", cls.data->validation_name, " split");
  j["features"] = detail::concat(
      "penultimate layer (", classifier->options().features, " ReLU units) of this project's classifier ",
      options.classifier_run, ", trained on ", cls.config.data,
      "; NOT Inception-v3: the Frechet distance is not FID and compares only with runs "
      "measured with the same classifier");
  j["real"] = detail::concat("the first ", n, " images of the ", cls.data->validation_name, " split");
  j["samples"] =
      r.model->num_classes() > 0 ? "clamped to [0, 1]; labels 0..C-1 in turn" : "clamped to [0, 1]";
  j["frechet_distance"] = fd.distance;
  j["frechet_mean_term"] = fd.mean_term;
  j["frechet_trace_term"] = fd.trace_term;
  j["frechet_regularised"] = fd.regularised;
  j["frechet_note"] =
      "squared Frechet distance d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), as FID reports it";
  j["precision"] = pr.precision;
  j["recall"] = pr.recall;
  j["precision_recall_k"] = pr.k;
  j["density"] = dc.density;
  j["coverage"] = dc.coverage;
  j["density_coverage_k"] = dc.k;
  j["reference"] = {
      {"what", detail::concat("the first ", reference.size(0), " training images of ", cls.config.data,
                              " in place of the samples (images the classifier was trained on)")},
      {"frechet_distance", ref_fd.distance},
      {"precision", ref_pr.precision},
      {"recall", ref_pr.recall},
      {"density", ref_dc.density},
      {"coverage", ref_dc.coverage}};
  j["sample_seconds"] = sample_seconds;
  j["seconds"] = seconds_since(t0);

  io::write_file_atomically(fs::path(run_dir) / "sample_quality.json", j.dump(2) + "\n");
  return report;
}

std::vector<std::string> sample_quality_report_lines(const SampleQualityReport& report) {
  const nlohmann::ordered_json& j = report.json;
  auto fixed = [](double v, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, v);
    return std::string(text);
  };
  return {j["model"].get<std::string>() + " on " + j["data"].get<std::string>() + " (" +
              j["checkpoint"].get<std::string>() + " checkpoint), " + std::to_string(j["n"].get<int64_t>()) +
              " samples against " + std::to_string(j["n"].get<int64_t>()) + " held-out images",
          "features: " + j["features"].get<std::string>(),
          "classifier test accuracy " + fixed(j["classifier_test_accuracy"].get<double>(), 4),
          "frechet_distance " + fixed(j["frechet_distance"].get<double>(), 4) +
              (j["frechet_regularised"].get<bool>() ? " (1e-6 added to the covariance diagonals)" : "") +
              " (classifier features, not Inception FID)",
          "precision " + fixed(j["precision"].get<double>(), 4) + " recall " +
              fixed(j["recall"].get<double>(), 4) + " (k = 3)",
          "density " + fixed(j["density"].get<double>(), 4) + " coverage " +
              fixed(j["coverage"].get<double>(), 4) + " (k = 5)",
          "reference, " + j["reference"]["what"].get<std::string>() + ": frechet_distance " +
              fixed(j["reference"]["frechet_distance"].get<double>(), 4) + " precision " +
              fixed(j["reference"]["precision"].get<double>(), 4) + " recall " +
              fixed(j["reference"]["recall"].get<double>(), 4) + " density " +
              fixed(j["reference"]["density"].get<double>(), 4) + " coverage " +
              fixed(j["reference"]["coverage"].get<double>(), 4),
          "took " + fixed(j["seconds"].get<double>(), 1) + " s (sampling " +
              fixed(j["sample_seconds"].get<double>(), 1) + " s); wrote " +
              (fs::path(report.run) / "sample_quality.json").string()};
}

}  // namespace strata::training
