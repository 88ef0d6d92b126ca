#include "training/generalization_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "analysis/autoencoder_evaluation.h"
#include "analysis/generalization.h"
#include "core/error.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/data/fashion_mnist.h"
#include "engine/data/image_shift.h"
#include "engine/io/atomic_file.h"
#include "engine/io/image.h"
#include "engine/optim/adam.h"
#include "engine/threading.h"
#include "models/autoencoders/autoencoder.h"
#include "ops/ops.h"
#include "training/line_plot_png.h"
#include "training/registry.h"
#include "training/run_config.h"

namespace strata::training {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kSide = 28;         // Fashion-MNIST images are 28 x 28
constexpr int64_t kEvalBatch = 500;   // rows per no-grad forward pass (memory, not results)

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string widths_str(const std::vector<int64_t>& w) {
  std::string s;
  for (int64_t v : w) {
    if (!s.empty()) s += '-';
    s += std::to_string(v);
  }
  return s;
}

// Pixel > 0.5 -> 1, else 0 (a fixed binarisation: the data, the flow's samples and shifted images alike).
Tensor binarise(const Tensor& x) { return to_dtype(gt(x, 0.5), DType::Float32); }

// The VAE of every regime and sweep point: the mlp architecture, Bernoulli pixels, beta 1, through
// the registry as `strata train --model vae` builds it, initialised from `seed`.
std::unique_ptr<Trainable> make_vae(const GeneralizationOptions& o, const std::vector<int64_t>& hidden, uint64_t seed,
                                    int64_t latent = 0) {
  RunConfig c;
  c.model = "vae";
  c.arch = "mlp";
  c.likelihood = "bernoulli";
  c.hidden = hidden;
  c.latent = latent > 0 ? latent : o.latent;
  c.batch_size = o.batch_size;
  c.lr = o.lr;
  validate(c);
  manual_seed(seed);
  return make_model(c, kSide * kSide);
}

std::unique_ptr<Trainable> make_flow(const GeneralizationOptions& o, int64_t dim) {
  RunConfig c;
  c.model = "fm";
  c.velocity_net = "mlp";
  c.velocity_hidden = o.flow_hidden;
  c.time_features = o.flow_time_features;
  c.interpolant = "linear";
  c.coupling = "independent";
  c.dequantize = "none";  // continuous codes
  c.solver = "heun";
  c.solver_steps = o.flow_solver_steps;
  c.batch_size = o.flow_batch_size;
  c.lr = o.flow_lr;
  validate(c);
  manual_seed(o.seed + 17);
  return make_model(c, dim);
}

// One pass over `data` in shuffled minibatches; returns the mean of the minimised loss.
double train_epoch(Trainable& model, optim::Adam& adam, const Tensor& data, int64_t batch_size, Generator& gen) {
  const int64_t n = data.size(0);
  const Tensor order = randperm(n, &gen);
  double total = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t size = std::min(batch_size, n - start);
    const Tensor batch = index_select(data, 0, narrow(order, 0, start, size));
    adam.zero_grad();
    LossTerms terms = model.loss_terms(batch, &gen);
    terms[0].second.backward();
    adam.step();
    total += terms[0].second.item<double>() * static_cast<double>(size);
  }
  return total / static_cast<double>(n);
}

// The mean ELBO of x: minus the VAE's own objective (beta 1: reconstruction + KL, one draw), with
// draws from a generator of `seed`, so every epoch's value uses the same noise.
double mean_elbo(Trainable& model, const Tensor& x, uint64_t seed) {
  NoGradGuard no_grad;
  Generator gen(seed);
  double total = 0;
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    const int64_t size = std::min(kEvalBatch, x.size(0) - start);
    total += -model.loss_terms(narrow(x, 0, start, size), &gen)[0].second.item<double>() * static_cast<double>(size);
  }
  return total / static_cast<double>(x.size(0));
}

int64_t parameter_count(Trainable& model) {
  int64_t n = 0;
  for (const Tensor& p : model.parameters()) n += p.numel();
  return n;
}

