#include "training/run_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <type_traits>
#include <set>

#include "core/error.h"
#include "training/registry.h"

namespace strata::training {

using nlohmann::json;

json to_json(const RunConfig& c) {
  return json{{"model", c.model},         {"data", c.data},           {"epochs", c.epochs},
              {"batch_size", c.batch_size}, {"lr", c.lr},             {"latent", c.latent},
              {"hidden", c.hidden},       {"seed", c.seed},           {"out", c.out},
              {"threads", c.threads},     {"limit_train", c.limit_train}, {"log_every", c.log_every},
              {"samples", c.samples},     {"clip_grad_norm", c.clip_grad_norm},
              {"checkpoint_every", c.checkpoint_every}, {"detect_anomaly", c.detect_anomaly},
              {"validation_fraction", c.validation_fraction},
              {"arch", c.arch},           {"likelihood", c.likelihood}, {"gaussian_sigma", c.gaussian_sigma},
              {"beta", c.beta},           {"capacity_max", c.capacity_max}, {"capacity_steps", c.capacity_steps},
              {"capacity_gamma", c.capacity_gamma}, {"kl_warmup", c.kl_warmup},
              {"kl_warmup_steps", c.kl_warmup_steps}, {"corruption", c.corruption},
              {"noise_sigma", c.noise_sigma}, {"corruption_fraction", c.corruption_fraction},
              {"conditional", c.conditional}, {"factor_gamma", c.factor_gamma},
              {"discriminator_lr", c.discriminator_lr}, {"discriminator_hidden", c.discriminator_hidden},
              {"iw_samples", c.iw_samples}, {"mmd_kernel", c.mmd_kernel}, {"mmd_lambda", c.mmd_lambda},
              {"info_alpha", c.info_alpha}, {"codebook_size", c.codebook_size}, {"code_dim", c.code_dim},
              {"vq_beta", c.vq_beta}, {"vq_ema", c.vq_ema}, {"vq_decay", c.vq_decay},
              {"tc_estimator", c.tc_estimator}, {"mi_alpha", c.mi_alpha}, {"dwkl_gamma", c.dwkl_gamma},
              {"alpha", c.alpha}, {"views", c.views}, {"alpha_tc_form", c.alpha_tc_form},
              {"dip_type", c.dip_type}, {"lambda_od", c.lambda_od}, {"lambda_d", c.lambda_d},
              {"velocity_hidden", c.velocity_hidden}, {"time_features", c.time_features},
              {"velocity_net", c.velocity_net}, {"unet_channels", c.unet_channels}, {"p_uncond", c.p_uncond},
              {"interpolant", c.interpolant}, {"coupling", c.coupling}, {"sinkhorn_epsilon", c.sinkhorn_epsilon},
              {"blocks", c.blocks}, {"step_sizes", c.step_sizes}, {"block_epochs", c.block_epochs},
              {"solver", c.solver}, {"solver_steps", c.solver_steps}, {"rtol", c.rtol}, {"atol", c.atol},
              {"divergence", c.divergence}, {"latent_of", c.latent_of},
              {"pictures_every", c.pictures_every}, {"dequantize", c.dequantize}};
}

namespace {

// Whether a JSON value holds a T exactly. nlohmann's get<T>() converts freely (1.5 to 1, -1 to
// 2^64-1, and 1e300 to an integer is undefined behaviour), so every value is checked first.
template <class T>
bool holds(const json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v.is_boolean();
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v.is_string();
  } else if constexpr (std::is_floating_point_v<T>) {
    return v.is_number();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      return x >= 0 ? static_cast<uint64_t>(x) <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                    : std::is_signed_v<T> && x >= static_cast<int64_t>(std::numeric_limits<T>::min());
    }
    return false;
  } else {
    if (!v.is_array()) return false;
    for (const json& e : v)
      if (!holds<typename T::value_type>(e)) return false;
    return true;
  }
}

template <class T>
void read(const json& j, const char* key, T& value, const std::string& source) {
  if (!j.contains(key)) return;
  const json& v = j.at(key);
  if (!holds<T>(v)) {
    // A short excerpt: the value may be a huge or deeply nested document.
    std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    throw Error(detail::concat("config ", source, ": \"", key, "\" has the wrong type or range (", text,
                               "); expected ", to_json(RunConfig{}).at(key).type_name()));
  }
  value = v.get<T>();
}

}  // namespace

