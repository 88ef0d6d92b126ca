// Data-parallel gradient averaging, as PyTorch's DistributedDataParallel does it: after each
// backward every rank holds the mean over ranks of its parameters' gradients, so identical
// parameters on every rank stay identical after identical optimizer steps.
//
//   GradientReducer reducer(world(), model.parameters());
//   reducer.broadcast_parameters();   // rank 0's initial values everywhere
//   for (...) {
//     optimizer.zero_grad();
//     reducer.begin_step();
//     loss.backward();                 // buckets start their all-reduce as their gradients arrive
//     reducer.finish_step();           // waits; every .grad() is now the mean over ranks
//     optimizer.step();
//   }
//
// Bucketing and overlap. The parameters are grouped, in reverse order (backward reaches the last
// layers first), into buckets of about bucket_bytes. A post-accumulate-grad hook copies each
// gradient into its bucket as backward produces it; a full bucket starts a non-blocking all-reduce
// while backward computes the rest. Buckets are started strictly in order on every rank, as MPI
// requires of collectives, so a bucket that fills early waits for the ones before it.
//
// A parameter that gets no gradient in a step on some rank (a branch that rank did not take)
// counts as a zero gradient there; every parameter then ends the step with a gradient. One
// backward per step: a second gradient for the same parameter before finish_step() is an error
// (accumulate micro-batches with a plain loop and one reducer step instead).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/autograd.h"
#include "engine/distributed/communicator.h"
#include "engine/tensor.h"

namespace strata::distributed {

struct GradientReducerOptions {
  // Bucket size, DDP's default. For the models here (0.1-5 M parameters) that is one bucket, so no
  // overlap: on one machine with a core per rank, smaller buckets measured slower (W1, 2 ranks:
  // 8.7-9.3k images/s with 1 MiB buckets against 11.1-11.5k with one; docs/distributed.md), since
  // Open MPI advances a non-blocking all-reduce only inside MPI calls and has no spare core to do
  // it on. Over a network with idle cores, smaller buckets let the first all-reduces travel while
  // backward still runs.
  int64_t bucket_bytes = 25 << 20;
};

class GradientReducer {
 public:
  GradientReducer(Communicator& comm, std::vector<Tensor> parameters, GradientReducerOptions options = {});
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Every rank's parameters take root's values; throws when the ranks' parameter counts differ.
  void broadcast_parameters(int root = 0);

  void begin_step();
  void finish_step();

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Parameter indices of bucket b, in the order their gradients are expected.
  const std::vector<int64_t>& bucket_parameters(int64_t b) const { return buckets_.at(static_cast<size_t>(b)).params; }

 private:
  struct Bucket {
    DType dtype = DType::Float32;
    std::vector<int64_t> params;
    Tensor buffer;                    // the bucket's gradients, flat
    std::vector<Tensor> slots;        // views of buffer, one per parameter, in its shape
    int64_t ready = 0;
    std::unique_ptr<PendingReduction> reduction;
  };
  void on_gradient(int64_t param);
  void start_ready_buckets();
  void start(Bucket& bucket);

  Communicator& comm_;
  std::vector<Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<int64_t> bucket_of_;  // parameter -> bucket
  std::vector<int64_t> slot_of_;    // parameter -> slot in its bucket
  std::vector<bool> ready_;         // parameter -> gradient arrived this step
  size_t next_to_start_ = 0;
  bool in_step_ = false;
  std::vector<autograd::PostAccumulateGradHookHandle> hooks_;
};

}  // namespace strata::distributed