struct Trained {
  std::vector<GeneralizationEpoch> curve;
  int64_t best_epoch = 0;
  double best_test_elbo = -INFINITY;
};

class Study {
 public:
  Study(const GeneralizationOptions& o, std::ostream& log) : o_(o), log_(log), t0_(Clock::now()) {}

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  std::string stamp() const { return "[" + fixed(elapsed(), 0) + " s]"; }

  void load_data() {
    const TensorDataset train = load_fashion_mnist("train"), test = load_fashion_mnist("test");
    STRATA_CHECK(o_.subset <= train.size() && o_.test <= test.size(), "analyze generalization: --subset ", o_.subset,
                 " and --test ", o_.test, " must not exceed Fashion-MNIST's ", train.size(), " training and ",
                 test.size(), " test images");
    train_ = contiguous(binarise(narrow(train.inputs(), 0, 0, o_.subset)));
    test_ = contiguous(binarise(narrow(test.inputs(), 0, 0, o_.test)));
    log_ << "analyze generalization: Fashion-MNIST binarised at 0.5, " << o_.subset << " training and " << o_.test
         << " test images, threads " << get_num_threads() << std::endl;
  }

  // The generative model, trained on the subset only: an autoencoder (a VAE of the study's
  // architecture with a smaller latent) and flow matching on its posterior means (two-step
  // generation, training/two_step.h); samples are decoded to pixel means and thresholded like the
  // data. Then the pool of samples.
  void train_generator(GeneralizationReport& report) {
    std::unique_ptr<Trainable> ae = make_vae(o_, o_.hidden, o_.seed + 29, o_.generator_latent);
    {
      optim::Adam adam(ae->parameters(), {.lr = o_.lr});
      Generator gen(o_.seed + 31);
      log_ << "generator: VAE " << widths_str(o_.hidden) << ", latent " << o_.generator_latent << " on the "
           << o_.subset << " training images, " << o_.generator_epochs << " epochs" << std::endl;
      for (int64_t e = 1; e <= o_.generator_epochs; ++e) {
        const double loss = train_epoch(*ae, adam, train_, o_.batch_size, gen);
        if (e == 1 || e % 10 == 0 || e == o_.generator_epochs)
          log_ << "  generator VAE epoch " << e << "/" << o_.generator_epochs << ": ELBO on its data "
               << fixed(-loss, 2) << "  " << stamp() << std::endl;
      }
    }
    models::Autoencoder& decoder = *ae->autoencoder();
    Tensor codes;
    {
      NoGradGuard no_grad;
      codes = contiguous(decoder.encode(train_).mean);
    }
    flow_ = make_flow(o_, o_.generator_latent);
    optim::Adam adam(flow_->parameters(), {.lr = o_.flow_lr});
    Generator gen(o_.seed + 101);
    log_ << "generator: flow matching (velocity MLP " << widths_str(o_.flow_hidden) << ", " << parameter_count(*flow_)
         << " parameters) on those " << o_.subset << " codes, " << o_.flow_epochs << " epochs" << std::endl;
    for (int64_t e = 1; e <= o_.flow_epochs; ++e) {
      report.flow_loss.push_back(train_epoch(*flow_, adam, codes, o_.flow_batch_size, gen));
      if (e == 1 || e % 20 == 0 || e == o_.flow_epochs)
        log_ << "  flow epoch " << e << "/" << o_.flow_epochs << ": loss " << fixed(report.flow_loss.back(), 3) << "  "
             << stamp() << std::endl;
    }
    const int64_t epochs = o_.synthetic_epochs > 0 ? o_.synthetic_epochs : o_.epochs;
    const int64_t total = epochs * o_.subset;
    log_ << "drawing " << total << " samples (" << epochs << " epochs of " << o_.subset << "; Heun, "
         << o_.flow_solver_steps << " steps, decoded, pixels by " << o_.synthetic_pixels << ")" << std::endl;
    NoGradGuard no_grad;
    flow_->module().eval();
    Generator draws(o_.seed + 202);
    std::vector<Tensor> parts;
    auto last = Clock::now();
    for (int64_t done = 0; done < total;) {
      const int64_t size = std::min<int64_t>(1000, total - done);
      const Tensor p = decoder.decode_mean(flow_->sample(size, &draws));
      parts.push_back(o_.synthetic_pixels == "bernoulli" ? bernoulli(p, &draws) : binarise(p));
      done += size;
      if (std::chrono::duration<double>(Clock::now() - last).count() > 15 || done == total) {
        last = Clock::now();
        log_ << "  " << done << "/" << total << " samples  " << stamp() << std::endl;
      }
    }
    pool_ = contiguous(cat(parts, 0));
    pool_epochs_ = epochs;
    generator_ae_ = std::move(ae);
  }

