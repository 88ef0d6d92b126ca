// Local Flow Matching (Xu, Cheng & Xie 2024, "Local Flow Matching Generative Models",
// arXiv 2410.02548; the method as ../shared/papers/local_flow_matching.md summarises it): instead of
// one flow from noise to data, N = L + 1 small flows ("blocks"), block n carrying p_{n-1} at t = 0
// to p_n at t = 1, where p_0 is the data and p_n follows the Ornstein-Uhlenbeck process
// dX = -X dt + sqrt(2) dW (probability_path.h):
//   blocks n = 1..L:  pairs (x0, OU_{h_n}(x0)), x0 ~ p_{n-1} = data pushed through blocks 1..n-1
//                     (the same x0, fresh OU noise), h_n the n-th step size;
//   block L + 1:      the "free" block, pairs (x0, z), z ~ N(0, I) independent of x0.
// Each block minimises the flow-matching loss E || v_n(I_t, t) - dI_t/dt ||^2 with the linear or the
// trigonometric interpolant (the paper's default), trained in turn: stage n of the training is
// block n, on the data pushed forward through the trained blocks before it, warm-started from
// block n - 1's weights (as the authors' public code does).
//  - sampling: z ~ N(0, I) through block L + 1 backward in time (t: 1 -> 0), then L, ..., then 1;
//  - log p(x) = log N(T(x); 0, I) + sum_n int_0^1 div v_n dt along each block's forward path
//    (T: all blocks forward), the change-of-variables terms of the blocks summed.
// Blocks are numbered from 0 in the code (block 0 is the paper's block 1).
#pragma once

#include <memory>
#include <vector>

#include "models/flows/flow_model.h"
#include "models/flows/probability_path.h"
#include "models/flows/velocity_field.h"

namespace strata::models {

struct LocalFlowMatchingOptions {
  // h_1..h_L of the OU blocks; the notes' 2-D schedule of the public code (about x1.25 per block).
  std::vector<double> step_sizes = {0.025, 0.031, 0.039, 0.049, 0.061, 0.076, 0.095, 0.119};
  Interpolant interpolant = Interpolant::Trig;
  int64_t block_epochs = 1;  // training epochs per block (stage_of_epoch)
  FlowSolverOptions solver = {};
};

class LocalFlowMatching final : public FlowModel {
 public:
  // One velocity field per block: step_sizes.size() + 1 of them, of one architecture (warm starts
  // copy weights between neighbours).
  LocalFlowMatching(std::vector<std::shared_ptr<VelocityField>> blocks, LocalFlowMatchingOptions options = {});

  // The active block's loss on x ~ p_{n-1} (what stage_data(n, data) gives): {"loss", "block"}.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override { return {"loss", "block"}; }
  Tensor to_noise(const Tensor& x) override { return push_forward(x, 0, num_blocks()); }
  Tensor from_noise(const Tensor& z) override { return pull_back(z, 0, num_blocks()); }
  Tensor log_prob(const Tensor& x, Generator* gen = nullptr) override;
  FlowSample from_noise_with_log_prob(const Tensor& z, Generator* gen) override;

  int64_t stage_of_epoch(int64_t epoch) const override;
  void set_stage(int64_t stage, bool starting) override;
  Tensor stage_data(int64_t stage, const Tensor& data) override { return push_forward(data, 0, stage); }

  // Through blocks [first, last) forward in time (data -> noise), and its inverse (blocks last - 1
  // down to first, backward in time). Rows go in fixed chunks, so results do not depend on how many
  // rows a call holds beyond that.
  Tensor push_forward(const Tensor& x, int64_t first, int64_t last);
  Tensor pull_back(const Tensor& z, int64_t first, int64_t last);

  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int64_t active_block() const { return active_; }
  VelocityField& block(int64_t n);
  const LocalFlowMatchingOptions& options() const { return options_; }

  static constexpr int64_t kChunkRows = 4096;

 private:
  Tensor through_blocks(const Tensor& x, int64_t first, int64_t last, bool forward);
  void check_range(int64_t first, int64_t last, const char* method) const;

  std::vector<std::shared_ptr<VelocityField>> blocks_;
  LocalFlowMatchingOptions options_;
  int64_t active_ = 0;
};

}  // namespace strata::models
