#include "training/intrinsic_dimension_report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "analysis/intrinsic_dimension.h"
#include "analysis/nearest_neighbors.h"
#include "core/error.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/data/fashion_mnist.h"
#include "engine/io/atomic_file.h"
#include "engine/shape.h"
#include "engine/threading.h"
#include "ops/ops.h"
#include "training/curves.h"
#include "training/registry.h"
#include "training/run_config.h"
#include "training/trainer.h"
#include "training/two_step.h"

namespace strata::training {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Points {
  Tensor x;       // [N, F] float32
  Tensor labels;  // int64 [N] or undefined
};

Points load_points(const std::string& data) {
  if (data == "fashion-mnist") {
    const TensorDataset train = load_fashion_mnist("train"), test = load_fashion_mnist("test");
    return {cat({train.inputs(), test.inputs()}, 0), cat({train.labels(), test.labels()}, 0)};
  }
  RunConfig config;
  config.data = data;
  const DataSplits splits = load_data(config);
  const Batch train = splits.train->gather(arange(static_cast<double>(splits.train->size())));
  const Tensor x = cat({reshape(train.inputs, {train.inputs.size(0), -1}),
                        reshape(splits.validation.inputs(), {splits.validation.size(), -1})},
                       0);
  Tensor labels;
  if (train.labels.defined() && splits.validation.labels().defined() && train.labels.dim() == 1)
    labels = cat({train.labels, splits.validation.labels()}, 0);
  return {x, labels};
}

class Analysis {
 public:
  Analysis(const IntrinsicDimensionOptions& o, std::ostream& log) : o_(o), log_(log), t0_(Clock::now()) {}

  // Every requested estimate of the point set x (a subset of the space), appended to rows.
  void estimate(const std::string& space, const std::string& subset, const Tensor& x,
                std::vector<IntrinsicDimensionRow>& rows) {
    const int64_t kmax = std::max<int64_t>(2, *std::max_element(o_.ks.begin(), o_.ks.end()));
    const std::string what = space + " " + (subset == "all" ? "all" : "class " + subset) + " (" +
                             std::to_string(x.size(0)) + " x " + std::to_string(x.size(1)) + ")";
    STRATA_CHECK(kmax < x.size(0), "analyze intrinsic-dim: k = ", kmax, " needs more than k points, but ",
                 what, " has ", x.size(0));
    const auto start = Clock::now();
    auto last = start;
    analysis::NeighborOptions nopt;
    nopt.progress = [&](int64_t done, int64_t total) {
      if (seconds_since(last) < 15 && done < total) return;
      last = Clock::now();
      log_ << "  " << what << ": k-NN " << done << "/" << total << " points, "
           << fixed(seconds_since(start), 0) << " s" << std::endl;
    };
    log_ << what << ": exact " << kmax << "-NN search" << std::endl;
    const analysis::Neighbors nb = analysis::nearest_neighbors(x, kmax, nopt);
    const double knn_s = seconds_since(start);
    auto add = [&](const std::string& method, int64_t k, const analysis::DimensionEstimate& e) {
      rows.push_back({space, method, k, subset, e.points, e.skipped, e.estimate});
    };
    std::ostringstream line;
    line << "  " << what << " (k-NN " << fixed(knn_s, 1) << " s):";
    for (const std::string& m : o_.methods) {
      if (m == "mle") {
        for (int64_t k : o_.ks) add("mle", k, analysis::mle_dimension(nb, k));
        for (int64_t k : o_.ks)  // Pope et al.'s normaliser, for calibration against their figures
          if (k >= 3) add("mle-k2", k, analysis::mle_dimension(nb, k, analysis::MleNormaliser::KMinus2));
      } else if (m == "twonn") {
        add("twonn", 2, analysis::twonn_dimension(nb));
        add("twonn-fit", 2, analysis::twonn_fit_dimension(nb));
      } else if (m == "lpca") {
        const std::vector<analysis::DimensionEstimate> e =
            analysis::local_pca_dimensions(x, nb, o_.ks, o_.variance_fraction);
        for (size_t q = 0; q < o_.ks.size(); ++q) add("lpca", o_.ks[q], e[q]);
      }
    }
    for (const auto& r : rows)
      if (r.space == space && r.subset == subset) {
        line << " " << r.method;
        if (r.method != "twonn" && r.method != "twonn-fit") line << "@" << r.k;
        line << " " << fixed(r.estimate, 2);
      }
    log_ << line.str() << "  [" << fixed(seconds_since(t0_), 0) << " s total]" << std::endl;
  }

  // All points, then each class.
  void estimate_space(const std::string& space, const Tensor& x, const Tensor& labels,
                      std::vector<IntrinsicDimensionRow>& rows) {
    estimate(space, "all", x, rows);
    if (!o_.per_class || !labels.defined()) return;
    const Tensor l = contiguous(labels);
    const int64_t* pl = l.data_ptr<int64_t>();
    std::map<int64_t, std::vector<int64_t>> members;
    for (int64_t i = 0; i < l.numel(); ++i) {
      std::vector<int64_t>& m = members[pl[i]];
      if (o_.per_class_limit == 0 || static_cast<int64_t>(m.size()) < o_.per_class_limit) m.push_back(i);
    }
    for (const auto& [label, index] : members)
      estimate(space, std::to_string(label),
               index_select(x, 0, from_vector(index, {static_cast<int64_t>(index.size())})), rows);
  }