  // Trains one VAE of `hidden` for `epochs` epochs in `regime`, recording the per-epoch curve.
  Trained train_vae(Trainable& model, const std::string& regime, int64_t epochs, bool verbose) {
    optim::Adam adam(model.parameters(), {.lr = o_.lr});
    Generator gen(o_.seed + 303), shifts(o_.seed + 404);
    Trained t;
    for (int64_t e = 1; e <= epochs; ++e) {
      Tensor data = train_;
      if (regime == "synthetic") {
        data = narrow(pool_, 0, ((e - 1) % pool_epochs_) * o_.subset, o_.subset);
      } else if (regime == "augmented") {
        data = random_shift_images(train_, kSide, kSide, o_.max_shift, &shifts);
      }
      GeneralizationEpoch row{regime, e};
      row.fit_elbo = -train_epoch(model, adam, data, o_.batch_size, gen);
      row.train_elbo = mean_elbo(model, train_, o_.seed + 505);
      row.test_elbo = mean_elbo(model, test_, o_.seed + 606);
      row.wall_s = elapsed();
      if (row.test_elbo > t.best_test_elbo) t.best_test_elbo = row.test_elbo, t.best_epoch = e;
      t.curve.push_back(row);
      if (verbose || e == epochs || e % 10 == 0)
        log_ << "  " << regime << " epoch " << e << "/" << epochs << ": train ELBO " << fixed(row.train_elbo, 2)
             << ", test ELBO " << fixed(row.test_elbo, 2) << ", gap " << fixed(row.train_elbo - row.test_elbo, 2)
             << " (objective on its data " << fixed(row.fit_elbo, 2) << ")  " << stamp() << std::endl;
    }
    return t;
  }

