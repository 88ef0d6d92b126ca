#include "training/checkpoint.h"

#include <bit>
#include <tuple>
#include <vector>

#include "engine/creation.h"

namespace strata::training {

namespace {

constexpr const char* kFormatKey = "strata.checkpoint";
constexpr const char* kFormatVersion = "1";
constexpr const char* kOptimizerKey = "strata.optimizer";
constexpr const char* kReservedPrefix = "strata.";

const char* const kModel = "model.";
const char* const kOptim = "optim.";
const char* const kRng = "rng.";
const char* const kLoader = "loader.";
const char* const kAuxOptim = "aux_optim.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// uint64 state round-trips through int64 entries bit for bit (seeds may exceed 2^63).
Tensor int64_entry(const std::vector<uint64_t>& values) {
  std::vector<int64_t> bits;
  for (uint64_t v : values) bits.push_back(std::bit_cast<int64_t>(v));
  return from_vector(bits, {static_cast<int64_t>(bits.size())});
}

// Files load onto the CPU; modules and optimizers on another device need their tensors there.
Tensor on_device(const Tensor& t, Device device) {
  return device.is_cpu() ? t : from_blob(t.raw_data(), t.shape(), t.dtype(), device);
}

class CheckpointFile {
 public:
  explicit CheckpointFile(const std::filesystem::path& path)
      : path_(path), file_(io::load_safetensors(path)) {}

  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw Error(detail::concat("load_checkpoint: '", path_.string(), "': ", parts...));
  }

  Metadata user_metadata() {
    const auto format = file_.metadata.find(kFormatKey);
    if (format == file_.metadata.end())
      fail("not a strata checkpoint (its metadata has no '", kFormatKey, "' entry)");
    if (format->second != kFormatVersion)
      fail("checkpoint format '", format->second, "' is not the one this build reads ('", kFormatVersion,
           "')");
    Metadata out;
    for (const auto& [key, value] : file_.metadata)
      if (!starts_with(key, kReservedPrefix)) out.emplace(key, value);
    return out;
  }

  // Splits the entries by their prefix; a name with none of them is not ours.
  void split() {
    const std::pair<const char*, std::map<std::string, Tensor>*> sections[] = {
        {kModel, &model_}, {kOptim, &optim_}, {kRng, &rng_}, {kLoader, &loader_}, {kAuxOptim, &aux_optim_}};
    for (const auto& [name, t] : file_.tensors) {
      bool placed = false;
      for (const auto& [prefix, section] : sections)
        if (starts_with(name, prefix)) {
          (*section)[name.substr(std::string(prefix).size())] = t;
          placed = true;
          break;
        }
      if (!placed)
        fail("unexpected entry '", name, "' (entries start with ", kModel, ", ", kOptim, ", ", kRng, ", ",
             kLoader, " or ", kAuxOptim, ")");
    }
  }

  // Every difference at once: a user fixing a model definition wants the whole list.
  void check_model(const nn::Module& model) const {
    const nn::StateDict expected = model.state_dict();
    std::vector<std::string> problems, missing, unexpected;
    for (const auto& [name, t] : expected) {
      auto it = model_.find(name);
      if (it == model_.end()) {
        missing.push_back(kModel + name);
        continue;
      }
      const Tensor& saved = it->second;
      if (saved.shape() != t.shape() || saved.dtype() != t.dtype())
        problems.push_back(detail::concat(kModel, name, " is ", dtype_name(saved.dtype()), " ",
                                          shape_str(saved.shape()), " in the checkpoint but ",
                                          dtype_name(t.dtype()), " ", shape_str(t.shape()), " in the model"));
    }
    for (const auto& [name, t] : model_)
      if (!expected.count(name)) unexpected.push_back(kModel + name);
    if (!missing.empty())
      problems.insert(problems.begin(), "missing from the checkpoint: " + join(missing, ", "));
    if (!unexpected.empty()) problems.push_back("not in the model: " + join(unexpected, ", "));
    if (!problems.empty())
      fail("the checkpoint does not match the ", model.type_name(), ": ", join(problems, "; "));
  }

  void check_optimizer(const optim::Optimizer& optimizer) const { check_kind(kOptimizerKey, "optimizer", optimizer); }

