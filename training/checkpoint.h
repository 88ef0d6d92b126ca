// A training checkpoint: everything a run needs to continue exactly where it stopped, in ONE
// safetensors file (so any safetensors reader can inspect it) written atomically:
//
//   model.<name>    the module's parameters and buffers (its state_dict)
//   optim.<key>     the optimizer's state_dict (buffers, step counts, learning rate)
//   aux_optim.<name>.<key>  the state_dict of each named auxiliary optimizer (a model's own, e.g.
//                   FactorVAE's discriminator's), its kind in the metadata "strata.optimizer.<name>"
//   rng.<name>      each named generator as int64 [2]: seed, offset (the bits of the uint64s)
//   loader.<name>   each named data loader's DataLoaderState as int64 [3]: seed, offset, epochs_started
//
// plus string metadata chosen by the caller (epoch, step, best validation loss, the config JSON).
// Metadata keys starting with "strata." are the checkpoint's own (format version, optimizer kind).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "engine/data/loader.h"
#include "engine/io/safetensors.h"
#include "engine/optim/optimizer.h"
#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::training {

using io::Metadata;

// `optimizer` may be null (nothing of it is saved); generators, loaders and auxiliary optimizers
// must not be. Auxiliary optimizer names must be non-empty and free of '.'.
void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                     const optim::Optimizer* optimizer,
                     const std::map<std::string, const Generator*>& generators, const Metadata& metadata,
                     const std::map<std::string, const DataLoader*>& loaders = {},
                     const std::map<std::string, const optim::Optimizer*>& auxiliary_optimizers = {});

// Restores what is passed and returns the caller's metadata. The model must match the checkpoint
// exactly (names, shapes, dtypes). An optimizer, when given, must be of the saved kind over the same
// parameters; when null, the saved optimizer state is ignored (loading weights for evaluation).
// Non-empty generator, loader and auxiliary optimizer maps must name exactly the saved ones; empty
// maps skip them. Everything is validated before anything changes: a failed load leaves every
// object as it was.
Metadata load_checkpoint(const std::filesystem::path& path, nn::Module& model, optim::Optimizer* optimizer,
                         const std::map<std::string, Generator*>& generators,
                         const std::map<std::string, DataLoader*>& loaders = {},
                         const std::map<std::string, optim::Optimizer*>& auxiliary_optimizers = {});

}  // namespace strata::training