  // ELBO / IWAE gaps and amortization gaps of a trained VAE.
  GeneralizationSummary evaluate(Trainable& model, const std::string& regime, const Trained& t,
                                 std::vector<AmortizationTrace>& traces) {
    models::Autoencoder& ae = *model.autoencoder();
    GeneralizationSummary s;
    s.regime = regime;
    s.best_test_elbo = t.best_test_elbo;
    s.best_epoch = t.best_epoch;
    const int64_t n_train = std::min(o_.eval_points, train_.size(0)), n_test = std::min(o_.eval_points, test_.size(0));
    analysis::EvaluationOptions eo{.importance_samples = o_.importance_samples, .seed = o_.seed + 707};
    const analysis::AutoencoderEvaluation tr = analysis::evaluate_autoencoder(ae, narrow(train_, 0, 0, n_train), eo);
    const analysis::AutoencoderEvaluation te = analysis::evaluate_autoencoder(ae, narrow(test_, 0, 0, n_test), eo);
    s.train_elbo = tr.elbo, s.test_elbo = te.elbo;
    s.elbo_gap = analysis::generalization_gap(tr.per_example.elbo, te.per_example.elbo);
    s.train_iwae = tr.log_likelihood, s.test_iwae = te.log_likelihood;
    s.iwae_gap = analysis::generalization_gap(tr.per_example.log_likelihood, te.per_example.log_likelihood);
    log_ << "  " << regime << ": ELBO train " << fixed(s.train_elbo, 2) << " / test " << fixed(s.test_elbo, 2)
         << " (gap " << fixed(s.elbo_gap, 2) << "), IWAE K=" << o_.importance_samples << " train "
         << fixed(s.train_iwae, 2) << " / test " << fixed(s.test_iwae, 2) << " (gap " << fixed(s.iwae_gap, 2)
         << ")  " << stamp() << std::endl;

    // The decoder frozen: no parameter of the model takes a gradient while the posteriors move.
    std::vector<Tensor> params = model.parameters();
    for (Tensor& p : params) p.set_requires_grad(false);
    const analysis::DecoderLogLikelihood log_likelihood = [&ae](const Tensor& x, const Tensor& z) {
      return ae.likelihood().log_prob(x, ae.decode(z));
    };
    analysis::PosteriorOptimisationOptions po{.steps = o_.amortization_steps,
                                              .lr = o_.amortization_lr,
                                              .eval_samples = o_.amortization_samples,
                                              .seed = o_.seed + 808};
    auto gap = [&](const Tensor& x, const std::string& split) {
      models::Encoding q;
      {
        NoGradGuard no_grad;
        q = ae.encode(x);
      }
      analysis::PosteriorOptimisation r = analysis::optimise_gaussian_posteriors(log_likelihood, x, q.mean, q.log_var, po);
      traces.push_back({regime, split, std::move(r.objective_per_step)});
      return r.amortization_gap;
    };
    s.train_amortization_gap = gap(narrow(train_, 0, 0, std::min(o_.amortization_points, train_.size(0))), "train");
    s.test_amortization_gap = gap(narrow(test_, 0, 0, std::min(o_.amortization_points, test_.size(0))), "test");
    for (Tensor& p : params) p.set_requires_grad(true);
    log_ << "  " << regime << ": amortization gap train " << fixed(s.train_amortization_gap, 2) << " / test "
         << fixed(s.test_amortization_gap, 2) << " nats (" << o_.amortization_steps << " Adam steps, lr "
         << o_.amortization_lr << ")  " << stamp() << std::endl;
    return s;
  }

  const Tensor& train() const { return train_; }
  const Tensor& pool() const { return pool_; }

 private:
  const GeneralizationOptions& o_;
  std::ostream& log_;
  Clock::time_point t0_;
  Tensor train_, test_, pool_;
  int64_t pool_epochs_ = 0;
  std::unique_ptr<Trainable> flow_, generator_ae_;
};

}  // namespace

