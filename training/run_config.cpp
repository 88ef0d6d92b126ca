#include "training/run_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
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
              {"samples", c.samples},
              {"arch", c.arch},           {"likelihood", c.likelihood}, {"gaussian_sigma", c.gaussian_sigma},
              {"beta", c.beta},           {"capacity_max", c.capacity_max}, {"capacity_steps", c.capacity_steps},
              {"capacity_gamma", c.capacity_gamma}, {"kl_warmup", c.kl_warmup},
              {"kl_warmup_steps", c.kl_warmup_steps}, {"corruption", c.corruption},
              {"noise_sigma", c.noise_sigma}, {"corruption_fraction", c.corruption_fraction}};
}

namespace {

template <class T>
void read(const json& j, const char* key, T& value, const std::string& source) {
  if (!j.contains(key)) return;
  try {
    value = j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error(detail::concat("config ", source, ": \"", key, "\" has the wrong type (", j.at(key).dump(),
                               "); expected ", to_json(RunConfig{}).at(key).type_name()));
  }
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
  return c;
}

RunConfig load_config(const std::string& path) {
  std::ifstream in(path);
  STRATA_CHECK(in, "config: cannot open ", path);
  json j;
  try {
    in >> j;
  } catch (const json::parse_error& e) {
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
  const std::vector<std::string> datasets = dataset_names();
  STRATA_CHECK(std::find(datasets.begin(), datasets.end(), c.data) != datasets.end() || c.data.rfind("tensors:", 0) == 0,
               "unknown dataset \"", c.data, "\" (valid: ", joined(datasets), ", or tensors:FILE.safetensors)");
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
  STRATA_CHECK(c.samples >= 1 && c.samples <= 1024, "samples must be in 1..1024, got ", c.samples);
  validate_model_settings(c);  // registry.cpp: the autoencoder settings, naming the valid choices
}

}  // namespace strata::training