RunConfig config_from_json(const json& j, const std::string& source) {
  STRATA_CHECK(j.is_object(), "config ", source, ": expected a JSON object, got ", j.type_name());
  const json defaults = to_json(RunConfig{});
  for (const auto& [key, value] : j.items()) {
    if (!defaults.contains(key)) {
      std::string valid;
      for (const auto& [k, v] : defaults.items()) valid += (valid.empty() ? "" : ", ") + k;
      throw Error(detail::concat("config ", source, ": unknown key \"", key, "\" (valid keys: ", valid, ")"));
    }
  }
  RunConfig c;
  read(j, "model", c.model, source);
  read(j, "data", c.data, source);
  read(j, "epochs", c.epochs, source);
  read(j, "batch_size", c.batch_size, source);
  read(j, "lr", c.lr, source);
  read(j, "latent", c.latent, source);
  read(j, "hidden", c.hidden, source);
  read(j, "seed", c.seed, source);
  read(j, "out", c.out, source);
  read(j, "threads", c.threads, source);
  read(j, "limit_train", c.limit_train, source);
  read(j, "log_every", c.log_every, source);
  read(j, "samples", c.samples, source);
  read(j, "clip_grad_norm", c.clip_grad_norm, source);
  read(j, "checkpoint_every", c.checkpoint_every, source);
  read(j, "detect_anomaly", c.detect_anomaly, source);
  read(j, "validation_fraction", c.validation_fraction, source);
  read(j, "arch", c.arch, source);
  read(j, "likelihood", c.likelihood, source);
  read(j, "gaussian_sigma", c.gaussian_sigma, source);
  read(j, "beta", c.beta, source);
  read(j, "capacity_max", c.capacity_max, source);
  read(j, "capacity_steps", c.capacity_steps, source);
  read(j, "capacity_gamma", c.capacity_gamma, source);
  read(j, "kl_warmup", c.kl_warmup, source);
  read(j, "kl_warmup_steps", c.kl_warmup_steps, source);
  read(j, "corruption", c.corruption, source);
  read(j, "noise_sigma", c.noise_sigma, source);
  read(j, "corruption_fraction", c.corruption_fraction, source);
  read(j, "conditional", c.conditional, source);
  read(j, "factor_gamma", c.factor_gamma, source);
  read(j, "discriminator_lr", c.discriminator_lr, source);
  read(j, "discriminator_hidden", c.discriminator_hidden, source);
  read(j, "iw_samples", c.iw_samples, source);
  read(j, "mmd_kernel", c.mmd_kernel, source);
  read(j, "mmd_lambda", c.mmd_lambda, source);
  read(j, "info_alpha", c.info_alpha, source);
  read(j, "codebook_size", c.codebook_size, source);
  read(j, "code_dim", c.code_dim, source);
  read(j, "vq_beta", c.vq_beta, source);
  read(j, "vq_ema", c.vq_ema, source);
  read(j, "vq_decay", c.vq_decay, source);
  read(j, "tc_estimator", c.tc_estimator, source);
  read(j, "mi_alpha", c.mi_alpha, source);
  read(j, "dwkl_gamma", c.dwkl_gamma, source);
  read(j, "alpha", c.alpha, source);
  read(j, "views", c.views, source);
  read(j, "alpha_tc_form", c.alpha_tc_form, source);
  read(j, "dip_type", c.dip_type, source);
  read(j, "lambda_od", c.lambda_od, source);
  read(j, "lambda_d", c.lambda_d, source);
  read(j, "velocity_hidden", c.velocity_hidden, source);
  read(j, "time_features", c.time_features, source);
  read(j, "velocity_net", c.velocity_net, source);
  read(j, "unet_channels", c.unet_channels, source);
  read(j, "p_uncond", c.p_uncond, source);
  read(j, "interpolant", c.interpolant, source);
  read(j, "coupling", c.coupling, source);
  read(j, "sinkhorn_epsilon", c.sinkhorn_epsilon, source);
  read(j, "blocks", c.blocks, source);
  read(j, "step_sizes", c.step_sizes, source);
  read(j, "block_epochs", c.block_epochs, source);
  read(j, "solver", c.solver, source);
  read(j, "solver_steps", c.solver_steps, source);
  read(j, "rtol", c.rtol, source);
  read(j, "atol", c.atol, source);
  read(j, "divergence", c.divergence, source);
  read(j, "latent_of", c.latent_of, source);
  read(j, "pictures_every", c.pictures_every, source);
  read(j, "dequantize", c.dequantize, source);
  return c;
}