void check_generalization_options(const GeneralizationOptions& o) {
  const char* cmd = "analyze generalization";
  STRATA_CHECK(o.subset >= 2 && o.test >= 1, cmd, ": needs --subset >= 2 and --test >= 1, got ", o.subset, " and ",
               o.test);
  STRATA_CHECK(o.epochs >= 1 && o.batch_size >= 1 && o.lr > 0, cmd,
               ": needs --epochs >= 1, --batch-size >= 1 and --lr > 0, got ", o.epochs, ", ", o.batch_size, " and ",
               o.lr);
  STRATA_CHECK(o.latent >= 1 && !o.hidden.empty(), cmd, ": needs --latent >= 1 and at least one --hidden width");
  STRATA_CHECK(o.flow_epochs >= 1 && o.flow_solver_steps >= 1 && o.synthetic_epochs >= 0 &&
                   o.generator_epochs >= 1 && o.generator_latent >= 1 && !o.flow_hidden.empty(),
               cmd, ": needs --flow-epochs >= 1, --flow-solver-steps >= 1, --synthetic-epochs >= 0, "
               "--generator-epochs >= 1, --generator-latent >= 1 and --flow-hidden widths, got ", o.flow_epochs, ", ",
               o.flow_solver_steps, ", ", o.synthetic_epochs, ", ", o.generator_epochs, " and ", o.generator_latent);
  STRATA_CHECK(o.synthetic_pixels == "bernoulli" || o.synthetic_pixels == "threshold", cmd,
               ": --synthetic-pixels must be bernoulli or threshold, got \"", o.synthetic_pixels, "\"");
  STRATA_CHECK(o.max_shift >= 0 && o.max_shift < kSide, cmd, ": --max-shift must be in 0..", kSide - 1, ", got ",
               o.max_shift);
  STRATA_CHECK(o.eval_points >= 1 && o.importance_samples >= 1 && o.amortization_points >= 1 &&
                   o.amortization_steps >= 0 && o.amortization_samples >= 1 && o.amortization_lr > 0,
               cmd, ": needs --eval-points, --iw-samples, --amortization-points, --amortization-samples >= 1, "
               "--amortization-steps >= 0 and --amortization-lr > 0, got ", o.eval_points, ", ",
               o.importance_samples, ", ", o.amortization_points, ", ", o.amortization_samples, ", ",
               o.amortization_steps, " and ", o.amortization_lr);
  STRATA_CHECK(!o.sweep || (o.sweep_epochs >= 1 && !o.sweep_inner.empty() && !o.sweep_outer.empty() &&
                            o.sweep_inner_fixed >= 1 && o.sweep_outer_fixed >= 1),
               cmd, ": the width sweep needs --sweep-epochs >= 1 and widths on both paths");
  for (int64_t w : o.sweep_inner) STRATA_CHECK(w >= 1, cmd, ": --sweep-inner widths must be >= 1, got ", w);
  for (int64_t w : o.sweep_outer) STRATA_CHECK(w >= 1, cmd, ": --sweep-outer widths must be >= 1, got ", w);
  STRATA_CHECK(!o.regimes.empty(), cmd, ": no --regimes given");
  for (const std::string& r : o.regimes) {
    const auto& valid = generalization_regimes();
    STRATA_CHECK(std::find(valid.begin(), valid.end(), r) != valid.end(), cmd, ": unknown regime \"", r,
                 "\" (valid: normal, synthetic, augmented)");
  }
  STRATA_CHECK(!o.out.empty(), cmd, ": --out is empty");
}

