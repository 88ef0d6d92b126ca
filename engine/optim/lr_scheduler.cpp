#include "engine/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace strata::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void LRScheduler::step() { set_epoch(last_epoch_ + 1); }

void LRScheduler::set_epoch(int64_t epoch) {
  STRATA_CHECK(epoch >= 0, "LRScheduler: epoch must be >= 0, got ", epoch);
  last_epoch_ = epoch;
  optimizer_.set_lr(lr_at(epoch));
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  STRATA_CHECK(step_size > 0, "StepLR: step_size must be > 0, got ", step_size);
  STRATA_CHECK(gamma >= 0.0, "StepLR: gamma must be >= 0, got ", gamma);
  set_epoch(0);
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr() * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  STRATA_CHECK(t_max > 0, "CosineAnnealingLR: T_max must be > 0, got ", t_max);
  STRATA_CHECK(eta_min >= 0.0, "CosineAnnealingLR: eta_min must be >= 0, got ", eta_min);
  set_epoch(0);
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr() - eta_min_) * (1.0 + std::cos(phase)) / 2.0;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor,
                           std::shared_ptr<const LRScheduler> after)
    : LRScheduler(optimizer),
      warmup_steps_(warmup_steps),
      start_factor_(start_factor),
      after_(std::move(after)) {
  STRATA_CHECK(warmup_steps > 0, "LinearWarmup: warmup_steps must be > 0, got ", warmup_steps);
  STRATA_CHECK(start_factor > 0.0 && start_factor <= 1.0,
               "LinearWarmup: start_factor must lie in (0, 1], got ", start_factor);
  set_epoch(0);
}

double LinearWarmup::lr_at(int64_t epoch) const {
  if (epoch >= warmup_steps_ && after_) return after_->lr_at(epoch - warmup_steps_);
  const double t = static_cast<double>(std::min(epoch, warmup_steps_)) / static_cast<double>(warmup_steps_);
  return base_lr() * (start_factor_ + (1.0 - start_factor_) * t);
}

}  // namespace strata::optim