  // The state of each named auxiliary optimizer, after checking that the names and kinds match.
  std::map<std::string, optim::OptimizerState> auxiliary_states(
      const std::map<std::string, optim::Optimizer*>& optimizers) const {
    std::map<std::string, optim::OptimizerState> states;
    for (const auto& [entry, t] : aux_optim_) {
      const size_t dot = entry.find('.');
      if (dot == std::string::npos) fail("entry '", kAuxOptim, entry, "' names no auxiliary optimizer key");
      states[entry.substr(0, dot)][entry.substr(dot + 1)] = t;
    }
    std::vector<std::string> missing, unexpected;
    for (const auto& [name, optimizer] : optimizers) {
      if (optimizer == nullptr) fail("auxiliary optimizer '", name, "' is null");
      if (!states.count(name)) missing.push_back(name);
    }
    for (const auto& [name, state] : states)
      if (!optimizers.count(name)) unexpected.push_back(name);
    if (!missing.empty() || !unexpected.empty())
      fail("the auxiliary optimizers do not match the checkpoint:",
           missing.empty() ? "" : " missing from the checkpoint: " + join(missing, ", ") + ";",
           unexpected.empty() ? "" : " in the checkpoint but not given: " + join(unexpected, ", ") + ";");
    for (const auto& [name, optimizer] : optimizers)
      check_kind(std::string(kOptimizerKey) + "." + name, ("auxiliary optimizer '" + name + "'").c_str(), *optimizer);
    return states;
  }

  // Named int64 [width] entries of one section, matched by name against what the caller passed.
  template <class Target>
  std::map<std::string, std::vector<uint64_t>> named_states(const char* prefix, const char* what,
                                                            const std::map<std::string, Target*>& targets,
                                                            const std::map<std::string, Tensor>& section,
                                                            int64_t width) const {
    std::vector<std::string> missing, unexpected;
    for (const auto& [name, target] : targets) {
      if (target == nullptr) fail(what, " '", name, "' is null");
      if (!section.count(name)) missing.push_back(prefix + name);
    }
    for (const auto& [name, t] : section)
      if (!targets.count(name)) unexpected.push_back(prefix + name);
    if (!missing.empty() || !unexpected.empty())
      fail("the ", what, "s do not match the checkpoint:",
           missing.empty() ? "" : " missing from the checkpoint: " + join(missing, ", ") + ";",
           unexpected.empty() ? "" : " in the checkpoint but not given: " + join(unexpected, ", ") + ";");
    std::map<std::string, std::vector<uint64_t>> out;
    for (const auto& [name, entry] : section) {
      const Tensor& t = entry;  // a named type: gcc takes a structured binding here as dependent
      if (t.dtype() != DType::Int64 || t.shape() != Shape{width})
        fail("entry '", prefix, name, "' is ", dtype_name(t.dtype()), " ", shape_str(t.shape()), " but a ",
             what, " state is int64 [", width, "]");
      for (int64_t v : t.to_vector<int64_t>()) out[name].push_back(std::bit_cast<uint64_t>(v));
    }
    return out;
  }

  const std::map<std::string, Tensor>& model() const { return model_; }
  const std::map<std::string, Tensor>& optim() const { return optim_; }
  const std::map<std::string, Tensor>& rng() const { return rng_; }
  const std::map<std::string, Tensor>& loader() const { return loader_; }

 private:
  void check_kind(const std::string& key, const char* what, const optim::Optimizer& optimizer) const {
    const auto kind = file_.metadata.find(key);
    if (kind == file_.metadata.end())
      fail("the checkpoint holds no ", what, " state but optimizer ", optimizer.name(), " was given to restore");
    if (kind->second != optimizer.name())
      fail("the checkpoint holds the ", what, " state of optimizer ", kind->second, " but optimizer ",
           optimizer.name(), " was given to restore");
  }

