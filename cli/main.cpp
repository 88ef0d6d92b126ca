// The strata command: train, sample, eval and list. It only parses flags; the work lives in
// training/ (trainer.h, run_config.h, registry.h), where the tests can reach it.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "training/registry.h"
#include "training/run_config.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::training;

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Flags override the config file, which overrides the defaults; only flags actually given count.
struct TrainFlags {
  RunConfig values;
  std::string config_file, resume_dir, hidden;
  std::vector<std::pair<std::string, CLI::Option*>> options;
};

void add_train_flags(CLI::App& cmd, TrainFlags& f) {
  RunConfig& v = f.values;
  auto add = [&](const char* flag, const char* key, auto& target, const char* help) {
    f.options.push_back({key, cmd.add_option(flag, target, help)});
  };
  add("--model", "model", v.model, ("model to train (" + joined(model_names()) + ")").c_str());
  add("--data", "data", v.data, "dataset: fashion-mnist, or tensors:FILE.safetensors");
  add("--epochs", "epochs", v.epochs, "epochs to train (default 1)");
  add("--batch-size", "batch_size", v.batch_size, "minibatch size (default 128)");
  add("--lr", "lr", v.lr, "Adam learning rate (default 1e-3)");
  add("--latent", "latent", v.latent, "latent dimensions (default 32)");
  f.options.push_back({"hidden", cmd.add_option("--hidden", f.hidden, "hidden widths, comma separated (default 512,256)")});
  add("--seed", "seed", v.seed, "seed of every random choice (default 0)");
  add("--out", "out", v.out, "run folder (default runs/vae)");
  add("--threads", "threads", v.threads, "CPU threads (default: all cores)");
  add("--limit-train", "limit_train", v.limit_train, "use only the first N training examples");
  add("--log-every", "log_every", v.log_every, "steps between progress lines when not on a terminal");
  add("--samples", "samples", v.samples, "images per sample / reconstruction grid (default 64)");
  cmd.add_option("--config", f.config_file, "JSON file with the same settings (flags override it)");
  cmd.add_option("--resume", f.resume_dir, "continue the run in this folder from its latest checkpoint");
}

std::vector<int64_t> parse_widths(const std::string& text) {
  std::vector<int64_t> widths;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      widths.push_back(std::stoll(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error("--hidden: \"" + text + "\" is not a comma-separated list of widths (e.g. 512,256)");
    }
  }
  return widths;
}

RunConfig resolve(const TrainFlags& f) {
  nlohmann::json j = to_json(f.config_file.empty() ? RunConfig{} : load_config(f.config_file));
  const nlohmann::json given = to_json(f.values);
  for (const auto& [key, option] : f.options) {
    if (option->count() == 0) continue;
    if (key == "hidden") j["hidden"] = parse_widths(f.hidden);
    else j[key] = given.at(key);
  }
  // A run folder named after the model unless one was chosen.
  const bool out_given = std::any_of(f.options.begin(), f.options.end(),
                                     [](const auto& o) { return o.first == "out" && o.second->count() > 0; });
  if (!out_given && f.config_file.empty()) j["out"] = "runs/" + j["model"].get<std::string>();
  RunConfig c = config_from_json(j, f.config_file.empty() ? "flags" : f.config_file);
  validate(c);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strata: train and study autoencoders and flows"};
  app.require_subcommand(1);

  TrainFlags train_flags;
  CLI::App* train_cmd = app.add_subcommand("train", "train a model; with no flags, the W1 VAE on Fashion-MNIST");
  add_train_flags(*train_cmd, train_flags);

  std::string sample_run, sample_out;
  int64_t sample_n = 64;
  uint64_t sample_seed = 0;
  CLI::App* sample_cmd = app.add_subcommand("sample", "draw samples from a trained run into a PNG grid");
  sample_cmd->add_option("--run", sample_run, "run folder")->required();
  sample_cmd->add_option("--n", sample_n, "number of samples (default 64)");
  sample_cmd->add_option("--seed", sample_seed, "seed of the draws (default 0)");
  sample_cmd->add_option("--out", sample_out, "PNG file (default RUN/samples/sample.png)");

  std::string eval_run, eval_which = "best";
  CLI::App* eval_cmd = app.add_subcommand("eval", "validation loss of a trained run");
  eval_cmd->add_option("--run", eval_run, "run folder")->required();
  eval_cmd->add_option("--checkpoint", eval_which, "best or latest (default best)")
      ->check(CLI::IsMember({"best", "latest"}));

  CLI::App* list_cmd = app.add_subcommand("list", "the models and datasets strata knows");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*train_cmd) {
      if (!train_flags.resume_dir.empty()) {
        std::optional<int64_t> epochs;
        for (const auto& [key, option] : train_flags.options) {
          if (option->count() == 0) continue;
          STRATA_CHECK(key == "epochs" || key == "threads" || key == "log_every", "--resume continues a run with its "
                       "own settings; only --epochs, --threads and --log-every may be given with it, not --",
                       key);
          if (key == "epochs") epochs = train_flags.values.epochs;
        }
        TrainOptions options;
        if (train_flags.options.size() && train_flags.values.threads > 0) options.threads = train_flags.values.threads;
        resume_run(train_flags.resume_dir, epochs, options);
      } else {
        train_run(resolve(train_flags), TrainOptions{});
      }
    } else if (*sample_cmd) {
      const std::string path = sample_run_to_png(sample_run, sample_n, sample_seed, sample_out);
      std::printf("wrote %s\n", path.c_str());
    } else if (*eval_cmd) {
      for (const auto& [name, value] : evaluate_run(eval_run, eval_which))
        std::printf("%s %.4f\n", name.c_str(), value);
    } else if (*list_cmd) {
      std::printf("models:\n");
      for (const auto& m : models()) std::printf("  %-16s %s\n", m.name.c_str(), m.description.c_str());
      std::printf("datasets:\n");
      for (const auto& d : datasets()) std::printf("  %-16s %s\n", d.name.c_str(), d.description.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata: %s\n", e.what());
    return 1;
  }
  return 0;
}