namespace {

void write_outputs(const GeneralizationOptions& o, const GeneralizationReport& r, const std::filesystem::path& dir) {
  std::ostringstream curves, summary, sweep, flow, trace;
  curves << "regime,epoch,train_elbo,test_elbo,generalization_gap,objective_on_training_data,wall_s\n";
  for (const auto& e : r.curves)
    curves << e.regime << "," << e.epoch << "," << fixed(e.train_elbo, 4) << "," << fixed(e.test_elbo, 4) << ","
           << fixed(e.train_elbo - e.test_elbo, 4) << "," << fixed(e.fit_elbo, 4) << "," << fixed(e.wall_s, 1) << "\n";
  summary << "regime,train_elbo,test_elbo,elbo_gap,train_iwae,test_iwae,iwae_gap,iw_samples,eval_points,"
             "train_amortization_gap,test_amortization_gap,amortization_points,best_test_elbo,best_epoch,epochs\n";
  for (const auto& s : r.summary)
    summary << s.regime << "," << fixed(s.train_elbo, 4) << "," << fixed(s.test_elbo, 4) << "," << fixed(s.elbo_gap, 4)
            << "," << fixed(s.train_iwae, 4) << "," << fixed(s.test_iwae, 4) << "," << fixed(s.iwae_gap, 4) << ","
            << o.importance_samples << "," << o.eval_points << "," << fixed(s.train_amortization_gap, 4) << ","
            << fixed(s.test_amortization_gap, 4) << "," << o.amortization_points << "," << fixed(s.best_test_elbo, 4)
            << "," << s.best_epoch << "," << o.epochs << "\n";
  sweep << "path,outer,inner,parameters,epochs,train_elbo,test_elbo,best_test_elbo,best_epoch\n";
  for (const auto& p : r.sweep)
    sweep << p.path << "," << p.outer << "," << p.inner << "," << p.parameters << "," << o.sweep_epochs << ","
          << fixed(p.train_elbo, 4) << "," << fixed(p.test_elbo, 4) << "," << fixed(p.best_test_elbo, 4) << ","
          << p.best_epoch << "\n";
  flow << "epoch,loss\n";
  for (size_t e = 0; e < r.flow_loss.size(); ++e) flow << e + 1 << "," << fixed(r.flow_loss[e], 4) << "\n";
  trace << "regime,split,step,mean_elbo_estimate\n";
  for (const auto& t : r.amortization_traces)
    for (size_t k = 0; k < t.mean_elbo.size(); ++k)
      trace << t.regime << "," << t.split << "," << k + 1 << "," << fixed(t.mean_elbo[k], 3) << "\n";
  io::write_file_atomically(dir / "curves.csv", curves.str());
  io::write_file_atomically(dir / "amortization.csv", trace.str());
  io::write_file_atomically(dir / "summary.csv", summary.str());
  if (o.sweep) io::write_file_atomically(dir / "sweep.csv", sweep.str());
  if (!r.flow_loss.empty()) io::write_file_atomically(dir / "flow.csv", flow.str());

  const std::map<std::string, std::string> colour = {
      {"normal", "#1f77b4"}, {"synthetic", "#2ca02c"}, {"augmented", "#ff7f0e"}};
  std::vector<CurveSeries> elbo, gap;
  for (const std::string& regime : o.regimes) {
    CurveSeries train{regime + " train", {}, {}, colour.at(regime)};
    CurveSeries test{regime + " test", {}, {}, colour.at(regime), CurveStyle::Markers};
    CurveSeries g{regime, {}, {}, colour.at(regime)};
    for (const auto& e : r.curves) {
      if (e.regime != regime) continue;
      train.x.push_back(e.epoch), train.y.push_back(e.train_elbo);
      test.x.push_back(e.epoch), test.y.push_back(e.test_elbo);
      g.x.push_back(e.epoch), g.y.push_back(e.train_elbo - e.test_elbo);
    }
    elbo.push_back(train), elbo.push_back(test), gap.push_back(g);
  }
  const std::string data = std::to_string(o.subset) + " binarised Fashion-MNIST images";
  write_line_plot_png((dir / "elbo_curves.png").string(), "ELBO per epoch, " + data, elbo,
                      {.x_label = "epoch", .y_label = "ELBO (nats), train: line, test: markers"});
  write_line_plot_png((dir / "generalization_gap.png").string(), "generalization gap (train - test ELBO)", gap,
                      {.x_label = "epoch", .y_label = "gap (nats)"});
  if (o.sweep) {
    std::vector<CurveSeries> sw = {
        {"grow inner (next to latent), outer " + std::to_string(o.sweep_outer_fixed), {}, {}, "#d62728",
         CurveStyle::Markers},
        {"grow outer, inner " + std::to_string(o.sweep_inner_fixed), {}, {}, "#9467bd", CurveStyle::Markers}};
    for (const auto& p : r.sweep) {
      CurveSeries& s = sw[p.path == "inner" ? 0 : 1];
      s.x.push_back(static_cast<double>(p.parameters)), s.y.push_back(p.test_elbo);
    }
    write_line_plot_png((dir / "width_sweep.png").string(),
                        "test ELBO after " + std::to_string(o.sweep_epochs) + " epochs vs parameters", sw,
                        {.x_label = "parameters", .y_label = "test ELBO (nats)", .log_x = true});
  }
  if (!r.flow_loss.empty()) {
    CurveSeries fl{"flow matching loss", {}, {}};
    for (size_t e = 0; e < r.flow_loss.size(); ++e) fl.x.push_back(e + 1.0), fl.y.push_back(r.flow_loss[e]);
    write_line_plot_png((dir / "flow_loss.png").string(), "flow matching on the generator VAE's codes", {fl},
                        {.x_label = "epoch", .y_label = "loss"});
  }
}

}  // namespace

