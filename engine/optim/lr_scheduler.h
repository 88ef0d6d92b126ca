// Learning-rate schedules in PyTorch's closed forms (torch.optim.lr_scheduler). A scheduler takes
// the optimizer's learning rate at construction as its base rate, sets the rate for epoch 0 at
// once (as PyTorch's constructors do) and each step() advances one epoch and sets the next rate.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/optim/optimizer.h"

namespace strata::optim {

class LRScheduler {
 public:
  // The optimizer must outlive the scheduler.
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;

  void step();
  int64_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }
  double last_lr() const { return optimizer_.lr(); }
  // Jumps to `epoch` (e.g. when resuming from a checkpoint) and sets that epoch's rate.
  void set_epoch(int64_t epoch);
  // The rate at `epoch` (>= 0).
  virtual double lr_at(int64_t epoch) const = 0;

 private:
  Optimizer& optimizer_;
  double base_lr_;
  int64_t last_epoch_ = 0;
};

// lr = base * gamma ^ floor(epoch / step_size).
class StepLR final : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2 (SGDR, Loshchilov & Hutter
// 2017, eq. 5, without restarts).
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// Linear warm-up from base * start_factor to base over `warmup_steps` epochs (PyTorch's LinearLR
// with end_factor 1), then `after`'s schedule counted from the end of the warm-up (PyTorch's
// SequentialLR with one milestone), or the constant base rate when `after` is null.
class LinearWarmup final : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, double start_factor = 1.0 / 3.0,
               std::shared_ptr<const LRScheduler> after = nullptr);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t warmup_steps_;
  double start_factor_;
  std::shared_ptr<const LRScheduler> after_;
};

}  // namespace strata::optim
