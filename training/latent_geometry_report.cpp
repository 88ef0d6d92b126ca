#include "training/latent_geometry_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numbers>
#include <sstream>

#include "analysis/latent_geometry.h"
#include "core/error.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/data/fashion_mnist.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "engine/shape.h"
#include "engine/threading.h"
#include "models/autoencoders/spatial_autoencoder.h"
#include "ops/ops.h"
#include "training/latent_geometry_figures.h"

namespace strata::training {

namespace {

using Clock = std::chrono::steady_clock;
using analysis::PsdFactor;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

const char* colour_of(const std::string& model) {
  if (model == "cae") return "#1f77b4";
  if (model == "dae") return "#ff7f0e";
  return "#2ca02c";
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& v) {
  MeanSd m;
  if (v.empty()) return m;
  for (double x : v) m.mean += x / static_cast<double>(v.size());
  for (double x : v) m.sd += (x - m.mean) * (x - m.mean) / static_cast<double>(v.size());
  m.sd = std::sqrt(m.sd);
  if (std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); })) m = {v.front(), 0.0};  // exactly
  return m;
}

double median(std::vector<double> v) {
  STRATA_CHECK(!v.empty(), "analyze latent-geometry: median of no values");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

models::SpatialAutoencoderOptions model_options(const LatentGeometryOptions& o, const std::string& name) {
  models::SpatialAutoencoderOptions m;
  m.objective = models::parse_spatial_objective(name);
  m.latent_channels = o.latent_channels;
  m.code_relu = o.code_relu;
  m.noise_sigma = o.dae_sigma;
  return m;
}

// What the saved weights were trained with; --reuse loads only weights of the same settings.
io::Metadata training_metadata(const LatentGeometryOptions& o, const std::string& name) {
  return {{"model", name},
          {"latent_channels", std::to_string(o.latent_channels)},
          {"code_relu", o.code_relu ? "1" : "0"},
          {"dae_sigma", num(o.dae_sigma)},
          {"epochs", std::to_string(o.epochs)},
          {"limit_train", std::to_string(o.limit_train)},
          {"batch_size", std::to_string(o.batch_size)},
          {"lr", num(o.lr)},
          {"seed", std::to_string(o.seed)}};
}

// Mean over the held-out images of -log p(x | g(f(x))), nats per image.
double test_reconstruction(models::SpatialAutoencoder& m, const Tensor& x) {
  NoGradGuard no_grad;
  double total = 0;
  for (int64_t start = 0; start < x.size(0); start += 500) {
    const Tensor b = narrow(x, 0, start, std::min<int64_t>(500, x.size(0) - start));
    const Tensor logits = m.decode(m.encode(b).code);
    total += binary_cross_entropy_with_logits(logits, b, Reduction::Sum).to_vector<double>()[0];
  }
  return total / static_cast<double>(x.size(0));
}

LatentModelSummary train_or_load(models::SpatialAutoencoder& m, const std::string& name,
                                  const LatentGeometryOptions& o, const Tensor& train_x, const Tensor& test_x,
                                  std::ostream& log) {
  LatentModelSummary s;
  s.model = name;
  const std::filesystem::path weights = std::filesystem::path(o.runs) / (name + ".safetensors");
  const io::Metadata meta = training_metadata(o, name);
  if (o.reuse && std::filesystem::exists(weights)) {
    const io::SafetensorsFile f = io::load_safetensors(weights);
    io::Metadata saved = f.metadata;
    saved.erase("final_loss"), saved.erase("steps"), saved.erase("train_s");
    if (saved == meta) {
      m.load_state_dict(f.tensors);
      s.reused = true;
      s.final_loss = std::stod(f.metadata.at("final_loss"));
      s.steps = std::stoll(f.metadata.at("steps"));
      s.train_s = std::stod(f.metadata.at("train_s"));
      s.test_reconstruction = test_reconstruction(m, test_x);
      log << name << ": loaded " << weights.string() << " (" << s.steps << " steps), test reconstruction "
          << fixed(s.test_reconstruction, 2) << " nats/image" << std::endl;
      return s;
    }
    log << name << ": " << weights.string() << " was trained with other settings; training afresh" << std::endl;
  }
  const auto t0 = Clock::now();
  auto last = t0;
  optim::Adam adam(m.parameters(), {.lr = o.lr});
  Generator shuffle(o.seed + 100), noise(o.seed + 200);
  const int64_t n = train_x.size(0), per_epoch = (n + o.batch_size - 1) / o.batch_size;
  double running = 0;
  int64_t in_running = 0;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const Tensor order = randperm(n, &shuffle);
    for (int64_t b = 0; b < per_epoch; ++b) {
      const int64_t start = b * o.batch_size, len = std::min(o.batch_size, n - start);
      const Tensor x = index_select(train_x, 0, narrow(order, 0, start, len));
      adam.zero_grad();
      const models::LossTerms terms = m.loss(x, &noise);
      const Tensor& loss = models::term(terms, "loss");
      loss.backward();
      adam.step();
      ++s.steps;
      running += loss.to_vector<double>()[0], ++in_running;
      if (seconds_since(last) >= 15 || (epoch == o.epochs - 1 && b == per_epoch - 1)) {
        last = Clock::now();
        s.final_loss = running / static_cast<double>(in_running);
        log << "  " << name << " epoch " << epoch + 1 << "/" << o.epochs << " step " << b + 1 << "/" << per_epoch
            << ": loss " << fixed(s.final_loss, 2) << " (mean of the last " << in_running << " steps), "
            << fixed(seconds_since(t0), 0) << " s" << std::endl;
        running = 0, in_running = 0;
      }
    }
  }
  s.train_s = seconds_since(t0);
  s.test_reconstruction = test_reconstruction(m, test_x);
  io::Metadata saved = meta;
  saved["final_loss"] = num(s.final_loss);
  saved["steps"] = std::to_string(s.steps);
  saved["train_s"] = num(s.train_s);
  std::filesystem::create_directories(o.runs);
  io::save_safetensors(weights, m.state_dict(), saved);
  log << name << ": trained " << s.steps << " steps in " << fixed(s.train_s, 0) << " s, test reconstruction "
      << fixed(s.test_reconstruction, 2) << " nats/image; saved " << weights.string() << std::endl;
  return s;
}