RunConfig load_config(const std::string& path) {
  std::ifstream in(path);
  STRATA_CHECK(in, "config: cannot open ", path);
  // A config is flat; deeper nesting is refused while parsing, because printing (and with older
  // nlohmann versions destroying) a value recurses once per level and a crafted file could
  // exhaust the stack.
  constexpr int kMaxDepth = 16;
  const auto limit_depth = [&](int depth, json::parse_event_t, json&) {
    STRATA_CHECK(depth <= kMaxDepth, "config ", path, ": nested deeper than ", kMaxDepth,
                 " levels; a config holds only numbers, strings, booleans and lists of numbers");
    return true;
  };
  json j;
  try {
    j = json::parse(in, limit_depth);
  } catch (const json::exception& e) {
    throw Error(detail::concat("config ", path, ": not valid JSON (", e.what(), ")"));
  }
  return config_from_json(j, path);
}

namespace {
std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

void validate(const RunConfig& c) {
  const std::vector<std::string> models = model_names();
  STRATA_CHECK(std::find(models.begin(), models.end(), c.model) != models.end(), "unknown model \"", c.model,
               "\" (valid: ", joined(models), ")");
  STRATA_CHECK(c.latent_of.empty() || c.model == "fm" || c.model == "lfm", "latent_of (--latent-of ", c.latent_of,
               ") trains a flow on an autoencoder's codes: it needs model fm or lfm, not ", c.model);
  const std::vector<std::string> datasets = dataset_names();
  STRATA_CHECK(std::find(datasets.begin(), datasets.end(), c.data) != datasets.end() || c.data.rfind("tensors:", 0) == 0 ||
                   c.data.rfind("toy:", 0) == 0 || c.data.rfind("csv:", 0) == 0 || c.data.rfind("npy:", 0) == 0,
               "unknown dataset \"", c.data, "\" (valid: ", joined(datasets),
               ", or tensors:FILE.safetensors, toy:NAME, csv:FILE, npy:FILE)");
  STRATA_CHECK(c.validation_fraction >= 0 && c.validation_fraction < 1,
               "validation_fraction must be in [0, 1) (0: validate on the training rows), got ", c.validation_fraction);
  STRATA_CHECK(c.epochs >= 1, "epochs must be at least 1, got ", c.epochs);
  STRATA_CHECK(c.batch_size >= 1, "batch_size must be at least 1, got ", c.batch_size);
  STRATA_CHECK(c.lr > 0 && std::isfinite(c.lr), "lr must be a positive number, got ", c.lr);
  STRATA_CHECK(c.latent >= 1, "latent must be at least 1, got ", c.latent);
  STRATA_CHECK(!c.hidden.empty(), "hidden must list at least one layer width");
  for (int64_t h : c.hidden) STRATA_CHECK(h >= 1, "hidden layer widths must be at least 1, got ", h);
  STRATA_CHECK(!c.out.empty(), "out must name a run folder");
  STRATA_CHECK(c.threads >= 0, "threads must be 0 (all cores) or more, got ", c.threads);
  STRATA_CHECK(c.limit_train >= 0, "limit_train must be 0 (all) or more, got ", c.limit_train);
  STRATA_CHECK(c.log_every >= 1, "log_every must be at least 1, got ", c.log_every);
  STRATA_CHECK(c.clip_grad_norm >= 0 && std::isfinite(c.clip_grad_norm),
               "clip_grad_norm must be 0 (off) or a positive number, got ", c.clip_grad_norm);
  STRATA_CHECK(c.checkpoint_every >= 0, "checkpoint_every must be 0 (epoch ends only) or more, got ",
               c.checkpoint_every);
  STRATA_CHECK(c.samples >= 1 && c.samples <= 1024, "samples must be in 1..1024, got ", c.samples);
  STRATA_CHECK(c.pictures_every >= 0, "pictures_every must be 0 (the last epoch only) or more, got ", c.pictures_every);
  validate_model_settings(c);  // registry.cpp: the autoencoder settings, naming the valid choices
}

}  // namespace strata::training