  std::filesystem::path path_;
  io::SafetensorsFile file_;
  std::map<std::string, Tensor> model_, optim_, rng_, loader_, aux_optim_;
};

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                     const optim::Optimizer* optimizer,
                     const std::map<std::string, const Generator*>& generators, const Metadata& metadata,
                     const std::map<std::string, const DataLoader*>& loaders,
                     const std::map<std::string, const optim::Optimizer*>& auxiliary_optimizers) {
  const std::string where = "save_checkpoint: '" + path.string() + "': ";
  io::TensorMap tensors;
  for (const auto& [name, t] : model.state_dict()) tensors[kModel + name] = t;
  if (optimizer != nullptr)
    for (const auto& [key, t] : optimizer->state_dict()) tensors[kOptim + key] = t;
  for (const auto& [name, aux] : auxiliary_optimizers) {
    STRATA_CHECK(aux != nullptr, where, "auxiliary optimizer '", name, "' is null");
    STRATA_CHECK(!name.empty() && name.find('.') == std::string::npos, where, "auxiliary optimizer name '", name,
                 "' must be non-empty and contain no '.'");
    for (const auto& [key, t] : aux->state_dict()) tensors[kAuxOptim + name + "." + key] = t;
  }
  for (const auto& [name, gen] : generators) {
    STRATA_CHECK(gen != nullptr, where, "generator '", name, "' is null");
    tensors[kRng + name] = int64_entry({gen->seed(), gen->offset()});
  }
  for (const auto& [name, loader] : loaders) {
    STRATA_CHECK(loader != nullptr, where, "data loader '", name, "' is null");
    const DataLoaderState s = loader->state();
    tensors[kLoader + name] = int64_entry({s.seed, s.offset, static_cast<uint64_t>(s.epochs_started)});
  }

  Metadata all = metadata;
  for (const auto& [key, value] : metadata)
    STRATA_CHECK(!starts_with(key, kReservedPrefix), where, "metadata key '", key,
                 "' uses the reserved prefix '", kReservedPrefix, "'");
  all[kFormatKey] = kFormatVersion;
  if (optimizer != nullptr) all[kOptimizerKey] = optimizer->name();
  for (const auto& [name, aux] : auxiliary_optimizers) all[std::string(kOptimizerKey) + "." + name] = aux->name();
  io::save_safetensors(path, tensors, all);
}

Metadata load_checkpoint(const std::filesystem::path& path, nn::Module& model, optim::Optimizer* optimizer,
                         const std::map<std::string, Generator*>& generators,
                         const std::map<std::string, DataLoader*>& loaders,
                         const std::map<std::string, optim::Optimizer*>& auxiliary_optimizers) {
  CheckpointFile file(path);
  Metadata metadata = file.user_metadata();
  file.split();
  file.check_model(model);
  if (optimizer != nullptr) file.check_optimizer(*optimizer);
  std::map<std::string, optim::OptimizerState> aux_states;
  if (!auxiliary_optimizers.empty()) aux_states = file.auxiliary_states(auxiliary_optimizers);
  std::map<std::string, std::vector<uint64_t>> gen_states, loader_states;
  if (!generators.empty()) gen_states = file.named_states(kRng, "generator", generators, file.rng(), 2);
  if (!loaders.empty()) loader_states = file.named_states(kLoader, "data loader", loaders, file.loader(), 3);
  // restore() refuses this too, but only after the model and optimizer would have changed.
  for (const auto& [name, s] : loader_states)
    if (std::bit_cast<int64_t>(s[2]) < 0)
      file.fail("entry '", kLoader, name, "' has a negative epoch count (", std::bit_cast<int64_t>(s[2]),
                ")");

  // Each optimizer checks its state itself before changing anything, so they go first; when a later
  // one refuses, the ones already loaded get their previous state back, and nothing else has changed.
  std::vector<std::tuple<std::string, optim::Optimizer*, optim::OptimizerState>> loads;
  if (optimizer != nullptr) loads.emplace_back("optimizer state", optimizer, file.optim());
  for (const auto& [name, aux] : auxiliary_optimizers)
    loads.emplace_back("auxiliary optimizer '" + name + "' state", aux, aux_states.at(name));
  std::vector<std::pair<optim::Optimizer*, optim::OptimizerState>> previous;
  for (auto& [what, opt, saved] : loads) {
    const Device device = opt->params().front().device();
    optim::OptimizerState state;
    for (const auto& [key, t] : saved) state[key] = on_device(t, device);
    const optim::OptimizerState before = opt->state_dict();
    try {
      opt->load_state_dict(state);
    } catch (const Error& e) {
      for (auto it = previous.rbegin(); it != previous.rend(); ++it) it->first->load_state_dict(it->second);
      file.fail(what, ": ", e.what());
    }
    previous.emplace_back(opt, before);
  }
  nn::StateDict state;
  const nn::StateDict current = model.state_dict();
  for (const auto& [name, t] : file.model()) state[name] = on_device(t, current.at(name).device());
  model.load_state_dict(state);
  for (const auto& [name, s] : gen_states) generators.at(name)->set_state(s[0], s[1]);
  for (const auto& [name, s] : loader_states)
    loaders.at(name)->restore({s[0], s[1], std::bit_cast<int64_t>(s[2])});
  return metadata;
}

}  // namespace strata::training
