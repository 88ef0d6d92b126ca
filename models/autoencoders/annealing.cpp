#include "models/autoencoders/annealing.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace strata::models {

std::string warmup_name(WarmupKind kind) {
  switch (kind) {
    case WarmupKind::None: return "none";
    case WarmupKind::Linear: return "linear";
    case WarmupKind::Cyclical: return "cyclical";
  }
  return "?";
}

WarmupKind parse_warmup(const std::string& name) {
  for (WarmupKind k : {WarmupKind::None, WarmupKind::Linear, WarmupKind::Cyclical})
    if (warmup_name(k) == name) return k;
  throw Error(detail::concat("unknown KL warm-up \"", name, "\" (valid: none, linear, cyclical)"));
}

double KlWarmup::weight(int64_t step) const {
  step = std::max<int64_t>(step, 0);
  switch (kind) {
    case WarmupKind::None:
      return 1.0;
    case WarmupKind::Linear:
      return std::min(1.0, static_cast<double>(step) / static_cast<double>(steps));
    case WarmupKind::Cyclical: {
      const double tau = static_cast<double>(step % steps) / static_cast<double>(steps);
      return tau <= ratio ? tau / ratio : 1.0;
    }
  }
  return 1.0;
}

void KlWarmup::validate(const std::string& model) const {
  STRATA_CHECK(kind == WarmupKind::None || steps >= 1, model, ": kl_warmup_steps must be >= 1, got ", steps);
  STRATA_CHECK(kind != WarmupKind::Cyclical || (ratio > 0 && ratio <= 1), model,
               ": cyclical KL warm-up ratio must be in (0, 1], got ", ratio);
}

double CapacitySchedule::capacity(int64_t step) const {
  if (!enabled()) return 0.0;
  const double t = static_cast<double>(std::max<int64_t>(step, 0)) / static_cast<double>(steps);
  return max_nats * std::min(1.0, t);
}

void CapacitySchedule::validate(const std::string& model) const {
  STRATA_CHECK(max_nats >= 0 && std::isfinite(max_nats), model, ": capacity_max must be 0 (off) or a positive number of nats, got ",
               max_nats);
  if (!enabled()) return;
  STRATA_CHECK(steps >= 1, model, ": capacity_steps must be >= 1, got ", steps);
  STRATA_CHECK(gamma > 0 && std::isfinite(gamma), model, ": capacity_gamma must be a positive number, got ", gamma);
}

}  // namespace strata::models
