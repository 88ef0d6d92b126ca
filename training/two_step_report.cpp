#include "training/two_step_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <numbers>
#include <sstream>

#include "analysis/decoder_geometry.h"
#include "analysis/wasserstein.h"
#include "core/error.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/data/fashion_mnist.h"
#include "engine/io/atomic_file.h"
#include "engine/io/image.h"
#include "engine/threading.h"
#include "models/autoencoders/autoencoder.h"
#include "models/classifier/classifier.h"
#include "models/flows/flow_model.h"
#include "models/flows/sample_distances.h"
#include "ops/ops.h"
#include "training/line_plot_png.h"
#include "training/metrics_log.h"
#include "training/sample_quality_evaluation.h"
#include "training/trainer.h"
#include "training/two_step.h"

namespace strata::training {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kPixels = 784;  // Fashion-MNIST: 28 x 28

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A CSV cell: 6 significant digits, empty for NaN.
std::string cell(double v) {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string joined(const std::vector<int64_t>& w) {
  std::string s;
  for (int64_t v : w) s += (s.empty() ? "" : "-") + std::to_string(v);
  return s;
}

int64_t parameter_count(Trainable& model) {
  int64_t n = 0;
  for (const Tensor& p : model.parameters()) n += p.numel();
  return n;
}

// The per-row Euclidean distance between a and b [N, D].
std::vector<double> row_distances(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return to_dtype(sqrt(sum(square(sub(a, b)), 1)), DType::Float64).to_vector<double>();
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return NAN;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// The run settings every stage shares: Fashion-MNIST, the study's seed, subset and threads, and only
// a last-epoch picture grid (sampling a pixel LFM for pictures every epoch would cost minutes).
RunConfig base_config(const TwoStepOptions& o, const std::string& name) {
  RunConfig c;
  c.data = "fashion-mnist";
  c.seed = o.seed;
  c.limit_train = o.limit_train;
  c.threads = o.threads;
  c.pictures_every = 0;
  c.samples = 16;
  c.log_every = 100;
  c.out = (fs::path(o.runs) / name).string();
  return c;
}

RunConfig lfm_config(const TwoStepOptions& o, const std::string& name, const std::vector<int64_t>& hidden) {
  RunConfig c = base_config(o, name);
  c.model = "lfm";
  c.velocity_hidden = hidden;
  c.time_features = o.time_features;
  c.blocks = o.blocks;
  c.step_sizes = o.step_sizes;
  c.block_epochs = o.block_epochs;
  c.epochs = o.blocks * o.block_epochs;
  c.batch_size = o.batch_size;
  c.lr = o.flow_lr;
  c.solver = o.solver;
  c.solver_steps = o.solver_steps;
  return c;
}

// Training wall time from a run's metrics.csv: the total to its last row, and the optimiser steps
// alone. A step row's time is the gap to the row before it; the first step of an epoch also holds
// what happened between epochs (validation, checkpoints, pictures, and for LFM pushing the data
// through the trained blocks), so it is counted at the mean of its epoch's other steps.
std::pair<double, double> stage_times(const MetricsTable& t) {
  const std::vector<double>& wall = t.column("wall_time_s");
  const std::vector<double>& loss = t.column("loss");
  const std::vector<double>& epoch = t.column("epoch");
  double total = 0, steps = 0;
  std::map<int64_t, std::pair<double, int64_t>> inner;  // epoch -> (time, count) of steps after its first
  std::map<int64_t, int64_t> count;
  for (size_t r = 0; r < t.rows(); ++r) {
    total = std::max(total, wall[r]);
    if (std::isnan(loss[r])) continue;  // a validation row
    const auto e = static_cast<int64_t>(epoch[r]);
    ++count[e];
    if (r > 0 && !std::isnan(loss[r - 1])) inner[e].first += wall[r] - wall[r - 1], ++inner[e].second;
  }
  for (const auto& [e, k] : count) {
    const auto [time, counted] = inner[e];
    steps += counted > 0 ? time * static_cast<double>(k) / static_cast<double>(counted) : 0;
  }
  return {total, steps};
}

// Switches a loaded flow run to the likelihoods' solver: RK4 with `steps` per block, finer than the
// sampling solver, since the divergence integral of log p needs more accuracy than a sample does.
void use_likelihood_solver(Trainable& model, int64_t steps) {
  auto* flow = dynamic_cast<models::FlowModel*>(&model.module());
  STRATA_CHECK(flow != nullptr, "analyze two-step: expected a flow model");
  models::FlowSolverOptions solver = flow->solver();
  solver.ode.method = models::OdeMethod::Rk4;
  solver.ode.steps = steps;
  flow->set_solver(solver);
}

// The assessed samples of one model, flat images in [0, 1].
struct Drawn {
  Tensor images;
  double seconds = 0;
  int64_t nfe = 0;
};

class Study {
 public:
  Study(const TwoStepOptions& o, std::ostream& log) : o_(o), log_(log), t0_(Clock::now()) {}

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  std::string stamp() const { return "  [" + fixed(elapsed(), 0) + " s]"; }

  // Trains `c` (or loads it with --reuse) and records its stage row.
  void stage(const std::string& what, const RunConfig& c, TwoStepReport& report) {
    TwoStepStage s;
    s.stage = what;
    s.run = c.out;
    s.epochs = c.epochs;
    s.reused = o_.reuse && finished_run_of(c);
    if (s.reused) {
      log_ << what << ": reusing the finished run " << c.out << stamp() << std::endl;
    } else {
      log_ << what << ": training " << c.out << " (" << c.epochs << " epochs)" << stamp() << std::endl;
      fs::remove_all(c.out);
      train_run(c, {.threads = o_.threads, .log = &log_});
    }
    const MetricsTable t = read_metrics_csv(fs::path(c.out) / "metrics.csv");
    std::tie(s.wall_s, s.step_s) = stage_times(t);
    s.steps = static_cast<int64_t>(t.column("step").back());
    log_ << what << ": " << s.steps << " steps, " << fixed(s.wall_s, 1) << " s (optimiser steps "
         << fixed(s.step_s, 1) << " s)" << stamp() << std::endl;
    report.stages.push_back(s);
  }

  // The parameter count of a stage's model, once the evaluation has loaded it.
  static void set_parameters(TwoStepReport& report, const std::string& stage, Trainable& model) {
    for (TwoStepStage& s : report.stages)
      if (s.stage == stage) s.parameters = parameter_count(model);
  }

  void train(TwoStepReport& report) {
    classifier_run_ = o_.classifier_run;
    for (const auto& [name, c] : two_step_stage_configs(o_)) {
      stage(name, c, report);
      if (name == "classifier") classifier_run_ = c.out;
    }
  }

  void load_references(TwoStepReport& report) {
    if (classifier_run_ != "none") {
      LoadedRun cls = load_run(classifier_run_, "best");
      classifier_ = std::move(cls.model);
      STRATA_CHECK(classifier_->classifier() != nullptr, "analyze two-step: --classifier ", classifier_run_,
                   " is a ", cls.config.model, " run, not a classifier");
      STRATA_CHECK(cls.config.data == "fashion-mnist", "analyze two-step: --classifier ", classifier_run_,
                   " was trained on ", cls.config.data, ", not fashion-mnist");
      set_parameters(report, "classifier", *classifier_);
    }
    const TensorDataset test = load_fashion_mnist("test"), train = load_fashion_mnist("train");
    STRATA_CHECK(o_.n <= test.size(), "analyze two-step: --n ", o_.n, " exceeds the ", test.size(),
                 " test images");
    x_ = contiguous(narrow(test.inputs(), 0, 0, o_.n));
    reference_ = contiguous(narrow(train.inputs(), 0, 0, o_.n));
    if (classifier_) x_features_ = classifier_features(*classifier_->classifier(), x_);
    log_ << "evaluation: the first " << o_.n << " test images X; reference: the first " << o_.n
         << " training images; classifier " << classifier_run_ << stamp() << std::endl;
  }

  // Sample quality of d against X; the feature-space scores are NaN without a classifier.
  TwoStepSamples score(const std::string& model, const Drawn& d) {
    TwoStepSamples s;
    s.model = model;
    s.frechet = s.precision = s.recall = s.density = s.coverage = NAN;
    if (classifier_) {
      const FeatureScores f =
          score_features(x_features_, classifier_features(*classifier_->classifier(), d.images));
      s.frechet = f.frechet.distance;
      s.precision = f.precision_recall.precision, s.recall = f.precision_recall.recall;
      s.density = f.density_coverage.density, s.coverage = f.density_coverage.coverage;
    }
    Generator directions(o_.seed + 500);  // the same projections for every model
    s.sliced_w2 = models::sliced_wasserstein2(x_, d.images, o_.directions, &directions);
    s.w1 = analysis::exact_wasserstein(x_, d.images).distance;
    s.sample_s = d.seconds;
    s.nfe = d.nfe;
    log_ << "  " << model << ": Frechet distance " << fixed(s.frechet, 2) << ", precision "
         << fixed(s.precision, 3) << ", recall " << fixed(s.recall, 3) << ", sliced W2 "
         << fixed(s.sliced_w2, 4) << ", W1 " << fixed(s.w1, 3) << stamp() << std::endl;
    return s;
  }

  // The two-step models: samples, the bound's terms, the Lipschitz search and the densities.
  void evaluate_autoencoder(const std::string& ae_name, TwoStepReport& report,
                            const std::vector<Tensor>& conditions,
                            const std::vector<std::string>& condition_names) {
    log_ << ae_name << " + lfm:" << stamp() << std::endl;
    LoadedRun flow_run = load_run((fs::path(o_.runs) / (ae_name + "-lfm")).string(), "latest");
    auto* two_step = dynamic_cast<TwoStepTrainable*>(flow_run.model.get());
    STRATA_CHECK(two_step != nullptr, "analyze two-step: ", ae_name, "-lfm is not a latent model");
    const LatentCodes& codes = two_step->codes();
    models::Autoencoder& ae = *codes.autoencoder_run().model->autoencoder();
    set_parameters(report, ae_name, *codes.autoencoder_run().model);
    set_parameters(report, ae_name + "-lfm", *flow_run.model);
    const analysis::DecoderFunction g = [&ae](const Tensor& z) { return ae.decode_mean(z); };

    const Tensor z = codes.encode(x_), reconstructions = codes.decode(z);
    const Tensor z_reference = codes.encode(reference_);
    const int64_t d = z.size(1);
    Drawn recon{reconstructions, 0, 0};
    report.samples.push_back(score(ae_name + " reconstructions", recon));

    // Q: the latent LFM, and for a VAE also its own prior N(0, I).
    std::vector<std::pair<std::string, Tensor>> latent_samples;
    std::vector<Drawn> decoded;
    {
      NoGradGuard no_grad;
      Generator gen(o_.seed + 100);
      const auto t = Clock::now();
      Trainable& latent = two_step->latent_model();
      const Tensor zq = contiguous(latent.sample(o_.n, &gen));
      const int64_t nfe = latent.function_evaluations();
      const Tensor images = codes.decode(zq);
      latent_samples.push_back({"lfm", zq});
      decoded.push_back({images, std::chrono::duration<double>(Clock::now() - t).count(), nfe});
      report.samples.push_back(score(ae_name + " + lfm", decoded.back()));
      if (ae.has_prior()) {
        Generator prior(o_.seed + 101);
        const auto tp = Clock::now();
        const Tensor zp = randn({o_.n, d}, {}, &prior);
        const Tensor prior_images = codes.decode(zp);
        latent_samples.push_back({"prior", zp});
        decoded.push_back({prior_images, std::chrono::duration<double>(Clock::now() - tp).count(), 0});
        report.samples.push_back(score(ae_name + " + prior", decoded.back()));
      }
    }
    save_pictures(ae_name, reconstructions, decoded[0].images);

    // Lip(g): spectral norms of J_g at the density conditions' codes, flow samples and points on
    // segments between test codes and flow samples; and secant ratios among test codes and samples.
    const std::vector<double> rec = row_distances(x_, reconstructions);
    std::vector<std::pair<std::string, Tensor>> searched;
    std::vector<Tensor> condition_codes;
    for (size_t c = 0; c < conditions.size(); ++c) {
      condition_codes.push_back(codes.encode(conditions[c]));
      searched.push_back({condition_names[c], condition_codes.back()});
    }
    const int64_t m = std::min(o_.lipschitz_codes, o_.n);
    const Tensor zq = latent_samples[0].second;
    searched.push_back({"lfm sample", narrow(zq, 0, 0, m)});
    if (latent_samples.size() > 1)
      searched.push_back({"prior sample", narrow(latent_samples[1].second, 0, 0, m)});
    {
      Generator gen(o_.seed + 400);
      const Tensor t = rand({m, 1}, {}, &gen);
      const Tensor a = narrow(z, 0, 0, m), b = narrow(zq, 0, 0, m);
      searched.push_back({"segment", add(a, mul(t, sub(b, a)))});
    }
    std::map<std::string, std::vector<analysis::JacobianSpectrum>> spectra;
    int64_t total = 0, done = 0;
    for (const auto& [name, zs] : searched) total += zs.size(0);
    auto last = Clock::now();
    log_ << "  decoder Jacobians at " << total << " codes" << stamp() << std::endl;
    for (const auto& [name, zs] : searched)
      spectra[name] = analysis::decoder_jacobian_spectra(g, zs, [&](int64_t, int64_t) {
        ++done;
        if (std::chrono::duration<double>(Clock::now() - last).count() >= 20 || done == total) {
          last = Clock::now();
          log_ << "    " << done << "/" << total << " Jacobians" << stamp() << std::endl;
        }
      });
    double lip_jacobian = 0;
    for (const auto& [name, list] : spectra)
      for (const auto& s : list) lip_jacobian = std::max(lip_jacobian, s.spectral_norm());
    std::vector<Tensor> pair_parts;  // test codes and every Q's samples
    pair_parts.push_back(narrow(z, 0, 0, m));
    for (const auto& q : latent_samples) pair_parts.push_back(narrow(q.second, 0, 0, m));
    const Tensor pair_codes = cat(pair_parts, 0);
    const double lip_secant = analysis::secant_lipschitz_lower_bound(pair_codes, codes.decode(pair_codes));
    for (const auto& [name, zs] : searched) {
      const std::vector<analysis::JacobianSpectrum>& list = spectra[name];
      for (size_t i = 0; i < list.size(); ++i)
        lipschitz_rows_.push_back({ae_name, name, static_cast<int64_t>(i), list[i].spectral_norm(),
                                   list[i].singular_values.back(), list[i].half_log_det});
      // The mean spectrum of the set: log10 sigma_k per k (a VAE's unused latent directions show
      // as sigma_k near 0, and they dominate 1/2 log det J^T J).
      for (int64_t k = 0; k < d; ++k) {
        std::vector<double> v;
        for (const auto& sp : list) v.push_back(std::log10(sp.singular_values[static_cast<size_t>(k)]));
        spectrum_rows_.push_back({ae_name, name, k + 1, mean_of(v), *std::min_element(v.begin(), v.end()),
                                  *std::max_element(v.begin(), v.end())});
      }
    }

    // The bound's terms, for each Q.
    double code_rms = 0;
    for (double v : to_dtype(z, DType::Float64).to_vector<double>()) code_rms += v * v;
    code_rms = std::sqrt(code_rms / static_cast<double>(z.numel()));
    const double latent_floor = analysis::exact_wasserstein(z, z_reference).distance;
    for (size_t q = 0; q < latent_samples.size(); ++q) {
      TwoStepBound b;
      b.autoencoder = ae_name, b.latent_model = latent_samples[q].first, b.n = o_.n;
      b.reconstruction = mean_of(rec);
      b.latent_w1 = analysis::exact_wasserstein(z, latent_samples[q].second).distance;
      b.lipschitz_jacobian = lip_jacobian, b.lipschitz_secant = lip_secant;
      b.lipschitz = std::max(lip_jacobian, lip_secant);
      b.bound = b.reconstruction + b.lipschitz * b.latent_w1;
      b.decoded_w1 = analysis::exact_wasserstein(reconstructions, decoded[q].images).distance;
      b.left = analysis::exact_wasserstein(x_, decoded[q].images).distance;
      b.pixel_floor = pixel_floor_, b.latent_floor = latent_floor, b.code_rms = code_rms;
      log_ << "  bound (" << ae_name << " + " << b.latent_model << "): W1(X, g#Q) " << fixed(b.left, 3)
           << " <= " << fixed(b.reconstruction, 3) << " + " << fixed(b.decoded_w1, 3)
           << " (decoded latent term) <= " << fixed(b.reconstruction, 3) << " + Lip " << fixed(b.lipschitz, 3)
           << " x W1(f#X, Q) " << fixed(b.latent_w1, 3) << " = " << fixed(b.bound, 3) << stamp() << std::endl;
      report.bounds.push_back(b);
    }

    // Densities on the decoder's manifold.
    use_likelihood_solver(*two_step, o_.likelihood_solver_steps);
    for (size_t c = 0; c < conditions.size(); ++c) {
      Generator gen(o_.seed + 300);
      Tensor latent_lp;
      {
        NoGradGuard no_grad;
        latent_lp = to_dtype(two_step->log_prob(condition_codes[c], &gen), DType::Float64);
      }
      const std::vector<double> lp = latent_lp.to_vector<double>();
      const std::vector<double> dist = row_distances(conditions[c], codes.decode(condition_codes[c]));
      const std::vector<analysis::JacobianSpectrum>& list = spectra[condition_names[c]];
      for (size_t i = 0; i < lp.size(); ++i) {
        TwoStepDensity r;
        r.condition = condition_names[c], r.model = ae_name, r.image = static_cast<int64_t>(i);
        r.log_density = analysis::manifold_log_density(lp[i], list[i]);
        r.bits_per_dim = NAN;
        r.latent_log_density = lp[i], r.half_log_det = list[i].half_log_det;
        r.reconstruction = dist[i], r.spectral_norm = list[i].spectral_norm();
        report.densities.push_back(r);
      }
    }
    log_ << "  densities on the manifold for " << conditions.size() << " conditions" << stamp() << std::endl;
  }

  // A flow on the pixels (run "pixel-lfm" or "pixel-fm"): samples, and log p of the density conditions.
  void evaluate_pixel_flow(const std::string& run, TwoStepReport& report,
                           const std::vector<Tensor>& conditions,
                           const std::vector<std::string>& condition_names) {
    log_ << run << ":" << stamp() << std::endl;
    LoadedRun r = load_run((fs::path(o_.runs) / run).string(), "latest");
    set_parameters(report, run, *r.model);
    const bool global = r.config.model == "fm";  // one unit interval where LFM has `blocks`
    Drawn drawn;
    {
      NoGradGuard no_grad;
      Generator gen(o_.seed + 102);
      const auto t = Clock::now();
      drawn.images = contiguous(clamp(r.model->sample(o_.n, &gen), 0.0, 1.0));
      drawn.nfe = r.model->function_evaluations();
      drawn.seconds = std::chrono::duration<double>(Clock::now() - t).count();
    }
    report.samples.push_back(score(global ? "pixel fm" : "pixel lfm", drawn));
    io::save_image_grid((fs::path(o_.out) / ("samples-" + run + ".png")).string(),
                        reshape(narrow(drawn.images, 0, 0, std::min<int64_t>(32, o_.n)), {-1, 1, 28, 28}), 8);
    const int64_t steps = o_.likelihood_solver_steps * (global ? o_.blocks : 1);
    use_likelihood_solver(*r.model, steps);
    for (size_t c = 0; c < conditions.size(); ++c) {
      Generator gen(o_.seed + 301);
      std::vector<double> lp;
      {
        NoGradGuard no_grad;
        lp = to_dtype(r.model->log_prob(conditions[c], &gen), DType::Float64).to_vector<double>();
      }
      for (size_t i = 0; i < lp.size(); ++i) {
        TwoStepDensity d;
        d.condition = condition_names[c], d.model = run, d.image = static_cast<int64_t>(i);
        d.log_density = lp[i];
        d.bits_per_dim = -lp[i] / (kPixels * std::numbers::ln2);
        d.latent_log_density = d.half_log_det = d.reconstruction = d.spectral_norm = NAN;
        report.densities.push_back(d);
      }
      log_ << "  " << condition_names[c] << ": " << fixed(-mean_of(lp) / (kPixels * std::numbers::ln2), 3)
           << " bits/dim (dequantised, Hutchinson, RK4, " << r.model->function_evaluations()
           << " evaluations)" << stamp() << std::endl;
    }
  }

  // The reference rows: training images in place of samples, and the W1 floor between X and them.
  void evaluate_reference(TwoStepReport& report) {
    log_ << "reference:" << stamp() << std::endl;
    report.samples.push_back(score("training images (reference)", {reference_, 0, 0}));
    pixel_floor_ = report.samples.back().w1;
  }

  // Test images, the same with Gaussian noise of each sigma (clipped to [0, 1]), uniform noise, blank.
  std::pair<std::vector<Tensor>, std::vector<std::string>> density_conditions() const {
    const int64_t m = std::min(o_.density_images, o_.n);
    const Tensor x = narrow(x_, 0, 0, m);
    std::vector<Tensor> images = {x};
    std::vector<std::string> names = {"test"};
    Generator gen(o_.seed + 200);
    const Tensor eps = randn({m, kPixels}, {}, &gen);
    for (double sigma : o_.noise_sigmas) {
      images.push_back(contiguous(clamp(add(x, mul(eps, sigma)), 0.0, 1.0)));
      names.push_back("noise " + cell(sigma));
    }
    images.push_back(rand({m, kPixels}, {}, &gen));
    names.push_back("uniform noise");
    images.push_back(zeros({m, kPixels}));
    names.push_back("blank");
    return {images, names};
  }

  void save_pictures(const std::string& ae_name, const Tensor& reconstructions, const Tensor& samples) const {
    const int64_t k = std::min<int64_t>(8, o_.n), s = std::min<int64_t>(32, o_.n);
    io::save_image_grid(
        (fs::path(o_.out) / ("reconstructions-" + ae_name + ".png")).string(),
        reshape(cat({narrow(x_, 0, 0, k), narrow(reconstructions, 0, 0, k)}, 0), {-1, 1, 28, 28}), k);
    io::save_image_grid((fs::path(o_.out) / ("samples-" + ae_name + "-lfm.png")).string(),
                        reshape(narrow(samples, 0, 0, s), {-1, 1, 28, 28}), 8);
  }

  struct LipschitzRow {
    std::string autoencoder, source;
    int64_t index;
    double spectral_norm, smallest, half_log_det;
  };
  const std::vector<LipschitzRow>& lipschitz_rows() const { return lipschitz_rows_; }
  struct SpectrumRow {
    std::string autoencoder, source;
    int64_t k;
    double mean_log10, min_log10, max_log10;
  };
  const std::vector<SpectrumRow>& spectrum_rows() const { return spectrum_rows_; }
  void save_test_pictures() const {
    io::save_image_grid((fs::path(o_.out) / "samples-test-images.png").string(),
                        reshape(narrow(x_, 0, 0, std::min<int64_t>(32, o_.n)), {-1, 1, 28, 28}), 8);
  }

 private:
  const TwoStepOptions& o_;
  std::ostream& log_;
  Clock::time_point t0_;
  std::string classifier_run_;
  std::unique_ptr<Trainable> classifier_;
  Tensor x_, reference_, x_features_;
  double pixel_floor_ = 0;
  std::vector<LipschitzRow> lipschitz_rows_;
  std::vector<SpectrumRow> spectrum_rows_;
};

void write_outputs(const TwoStepOptions& o, const TwoStepReport& r, const Study& study,
                   const std::vector<std::string>& conditions) {
  const std::vector<Study::LipschitzRow>& lip = study.lipschitz_rows();
  const fs::path dir = o.out;
  std::ostringstream stages, samples, bound, density, summary, lipschitz;
  stages << "stage,run,parameters,epochs,steps,wall_s,optimiser_step_s,reused\n";
  for (const auto& s : r.stages)
    stages << s.stage << "," << s.run << "," << s.parameters << "," << s.epochs << "," << s.steps << ","
           << fixed(s.wall_s, 1) << "," << fixed(s.step_s, 1) << "," << (s.reused ? 1 : 0) << "\n";
  samples << "model,n,frechet_distance,precision,recall,density,coverage,sliced_w2_pixels,w1_pixels,sample_s,"
             "nfe\n";
  for (const auto& s : r.samples)
    samples << s.model << "," << o.n << "," << cell(s.frechet) << "," << cell(s.precision) << ","
            << cell(s.recall) << "," << cell(s.density) << "," << cell(s.coverage) << "," << cell(s.sliced_w2)
            << "," << cell(s.w1) << "," << cell(s.sample_s) << "," << s.nfe << "\n";
  bound
      << "autoencoder,latent_model,n,reconstruction,latent_w1,lipschitz_jacobian,lipschitz_secant,lipschitz,"
         "lipschitz_times_latent_w1,bound,decoded_latent_w1,reconstruction_plus_decoded,left_w1,bound_holds,"
         "pixel_floor_w1,latent_floor_w1,code_rms\n";
  for (const auto& b : r.bounds)
    bound << b.autoencoder << "," << b.latent_model << "," << b.n << "," << cell(b.reconstruction) << ","
          << cell(b.latent_w1) << "," << cell(b.lipschitz_jacobian) << "," << cell(b.lipschitz_secant) << ","
          << cell(b.lipschitz) << "," << cell(b.lipschitz * b.latent_w1) << "," << cell(b.bound) << ","
          << cell(b.decoded_w1) << "," << cell(b.reconstruction + b.decoded_w1) << "," << cell(b.left) << ","
          << (b.left <= b.bound ? 1 : 0) << "," << cell(b.pixel_floor) << "," << cell(b.latent_floor) << ","
          << cell(b.code_rms) << "\n";
  density << "model,condition,image,log_density,bits_per_dim,latent_log_density,half_log_det,reconstruction,"
             "spectral_norm\n";
  for (const auto& d : r.densities)
    density << d.model << "," << d.condition << "," << d.image << "," << cell(d.log_density) << ","
            << cell(d.bits_per_dim) << "," << cell(d.latent_log_density) << "," << cell(d.half_log_det) << ","
            << cell(d.reconstruction) << "," << cell(d.spectral_norm) << "\n";
  summary
      << "model,condition,images,log_density_mean,log_density_sd,bits_per_dim_mean,latent_log_density_mean,"
         "half_log_det_mean,reconstruction_mean\n";
  std::vector<std::string> models = o.autoencoders;
  models.push_back("pixel-lfm");
  if (o.pixel_fm) models.push_back("pixel-fm");
  for (const std::string& m : models)
    for (const std::string& c : conditions) {
      std::vector<double> ld, bpd, lat, hld, rec;
      for (const auto& d : r.densities)
        if (d.model == m && d.condition == c)
          ld.push_back(d.log_density), bpd.push_back(d.bits_per_dim), lat.push_back(d.latent_log_density),
              hld.push_back(d.half_log_det), rec.push_back(d.reconstruction);
      summary << m << "," << c << "," << ld.size() << "," << cell(mean_of(ld)) << "," << cell(sd_of(ld))
              << "," << cell(mean_of(bpd)) << "," << cell(mean_of(lat)) << "," << cell(mean_of(hld)) << ","
              << cell(mean_of(rec)) << "\n";
    }
  lipschitz << "autoencoder,codes,index,spectral_norm,smallest_singular_value,half_log_det\n";
  for (const auto& l : lip)
    lipschitz << l.autoencoder << "," << l.source << "," << l.index << "," << cell(l.spectral_norm) << ","
              << cell(l.smallest) << "," << cell(l.half_log_det) << "\n";
  io::write_file_atomically(dir / "stages.csv", stages.str());
  io::write_file_atomically(dir / "samples.csv", samples.str());
  io::write_file_atomically(dir / "bound.csv", bound.str());
  io::write_file_atomically(dir / "density.csv", density.str());
  io::write_file_atomically(dir / "density_summary.csv", summary.str());
  io::write_file_atomically(dir / "lipschitz.csv", lipschitz.str());
  std::ostringstream spectrum;
  spectrum << "autoencoder,codes,k,mean_log10_singular_value,min_log10,max_log10\n";
  for (const auto& row : study.spectrum_rows())
    spectrum << row.autoencoder << "," << row.source << "," << row.k << "," << cell(row.mean_log10) << ","
             << cell(row.min_log10) << "," << cell(row.max_log10) << "\n";
  io::write_file_atomically(dir / "decoder_spectrum.csv", spectrum.str());
  std::vector<CurveSeries> spectrum_series;
  for (const std::string& ae : o.autoencoders)
    for (const char* source : {"test", "lfm sample", "uniform noise"}) {
      CurveSeries series{ae + ": " + source, {}, {}, {}, CurveStyle::Markers};
      for (const auto& row : study.spectrum_rows())
        if (row.autoencoder == ae && row.source == source)
          series.x.push_back(static_cast<double>(row.k)), series.y.push_back(row.mean_log10);
      if (!series.x.empty()) spectrum_series.push_back(series);
    }
  if (!spectrum_series.empty())
    write_line_plot_png((dir / "decoder_spectrum.png").string(),
                        "singular values of the decoder Jacobian (mean log10)", spectrum_series,
                        {.x_label = "k (sigma_1 >= ... >= sigma_d)", .y_label = "log10 sigma_k"});

  // The bound's terms side by side, per autoencoder and latent model.
  std::vector<BarGroup> groups;
  for (const auto& b : r.bounds)
    groups.push_back({b.autoencoder + " + " + b.latent_model,
                      {b.left, b.reconstruction, b.decoded_w1, b.lipschitz * b.latent_w1, b.pixel_floor}});
  write_bar_chart_png(
      (dir / "bound.png").string(), "W1(X, g#Q) and the terms of its bound, n = " + std::to_string(o.n),
      {"W1(X, g#Q) (left side)", "E|X - g(f(X))|", "W1(g#f#X, g#Q)", "Lip(g) W1(f#X, Q)", "floor W1(X, X')"},
      groups, {.y_label = "pixel-space distance (L2, pixels in [0, 1])"});

  // Training wall time per stage: the autoencoder, the LFM's optimiser steps, the rest of the LFM run.
  std::vector<BarGroup> times;
  auto find = [&](const std::string& name) {
    for (const auto& s : r.stages)
      if (s.stage == name) return s;
    return TwoStepStage{};
  };
  for (const std::string& ae : o.autoencoders) {
    const TwoStepStage a = find(ae), f = find(ae + "-lfm");
    times.push_back({ae + " + lfm", {a.wall_s, f.step_s, f.wall_s - f.step_s}});
  }
  const TwoStepStage p = find("pixel-lfm");
  times.push_back({"pixel lfm", {0, p.step_s, p.wall_s - p.step_s}});
  if (o.pixel_fm) {
    const TwoStepStage f = find("pixel-fm");
    times.push_back({"pixel fm", {0, f.step_s, f.wall_s - f.step_s}});
  }
  write_bar_chart_png(
      (dir / "training_time.png").string(), "training wall time per stage",
      {"autoencoder (whole run)", "flow optimiser steps", "flow: block pushes, validation, checkpoints"},
      times, {.y_label = "seconds"});

  // Spectral norms of J_g, sorted, per autoencoder and code set.
  std::vector<CurveSeries> lip_series;
  for (const std::string& ae : o.autoencoders)
    for (const char* source : {"test", "lfm sample", "prior sample", "segment"}) {
      std::vector<double> v;
      for (const auto& l : lip)
        if (l.autoencoder == ae && l.source == source) v.push_back(l.spectral_norm);
      if (v.empty()) continue;
      std::sort(v.begin(), v.end());
      CurveSeries s{ae + ": " + source, {}, {}};
      for (size_t i = 0; i < v.size(); ++i)
        s.x.push_back((static_cast<double>(i) + 0.5) / static_cast<double>(v.size())), s.y.push_back(v[i]);
      lip_series.push_back(s);
    }
  if (!lip_series.empty())
    write_line_plot_png((dir / "lipschitz.png").string(), "spectral norm of the decoder Jacobian, sorted",
                        lip_series, {.x_label = "quantile of the codes", .y_label = "||J_g(z)||_2"});

  // Per autoencoder: the density on the manifold against the distance to it, and against the pixel
  // LFM's bits/dim of the same images.
  for (const std::string& ae : o.autoencoders) {
    std::vector<CurveSeries> by_distance, by_pixel;
    for (const std::string& c : conditions) {
      CurveSeries s{c, {}, {}, {}, CurveStyle::Points}, t{c, {}, {}, {}, CurveStyle::Points};
      std::map<int64_t, double> pixel_bpd;
      for (const auto& d : r.densities)
        if (d.model == "pixel-lfm" && d.condition == c) pixel_bpd[d.image] = d.bits_per_dim;
      for (const auto& d : r.densities) {
        if (d.model != ae || d.condition != c) continue;
        s.x.push_back(d.reconstruction), s.y.push_back(d.log_density);
        if (pixel_bpd.count(d.image)) t.x.push_back(d.log_density), t.y.push_back(pixel_bpd[d.image]);
      }
      by_distance.push_back(s), by_pixel.push_back(t);
    }
    write_line_plot_png(
        (dir / ("density-" + ae + ".png")).string(),
        ae + " + lfm: density on the decoder's manifold vs distance to it", by_distance,
        {.x_label = "||x - g(f(x))|| (pixels)", .y_label = "log p_Z(f(x)) - 1/2 log det J^T J (nats)"});
    write_line_plot_png((dir / ("density-" + ae + "-vs-pixel.png")).string(),
                        "the same images: pixel LFM bits/dim vs the " + ae + " two-step density", by_pixel,
                        {.x_label = ae + " two-step log density on the manifold (nats)",
                         .y_label = "pixel LFM bits/dim (dequantised bound)"});
  }
}

}  // namespace

bool finished_run_of(const RunConfig& c) {
  const fs::path dir = c.out;
  if (!fs::exists(dir / "config.json") || !fs::exists(dir / "metrics.csv") ||
      !fs::exists(dir / "checkpoints" / "latest.safetensors"))
    return false;
  nlohmann::json have = to_json(load_config((dir / "config.json").string())), want = to_json(c);
  have.erase("threads"), want.erase("threads");
  if (have != want) return false;
  const MetricsTable t = read_metrics_csv(dir / "metrics.csv");
  return t.rows() > 0 && t.column("epoch").back() == static_cast<double>(c.epochs) &&
         std::isnan(t.column("loss").back());
}

std::vector<std::pair<std::string, RunConfig>> two_step_stage_configs(const TwoStepOptions& o) {
  std::vector<std::pair<std::string, RunConfig>> stages;
  if (o.classifier_run.empty()) {
    RunConfig c = base_config(o, "classifier");
    c.model = "classifier";
    c.epochs = o.classifier_epochs;
    c.lr = 3e-3;  // as runs/flows/classifier of docs/flows.md
    stages.push_back({"classifier", c});
  }
  for (const std::string& ae : o.autoencoders) {
    RunConfig a = base_config(o, ae);
    a.model = ae;
    a.arch = "mlp";
    a.hidden = o.ae_hidden;
    a.latent = o.latent;
    a.epochs = o.ae_epochs;
    a.lr = o.ae_lr;
    a.batch_size = o.batch_size;
    stages.push_back({ae, a});
    RunConfig f = lfm_config(o, ae + "-lfm", o.latent_velocity_hidden);
    f.latent_of = a.out;
    stages.push_back({ae + "-lfm", f});
  }
  stages.push_back({"pixel-lfm", lfm_config(o, "pixel-lfm", o.pixel_velocity_hidden)});
  if (o.pixel_fm) {
    // One global flow (one velocity MLP of the pixel blocks' widths) for as many steps as the LFM,
    // integrated with as many evaluations (the LFM's steps per block times its blocks).
    RunConfig c = lfm_config(o, "pixel-fm", o.pixel_velocity_hidden);
    c.model = "fm";
    c.blocks = 0, c.step_sizes = {}, c.block_epochs = 1;
    c.solver_steps = o.solver_steps * o.blocks;
    stages.push_back({"pixel-fm", c});
  }
  return stages;
}

void check_two_step_options(const TwoStepOptions& o) {
  const char* cmd = "analyze two-step";
  STRATA_CHECK(!o.autoencoders.empty(), cmd, ": no --autoencoders given");
  for (const std::string& a : o.autoencoders)
    STRATA_CHECK(a == "vae" || a == "ae", cmd, ": unknown autoencoder \"", a, "\" (valid: vae, ae)");
  STRATA_CHECK(o.limit_train >= 0, cmd, ": --limit-train must be 0 (all) or more, got ", o.limit_train);
  STRATA_CHECK(!o.ae_hidden.empty() && o.latent >= 1 && o.ae_epochs >= 1 && o.ae_lr > 0, cmd,
               ": needs --ae-hidden widths, --latent >= 1, --ae-epochs >= 1 and --ae-lr > 0, got latent ",
               o.latent, ", ", o.ae_epochs, " epochs, lr ", o.ae_lr);
  STRATA_CHECK(o.blocks >= 1 && static_cast<int64_t>(o.step_sizes.size()) == o.blocks - 1, cmd, ": --blocks ",
               o.blocks, " needs ", o.blocks - 1, " --step-sizes, got ", o.step_sizes.size());
  STRATA_CHECK(o.block_epochs >= 1 && o.batch_size >= 1 && o.flow_lr > 0, cmd,
               ": needs --block-epochs >= 1, --batch-size >= 1 and --flow-lr > 0");
  STRATA_CHECK(!o.latent_velocity_hidden.empty() && !o.pixel_velocity_hidden.empty(), cmd,
               ": needs --latent-velocity-hidden and --pixel-velocity-hidden widths");
  STRATA_CHECK(
      o.solver == "euler" || o.solver == "heun" || o.solver == "rk4", cmd,
      ": --solver must be a fixed-step solver (euler, heun, rk4) so both LFMs integrate alike, got \"",
      o.solver, "\"");
  STRATA_CHECK(o.solver_steps >= 1 && o.likelihood_solver_steps >= 1 && o.classifier_epochs >= 1, cmd,
               ": needs --solver-steps, --likelihood-solver-steps and --classifier-epochs >= 1");
  STRATA_CHECK(
      o.n >= 6 && o.density_images >= 1 && o.lipschitz_codes >= 1 && o.directions >= 1, cmd,
      ": needs --n >= 6 (the k-NN scores' k = 5), --density-images, --lipschitz-codes, --directions >= 1, "
      "got ",
      o.n, ", ", o.density_images, ", ", o.lipschitz_codes, ", ", o.directions);
  for (double s : o.noise_sigmas)
    STRATA_CHECK(s > 0 && std::isfinite(s), cmd, ": --noise-sigmas must be > 0, got ", s);
  STRATA_CHECK(!o.runs.empty() && !o.out.empty(), cmd, ": --runs and --out must name folders");
}

TwoStepReport two_step_report(const TwoStepOptions& o) {
  check_two_step_options(o);
  std::ostream& log = o.log ? *o.log : std::cout;
  if (o.threads > 0) set_num_threads(o.threads);
  fs::create_directories(o.out);
  fs::create_directories(o.runs);
  log << "analyze two-step: Fashion-MNIST, " << (o.limit_train > 0 ? std::to_string(o.limit_train) : "60000")
      << " training images; autoencoders " << o.autoencoders.size() << " (MLP " << joined(o.ae_hidden)
      << ", latent " << o.latent << ", " << o.ae_epochs << " epochs); LFM " << o.blocks << " blocks x "
      << o.block_epochs << " epochs (velocity MLPs " << joined(o.latent_velocity_hidden) << " on codes, "
      << joined(o.pixel_velocity_hidden) << " on pixels), " << o.solver << " " << o.solver_steps
      << " steps per block; threads " << get_num_threads() << std::endl;
  TwoStepReport report;
  Study study(o, log);
  study.train(report);
  study.load_references(report);
  study.save_test_pictures();
  study.evaluate_reference(report);
  const auto [conditions, names] = study.density_conditions();
  for (const std::string& ae : o.autoencoders) study.evaluate_autoencoder(ae, report, conditions, names);
  study.evaluate_pixel_flow("pixel-lfm", report, conditions, names);
  if (o.pixel_fm) study.evaluate_pixel_flow("pixel-fm", report, conditions, names);
  write_outputs(o, report, study, names);
  report.wall_s = study.elapsed();
  log << "wrote stages.csv, samples.csv, bound.csv, density.csv, density_summary.csv, lipschitz.csv, "
         "decoder_spectrum.csv and the figures in "
      << o.out << " in " << fixed(report.wall_s, 1) << " s" << std::endl;
  return report;
}

}  // namespace strata::training