const std::vector<std::string>& generalization_regimes() {
  static const std::vector<std::string> regimes = {"normal", "synthetic", "augmented"};
  return regimes;
}

GeneralizationReport generalization_report(const GeneralizationOptions& o) {
  check_generalization_options(o);
  std::ostream& log = o.log ? *o.log : std::cout;
  if (o.threads > 0) set_num_threads(o.threads);
  const std::filesystem::path dir(o.out);
  std::filesystem::create_directories(dir);
  GeneralizationReport report;
  Study study(o, log);
  study.load_data();
  const bool synthetic = std::find(o.regimes.begin(), o.regimes.end(), "synthetic") != o.regimes.end();
  if (synthetic) study.train_generator(report);

  for (const std::string& regime : o.regimes) {
    std::unique_ptr<Trainable> vae = make_vae(o, o.hidden, o.seed);
    log << regime << ": VAE " << widths_str(o.hidden) << ", latent " << o.latent << ", " << parameter_count(*vae)
        << " parameters, " << o.epochs << " epochs" << std::endl;
    const Trained t = study.train_vae(*vae, regime, o.epochs, /*verbose=*/true);
    report.curves.insert(report.curves.end(), t.curve.begin(), t.curve.end());
    report.summary.push_back(study.evaluate(*vae, regime, t, report.amortization_traces));
  }

  // Pictures of what each regime trains on: real, shifted, synthetic (16 each).
  {
    NoGradGuard no_grad;
    const int64_t k = std::min<int64_t>(16, o.subset);
    Generator g(o.seed + 909);
    std::vector<Tensor> rows = {narrow(study.train(), 0, 0, k),
                                random_shift_images(narrow(study.train(), 0, 0, k), kSide, kSide, o.max_shift, &g)};
    if (synthetic) rows.push_back(narrow(study.pool(), 0, 0, k));
    io::save_image_grid((dir / "examples.png").string(), reshape(cat(rows, 0), {-1, 1, kSide, kSide}), k);
  }

  if (o.sweep) {
    std::map<std::pair<int64_t, int64_t>, SweepPoint> done;  // the shared base point is trained once
    auto point = [&](const std::string& path, int64_t outer, int64_t inner) {
      SweepPoint p;
      if (auto it = done.find({outer, inner}); it != done.end()) {
        p = it->second;
      } else {
        std::unique_ptr<Trainable> vae = make_vae(o, {outer, inner}, o.seed);
        p.outer = outer, p.inner = inner, p.parameters = parameter_count(*vae);
        const int64_t expected = analysis::mlp_autoencoder_parameter_count(kSide * kSide, {outer, inner}, o.latent);
        STRATA_CHECK(p.parameters == expected, "analyze generalization: the VAE ", outer, "-", inner, " has ",
                     p.parameters, " parameters, the formula says ", expected);
        log << "sweep (" << path << "): VAE " << outer << "-" << inner << ", " << p.parameters << " parameters, "
            << o.sweep_epochs << " epochs" << std::endl;
        const Trained t = study.train_vae(*vae, "normal", o.sweep_epochs, /*verbose=*/false);
        p.train_elbo = t.curve.back().train_elbo, p.test_elbo = t.curve.back().test_elbo;
        p.best_test_elbo = t.best_test_elbo, p.best_epoch = t.best_epoch;
        done[{outer, inner}] = p;
      }
      p.path = path;
      report.sweep.push_back(p);
    };
    for (int64_t w : o.sweep_inner) point("inner", o.sweep_outer_fixed, w);
    for (int64_t w : o.sweep_outer) point("outer", w, o.sweep_inner_fixed);
  }

  write_outputs(o, report, dir);
  report.wall_s = study.elapsed();
  log << "wrote " << (dir / "curves.csv").string() << ", summary.csv" << (o.sweep ? ", sweep.csv" : "")
      << " and the figures in " << dir.string() << " in " << fixed(report.wall_s, 1) << " s" << std::endl;
  return report;
}

}  // namespace strata::training