// One latent's three factors, at the strict and the loose tolerance.
struct LatentPoint {
  std::array<PsdFactor, 3> factors;
  std::array<int64_t, 3> effective_rank{};
};

LatentPoint latent_point(const std::vector<double>& z, const std::array<int64_t, 3>& shape,
                         const LatentGeometryOptions& o) {
  LatentPoint p;
  const std::array<analysis::Matrix, 3> grams = analysis::mode_grams(z, shape);
  for (size_t k = 0; k < 3; ++k) {
    p.factors[k] = analysis::psd_factor(grams[k], o.rank_rtol);
    std::vector<double> sv;
    for (double l : p.factors[k].eigenvalues) sv.push_back(std::sqrt(std::max(l, 0.0)));
    p.effective_rank[k] = analysis::numerical_rank(sv, o.effective_rtol);
  }
  return p;
}

struct ModelGeometry {
  std::array<bool, 3> log_euclidean{};  // per factor: full rank everywhere
  double factor_distance(const LatentPoint& a, const LatentPoint& b, size_t k) const {
    return log_euclidean[k] ? analysis::log_euclidean_distance(a.factors[k], b.factors[k])
                            : analysis::grassmann_distance(a.factors[k], b.factors[k]);
  }
  double distance(const LatentPoint& a, const LatentPoint& b) const {
    double s = 0;
    for (size_t k = 0; k < 3; ++k) {
      const double d = factor_distance(a, b, k);
      s += d * d;
    }
    return std::sqrt(s);
  }
};

// Kernel between point sets a (rows) and b (columns).
std::vector<double> kernel_block(const ModelGeometry& g, const std::vector<LatentPoint>& a, size_t a0, size_t an,
                                 const std::vector<LatentPoint>& b, size_t b0, size_t bn, double h, bool symmetric) {
  std::vector<double> k(an * bn);
  for (size_t i = 0; i < an; ++i)
    for (size_t j = symmetric ? i : 0; j < bn; ++j) {
      const double v = analysis::gaussian_kernel(g.distance(a[a0 + i], b[b0 + j]), h);
      k[i * bn + j] = v;
      if (symmetric) k[j * bn + i] = v;
    }
  return k;
}

