#include "models/flows/local_flow_matching.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace strata::models {

LocalFlowMatching::LocalFlowMatching(std::vector<std::shared_ptr<VelocityField>> blocks,
                                     LocalFlowMatchingOptions options)
    : FlowModel("LFM", blocks.empty() || !blocks[0] ? 0 : blocks[0]->dim(), options.solver),
      blocks_(std::move(blocks)), options_(std::move(options)) {
  STRATA_CHECK(blocks_.size() == options_.step_sizes.size() + 1, "LFM: ", options_.step_sizes.size(),
               " step sizes need ", options_.step_sizes.size() + 1, " blocks (one per step and the free block), got ",
               blocks_.size());
  for (double h : options_.step_sizes)
    STRATA_CHECK(h > 0 && std::isfinite(h), "LFM: step sizes must be positive numbers, got ", h);
  STRATA_CHECK(options_.block_epochs >= 1, "LFM: block_epochs must be at least 1, got ", options_.block_epochs);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    STRATA_CHECK(blocks_[i] && blocks_[i]->dim() == dim(), "LFM: block ", i, " must be a velocity field on R^", dim());
    register_module("block" + std::to_string(i), blocks_[i]);
  }
}

VelocityField& LocalFlowMatching::block(int64_t n) {
  STRATA_CHECK(n >= 0 && n < num_blocks(), "LFM: block ", n, " does not exist (", num_blocks(), " blocks)");
  return *blocks_[n];
}

int64_t LocalFlowMatching::stage_of_epoch(int64_t epoch) const {
  return std::min(epoch / options_.block_epochs, num_blocks() - 1);
}

void LocalFlowMatching::set_stage(int64_t stage, bool starting) {
  STRATA_CHECK(stage >= 0 && stage < num_blocks(), "LFM: stage ", stage, " does not exist (", num_blocks(), " blocks)");
  active_ = stage;
  if (starting && stage > 0) blocks_[stage]->load_state_dict(blocks_[stage - 1]->state_dict());
}

LossTerms LocalFlowMatching::loss(const Tensor& x, Generator* gen) {
  check_points(x, "loss");
  const int64_t n = x.size(0);
  const bool free_block = active_ == num_blocks() - 1;
  const Tensor x1 = free_block ? randn(x.shape(), {x.dtype(), x.device()}, gen) : ou_step(x, options_.step_sizes[active_], gen);
  const Tensor t = rand({n}, {x.dtype(), x.device()}, gen);
  const PathPoint p = interpolate(options_.interpolant, x, x1, t);
  const Tensor loss = flow_matching_loss(blocks_[active_]->velocity(p.x, t), p.velocity);
  return {{"loss", loss}, {"block", full({}, static_cast<double>(active_), {x.dtype(), x.device()})}};
}

void LocalFlowMatching::check_range(int64_t first, int64_t last, const char* method) const {
  STRATA_CHECK(first >= 0 && first <= last && last <= num_blocks(), "LFM.", method, ": blocks [", first, ", ", last,
               ") are not a range of the ", num_blocks(), " blocks");
}

Tensor LocalFlowMatching::through_blocks(const Tensor& x, int64_t first, int64_t last, bool forward) {
  last_function_evaluations_ = 0;
  if (first == last) return x;
  std::vector<Tensor> chunks;
  for (int64_t start = 0; start < x.size(0); start += kChunkRows) {
    Tensor part = narrow(x, 0, start, std::min(kChunkRows, x.size(0) - start));
    for (int64_t i = 0; i < last - first; ++i) {
      const int64_t b = forward ? first + i : last - 1 - i;
      const TransportResult r = forward ? transport(*blocks_[b], part, 0.0, 1.0, solver().ode)
                                        : transport(*blocks_[b], part, 1.0, 0.0, solver().ode);
      part = r.x;
      last_function_evaluations_ += r.function_evaluations;
    }
    chunks.push_back(part);
  }
  return chunks.size() == 1 ? chunks[0] : cat(chunks, 0);
}

Tensor LocalFlowMatching::push_forward(const Tensor& x, int64_t first, int64_t last) {
  check_points(x, "push_forward");
  check_range(first, last, "push_forward");
  return through_blocks(x, first, last, true);
}

Tensor LocalFlowMatching::pull_back(const Tensor& z, int64_t first, int64_t last) {
  check_points(z, "pull_back");
  check_range(first, last, "pull_back");
  return through_blocks(z, first, last, false);
}

FlowSample LocalFlowMatching::from_noise_with_log_prob(const Tensor& z, Generator* gen) {
  check_points(z, "from_noise_with_log_prob");
  // Blocks last to first, each backward in time (t: 1 -> 0), the density carried along.
  Tensor point = z, log_density = standard_normal_log_density(z);
  int64_t evaluations = 0;
  for (auto b = blocks_.rbegin(); b != blocks_.rend(); ++b) {
    const TransportResult r = transport_with_divergence(**b, point, 1.0, 0.0, solver().ode, solver().divergence, gen);
    point = r.x;
    log_density = sub(log_density, r.divergence_integral);
    evaluations += r.function_evaluations;
  }
  last_function_evaluations_ = evaluations;
  return {point, log_density};
}

Tensor LocalFlowMatching::log_prob(const Tensor& x, Generator* gen) {
  check_points(x, "log_prob");
  Tensor point = x, total = zeros({x.size(0)}, {x.dtype(), x.device()});
  int64_t evaluations = 0;
  for (const auto& b : blocks_) {
    const TransportResult r = transport_with_divergence(*b, point, 0.0, 1.0, solver().ode, solver().divergence, gen);
    point = r.x;
    total = add(total, r.divergence_integral);
    evaluations += r.function_evaluations;
  }
  last_function_evaluations_ = evaluations;
  return add(standard_normal_log_density(point), total);
}

}  // namespace strata::models