 private:
  const IntrinsicDimensionOptions& o_;
  std::ostream& log_;
  Clock::time_point t0_;
};

void write_csv(const std::string& path, const std::vector<IntrinsicDimensionRow>& rows) {
  std::ostringstream s;
  s << "space,method,k,class,points,skipped,estimate\n";
  char buf[64];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%.6g", r.estimate);
    s << r.space << "," << r.method << "," << r.k << "," << r.subset << "," << r.points << "," << r.skipped
      << "," << buf << "\n";
  }
  io::write_file_atomically(path, s.str());
}

void write_figure(const std::string& path, const std::string& title,
                  const std::vector<IntrinsicDimensionRow>& rows, const std::vector<int64_t>& ks) {
  std::vector<CurveSeries> series;
  std::map<std::string, size_t> at;
  for (const auto& r : rows) {
    if (r.subset != "all") continue;
    const std::string name = r.method + (r.space == "latent" ? " (latent)" : "");
    if (r.method == "twonn" || r.method == "twonn-fit") {  // no k: a level line across the ks
      CurveSeries s{name + ", k-free", {}, {}};
      for (int64_t k : ks) s.x.push_back(static_cast<double>(k)), s.y.push_back(r.estimate);
      series.push_back(s);
      continue;
    }
    if (!at.count(name)) {
      at[name] = series.size();
      series.push_back({name, {}, {}, {}, CurveStyle::Markers});
    }
    series[at[name]].x.push_back(static_cast<double>(r.k));
    series[at[name]].y.push_back(r.estimate);
  }
  write_loss_curves_svg(path, title, series,
                        {.x_label = "k (neighbours)", .y_label = "intrinsic dimension estimate"});
}

}  // namespace

const std::vector<std::string>& intrinsic_dimension_methods() {
  static const std::vector<std::string> methods = {"mle", "twonn", "lpca"};
  return methods;
}

IntrinsicDimensionReport intrinsic_dimension_report(const IntrinsicDimensionOptions& o) {
  std::ostream& log = o.log ? *o.log : std::cout;
  STRATA_CHECK(!o.ks.empty(), "analyze intrinsic-dim: no k given");
  for (int64_t k : o.ks) STRATA_CHECK(k >= 2, "analyze intrinsic-dim: every k must be at least 2, got ", k);
  STRATA_CHECK(!o.methods.empty(), "analyze intrinsic-dim: no method given");
  for (const std::string& m : o.methods) {
    const auto& valid = intrinsic_dimension_methods();
    STRATA_CHECK(std::find(valid.begin(), valid.end(), m) != valid.end(),
                 "analyze intrinsic-dim: unknown method \"", m, "\" (valid: mle, twonn, lpca)");
  }
  STRATA_CHECK(o.limit >= 0 && o.per_class_limit >= 0,
               "analyze intrinsic-dim: --limit and --per-class-limit must be 0 (all) or more, got ", o.limit,
               " and ", o.per_class_limit);
  STRATA_CHECK(o.variance_fraction > 0 && o.variance_fraction <= 1,
               "analyze intrinsic-dim: --variance-fraction must be in (0, 1], got ", o.variance_fraction);
  STRATA_CHECK(!o.out.empty(), "analyze intrinsic-dim: --out is empty");
  if (o.threads > 0) set_num_threads(o.threads);
  NoGradGuard no_grad;
  const auto t0 = Clock::now();

  Points p = load_points(o.data);
  if (o.limit > 0 && o.limit < p.x.size(0)) {
    p.x = narrow(p.x, 0, 0, o.limit);
    if (p.labels.defined()) p.labels = narrow(p.labels, 0, 0, o.limit);
  }
  p.x = contiguous(reshape(p.x, {p.x.size(0), -1}));
  log << "analyze intrinsic-dim: " << o.data << ", " << p.x.size(0) << " points of " << p.x.size(1)
      << " values, threads " << get_num_threads() << std::endl;

  // The autoencoder run is loaded and checked before any of the work.
  std::unique_ptr<LatentCodes> codes;
  if (!o.run.empty()) {
    codes = std::make_unique<LatentCodes>(o.run);
    const std::string& run_data = codes->autoencoder_run().config.data;
    STRATA_CHECK(run_data == o.data, "analyze intrinsic-dim: --run ", o.run, " was trained on ", run_data,
                 ", not on --data ", o.data);
  }
  IntrinsicDimensionReport report;
  Analysis analysis(o, log);
  analysis.estimate_space("data", p.x, p.labels, report.rows);
  if (codes) {
    const auto te = Clock::now();
    const Tensor z = contiguous(codes->encode(p.x));
    log << "encoded " << z.size(0) << " points to " << z.size(1) << "-dimensional codes with " << o.run
        << " in " << fixed(seconds_since(te), 1) << " s" << std::endl;
    analysis.estimate_space("latent", z, p.labels, report.rows);
  }

  const std::filesystem::path out(o.out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  report.csv_path = o.out + ".csv";
  report.figure_path = o.out + ".svg";
  write_csv(report.csv_path, report.rows);
  write_figure(report.figure_path,
               "intrinsic dimension of " + o.data + " (" + std::to_string(p.x.size(0)) + " points)" +
                   (o.run.empty() ? "" : ", and of its codes under " + o.run),
               report.rows, o.ks);
  report.wall_s = seconds_since(t0);
  log << "wrote " << report.csv_path << " and " << report.figure_path << " in " << fixed(report.wall_s, 1)
      << " s" << std::endl;
  return report;
}

}  // namespace strata::training