void write_points_csv(const std::string& path, const std::string& text) { io::write_file_atomically(path, text); }

void write_rank_csv(const std::string& path, const std::vector<LatentRankRow>& rows) {
  std::ostringstream s;
  s << "model,mode,size,distance,sigma,rank_mean,rank_sd,rank_min,rank_max,changed_fraction,effective_rank_mean,"
       "effective_rank_sd,effective_changed_fraction,displacement_mean,displacement_sd\n";
  for (const auto& r : rows)
    s << r.model << "," << r.mode << "," << r.size << "," << r.distance << "," << num(r.sigma) << ","
      << num(r.rank_mean) << "," << num(r.rank_sd) << "," << r.rank_min << "," << r.rank_max << "," << num(r.changed)
      << "," << num(r.effective_rank_mean) << "," << num(r.effective_rank_sd) << "," << num(r.effective_changed) << "," << num(r.displacement_mean)
      << "," << num(r.displacement_sd) << "\n";
  io::write_file_atomically(path, s.str());
}

void write_subspace_csv(const std::string& path, const std::vector<LatentSubspaceRow>& rows) {
  std::ostringstream s;
  s << "model,sigma,components,grassmann_distance,largest_angle,smallest_angle,explained_fraction,bandwidth,"
       "split_half_distance,product_displacement_mean\n";
  for (const auto& r : rows)
    s << r.model << "," << num(r.sigma) << "," << r.components << "," << num(r.grassmann) << ","
      << num(r.largest_angle) << "," << num(r.smallest_angle) << "," << num(r.explained) << "," << num(r.bandwidth)
      << "," << num(r.split_half) << "," << num(r.product_displacement_mean) << "\n";
  io::write_file_atomically(path, s.str());
}

void check_options(const LatentGeometryOptions& o) {
  const char* cmd = "analyze latent-geometry";
  STRATA_CHECK(!o.models.empty(), cmd, ": no model given");
  for (const std::string& m : o.models) models::parse_spatial_objective(m);
  STRATA_CHECK(o.epochs >= 0, cmd, ": --epochs must be >= 0, got ", o.epochs);
  STRATA_CHECK(o.limit_train >= 0, cmd, ": --limit-train must be 0 (all) or more, got ", o.limit_train);
  STRATA_CHECK(o.batch_size >= 1, cmd, ": --batch-size must be >= 1, got ", o.batch_size);
  STRATA_CHECK(o.lr > 0, cmd, ": --lr must be > 0, got ", o.lr);
  STRATA_CHECK(o.images >= 4 && o.images <= 10000, cmd, ": --images must be in 4..10000, got ", o.images);
  STRATA_CHECK(o.sigmas.size() >= 2 && o.sigmas.front() == 0, cmd,
               ": --sigmas must start at 0 (the reference level) and have at least two levels");
  for (double s : o.sigmas) STRATA_CHECK(s >= 0 && std::isfinite(s), cmd, ": noise levels must be >= 0, got ", s);
  STRATA_CHECK(o.rank_rtol > 0 && o.rank_rtol < 1 && o.effective_rtol > 0 && o.effective_rtol < 1, cmd,
               ": rank tolerances must be in (0, 1), got ", o.rank_rtol, " and ", o.effective_rtol);
  STRATA_CHECK(o.components >= 1 && o.components < o.images / 2, cmd, ": --components must be in 1..",
               o.images / 2 - 1, " for ", o.images, " images (the split-half reference uses half), got ", o.components);
  STRATA_CHECK(!o.out.empty(), cmd, ": --out is empty");
}

}  // namespace

