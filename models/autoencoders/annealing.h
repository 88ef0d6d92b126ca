// Schedules of the KL term over training steps, usable by every VAE-type model.
//  - KlWarmup: a weight w(step) in [0, 1] multiplying the KL term.
//      linear   (Bowman et al., CoNLL 2016, "Generating Sentences from a Continuous Space", sec. 3.1;
//                Sonderby et al., NeurIPS 2016, "Ladder VAE", sec. 2.3 "warm-up"):
//                w = min(1, step / steps).
//      cyclical (Fu et al., NAACL 2019, "Cyclical Annealing Schedule", eq. 5 with a linear f):
//                tau = (step mod steps) / steps; w = tau / ratio for tau <= ratio, else 1
//                (`steps` is the period T/M, `ratio` the paper's R, 0.5 by default).
//  - Capacity (Burgess et al. 2018, "Understanding disentangling in beta-VAE", eq. 8): the target
//    KL C(step) = max_nats * min(1, step / steps), used as gamma * |KL - C|.
#pragma once

#include <cstdint>
#include <string>

namespace strata::models {

enum class WarmupKind { None, Linear, Cyclical };

// "none", "linear", "cyclical".
std::string warmup_name(WarmupKind kind);
WarmupKind parse_warmup(const std::string& name);

struct KlWarmup {
  WarmupKind kind = WarmupKind::None;
  int64_t steps = 10000;  // linear: steps to reach 1; cyclical: the length of one cycle
  double ratio = 0.5;     // cyclical: fraction of each cycle spent increasing

  double weight(int64_t step) const;
  void validate(const std::string& model) const;
};

struct CapacitySchedule {
  double max_nats = 0;      // 0: off (the plain beta objective)
  int64_t steps = 100000;   // Burgess et al.: 25 nats reached over 100,000 iterations (dSprites)
  double gamma = 1000;      // Burgess et al.'s gamma for dSprites

  bool enabled() const { return max_nats > 0; }
  double capacity(int64_t step) const;
  void validate(const std::string& model) const;
};

}  // namespace strata::models