LatentGeometryReport latent_geometry_report(const LatentGeometryOptions& o) {
  std::ostream& log = o.log ? *o.log : std::cout;
  check_options(o);
  if (o.threads > 0) set_num_threads(o.threads);
  const auto t0 = Clock::now();

  TensorDataset train = load_fashion_mnist("train"), test = load_fashion_mnist("test");
  Tensor train_x = train.inputs();
  if (o.limit_train > 0 && o.limit_train < train_x.size(0)) train_x = narrow(train_x, 0, 0, o.limit_train);
  train_x = contiguous(train_x);
  const Tensor test_x = contiguous(narrow(test.inputs(), 0, 0, 1000));
  Generator pick(o.seed), draw(o.seed + 1);
  const Tensor chosen = narrow(randperm(test.inputs().size(0), &pick), 0, 0, o.images);
  const Tensor clean = contiguous(index_select(test.inputs(), 0, chosen));
  const Tensor eps = randn(clean.shape(), {clean.dtype()}, &draw);
  const std::vector<int64_t> index = chosen.to_vector<int64_t>();
  const std::vector<int64_t> labels = index_select(test.labels(), 0, chosen).to_vector<int64_t>();
  log << "analyze latent-geometry: training on " << train_x.size(0) << " Fashion-MNIST images for " << o.epochs
      << " epoch(s) per model; " << o.images << " test images (seed " << o.seed << ") at " << o.sigmas.size()
      << " noise levels; threads " << get_num_threads() << std::endl;

  LatentGeometryReport report;
  std::ostringstream points;
  points << "model,image,label,sigma,rank1,rank2,rank3,effective_rank1,effective_rank2,effective_rank3,displacement1,"
            "displacement2,displacement3\n";
  const size_t levels = o.sigmas.size(), n = static_cast<size_t>(o.images);
  for (size_t mi = 0; mi < o.models.size(); ++mi) {
    const std::string& name = o.models[mi];
    Generator init(o.seed);
    models::SpatialAutoencoder model(model_options(o, name), &init);
    report.models.push_back(train_or_load(model, name, o, train_x, test_x, log));
    const auto ta = Clock::now();
    const Shape ls = model.latent_shape();
    const std::array<int64_t, 3> shape{ls[0], ls[1], ls[2]};

    // points[level * n + image]
    std::vector<LatentPoint> pts(levels * n);
    {
      NoGradGuard no_grad;
      for (size_t l = 0; l < levels; ++l) {
        const Tensor z = model.encode(add(clean, mul(eps, o.sigmas[l]))).code;
        const std::vector<double> all = z.to_vector<double>();
        const size_t per = static_cast<size_t>(shape[0] * shape[1] * shape[2]);
        for (size_t i = 0; i < n; ++i)
          pts[l * n + i] = latent_point(std::vector<double>(all.begin() + static_cast<std::ptrdiff_t>(i * per),
                                                            all.begin() + static_cast<std::ptrdiff_t>((i + 1) * per)),
                                        shape, o);
      }
    }
    ModelGeometry g;
    for (size_t k = 0; k < 3; ++k)
      g.log_euclidean[k] = std::all_of(pts.begin(), pts.end(), [&](const LatentPoint& p) { return p.factors[k].full_rank(); });

    // Ranks and displacements.
    std::vector<std::array<double, 3>> displacement(levels * n);
    std::vector<double> product_displacement(levels * n);
    for (size_t l = 0; l < levels; ++l)
      for (size_t i = 0; i < n; ++i) {
        const LatentPoint& p = pts[l * n + i];
        double s = 0;
        for (size_t k = 0; k < 3; ++k) {
          displacement[l * n + i][k] = g.factor_distance(p, pts[i], k);
          s += displacement[l * n + i][k] * displacement[l * n + i][k];
        }
        product_displacement[l * n + i] = std::sqrt(s);
        points << name << "," << index[i] << "," << labels[i] << "," << num(o.sigmas[l]);
        for (size_t k = 0; k < 3; ++k) points << "," << p.factors[k].rank;
        for (size_t k = 0; k < 3; ++k) points << "," << p.effective_rank[k];
        for (size_t k = 0; k < 3; ++k) points << "," << num(displacement[l * n + i][k]);
        points << "\n";
      }
    for (size_t k = 0; k < 3; ++k)
      for (size_t l = 0; l < levels; ++l) {
        LatentRankRow r;
        r.model = name, r.mode = static_cast<int>(k + 1), r.size = shape[k], r.sigma = o.sigmas[l];
        r.distance = g.log_euclidean[k] ? "log-euclidean" : "grassmann";
        std::vector<double> rank, eff, disp;
        r.rank_min = shape[k], r.rank_max = 0;
        int64_t changed = 0, effective_changed = 0;
        for (size_t i = 0; i < n; ++i) {
          const LatentPoint& p = pts[l * n + i];
          rank.push_back(static_cast<double>(p.factors[k].rank));
          eff.push_back(static_cast<double>(p.effective_rank[k]));
          disp.push_back(displacement[l * n + i][k]);
          r.rank_min = std::min(r.rank_min, p.factors[k].rank), r.rank_max = std::max(r.rank_max, p.factors[k].rank);
          changed += p.factors[k].rank != pts[i].factors[k].rank;
          effective_changed += p.effective_rank[k] != pts[i].effective_rank[k];
        }
        const MeanSd mr = mean_sd(rank), me = mean_sd(eff), md = mean_sd(disp);
        r.rank_mean = mr.mean, r.rank_sd = mr.sd, r.effective_rank_mean = me.mean, r.effective_rank_sd = me.sd;
        r.displacement_mean = md.mean, r.displacement_sd = md.sd;
        r.changed = static_cast<double>(changed) / static_cast<double>(n);
        r.effective_changed = static_cast<double>(effective_changed) / static_cast<double>(n);
        report.ranks.push_back(r);
      }

    // The kernel: bandwidth from the sigma = 0 points; kernel PCA per level against sigma = 0.
    std::vector<double> d0;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) d0.push_back(g.distance(pts[i], pts[j]));
    double h = median(d0);
    if (!(h > 0)) h = 1;  // every sigma = 0 point the same: any bandwidth gives the same (degenerate) kernel
    const std::vector<double> k00 = kernel_block(g, pts, 0, n, pts, 0, n, h, true);
    const analysis::KernelPca pca0 = analysis::kernel_pca(k00, static_cast<int64_t>(n), o.components);
    const size_t half = n / 2;
    const auto pca_a = analysis::kernel_pca(kernel_block(g, pts, 0, half, pts, 0, half, h, true),
                                            static_cast<int64_t>(half), o.components);
    const auto pca_b = analysis::kernel_pca(kernel_block(g, pts, half, half, pts, half, half, h, true),
                                            static_cast<int64_t>(half), o.components);
    const double split_half = analysis::grassmann_distance(
        analysis::kernel_pca_principal_angles(pca_a, pca_b, kernel_block(g, pts, 0, half, pts, half, half, h, false)),
        o.components, o.components);
    for (size_t l = 0; l < levels; ++l) {
      LatentSubspaceRow r;
      r.model = name, r.sigma = o.sigmas[l], r.components = o.components, r.bandwidth = h, r.split_half = split_half;
      const analysis::KernelPca pca =
          l == 0 ? pca0
                 : analysis::kernel_pca(kernel_block(g, pts, l * n, n, pts, l * n, n, h, true), static_cast<int64_t>(n),
                                        o.components);
      const std::vector<double> angles =
          analysis::kernel_pca_principal_angles(pca0, pca, kernel_block(g, pts, 0, n, pts, l * n, n, h, false));
      r.grassmann = analysis::grassmann_distance(angles, o.components, o.components);
      r.smallest_angle = angles.front(), r.largest_angle = angles.back();
      r.explained = pca.explained_fraction();
      r.product_displacement_mean =
          mean_sd(std::vector<double>(product_displacement.begin() + static_cast<std::ptrdiff_t>(l * n),
                                      product_displacement.begin() + static_cast<std::ptrdiff_t>((l + 1) * n)))
              .mean;
      report.subspaces.push_back(r);
    }

    // One summary line per factor and the subspace distances.
    for (size_t k = 0; k < 3; ++k) {
      std::ostringstream line;
      line << "  " << name << " mode " << k + 1 << " (" << shape[k] << "x" << shape[k] << ", "
           << (g.log_euclidean[k] ? "log-euclidean" : "grassmann") << ") rank mean by sigma:";
      for (const auto& r : report.ranks)
        if (r.model == name && r.mode == static_cast<int>(k + 1)) line << " " << fixed(r.rank_mean, 2);
      log << line.str() << std::endl;
    }
    std::ostringstream line;
    line << "  " << name << " kernel-PCA Grassmann distance to sigma 0 (q " << o.components << ", h " << fixed(h, 3)
         << ", split-half " << fixed(split_half, 3) << "):";
    for (const auto& r : report.subspaces)
      if (r.model == name) line << " " << fixed(r.grassmann, 3);
    log << line.str() << "  [" << fixed(seconds_since(ta), 1) << " s analysis, " << fixed(seconds_since(t0), 0)
        << " s total]" << std::endl;
  }

  // Files.
  const std::filesystem::path out(o.out);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  const std::string base = o.out;
  report.files = {base + "-points.csv",      base + "-ranks.csv",        base + "-subspaces.csv", base + "-ranks.png",
                  base + "-rank-changes.png", base + "-subspaces.png", base + "-effective-ranks.png"};
  write_points_csv(report.files[0], points.str());
  write_rank_csv(report.files[1], report.ranks);
  write_subspace_csv(report.files[2], report.subspaces);
  std::vector<Panel> rank_panels, change_panels, effective_panels;
  const char* mode_names[] = {"mode 1 (channels)", "mode 2 (rows)", "mode 3 (columns)"};
  for (int mode = 1; mode <= 3; ++mode) {
    Panel p{std::string("rank of S") + std::to_string(mode) + ", " + mode_names[mode - 1], "noise sigma",
            "numerical rank (mean +- sd)", {}, false};
    Panel c{std::string("rank changed vs sigma 0, S") + std::to_string(mode), "noise sigma", "share of images", {}, true};
    Panel e{std::string("effective rank of S") + std::to_string(mode) + " (rtol " + num(o.effective_rtol) + ")",
            "noise sigma", "effective rank (mean +- sd)", {}, false};
    for (const std::string& name : o.models) {
      PanelSeries s{upper(name), {}, {}, {}, colour_of(name)}, ch = s, ef = s;
      for (const auto& r : report.ranks)
        if (r.model == name && r.mode == mode) {
          s.x.push_back(r.sigma), s.y.push_back(r.rank_mean), s.spread.push_back(r.rank_sd);
          ch.x.push_back(r.sigma), ch.y.push_back(r.changed);
          ef.x.push_back(r.sigma), ef.y.push_back(r.effective_rank_mean), ef.spread.push_back(r.effective_rank_sd);
        }
      p.series.push_back(s), c.series.push_back(ch), e.series.push_back(ef);
    }
    rank_panels.push_back(p), change_panels.push_back(c), effective_panels.push_back(e);
  }
  save_panels_png(report.files[3], rank_panels);
  save_panels_png(report.files[4], change_panels);
  save_panels_png(report.files[6], effective_panels);
  Panel gd{"kernel-PCA subspace vs sigma 0", "noise sigma", "Grassmann distance (rad)", {}, true};
  Panel la{"largest principal angle", "noise sigma", "angle (rad)", {}, true};
  Panel pd{"latent displacement", "noise sigma", "product distance to own sigma-0 latent", {}, true};
  for (const std::string& name : o.models) {
    PanelSeries a{upper(name), {}, {}, {}, colour_of(name)}, b = a, c = a;
    for (const auto& r : report.subspaces)
      if (r.model == name) {
        a.x.push_back(r.sigma), a.y.push_back(r.grassmann);
        b.x.push_back(r.sigma), b.y.push_back(r.largest_angle);
        c.x.push_back(r.sigma), c.y.push_back(r.product_displacement_mean);
      }
    gd.series.push_back(a), la.series.push_back(b), pd.series.push_back(c);
  }
  save_panels_png(report.files[5], {gd, la, pd});
  report.wall_s = seconds_since(t0);
  log << "wrote";
  for (const std::string& f : report.files) log << " " << f;
  log << " in " << fixed(report.wall_s, 1) << " s" << std::endl;
  return report;
}

}  // namespace strata::training
