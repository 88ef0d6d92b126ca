// The processes of a data-parallel job and the collectives between them, on MPI.
//
// A job is started by mpirun (or srun); every process runs the same program and learns its place
// from the MPI environment:
//
//   distributed::Communicator& world = distributed::world();  // initialises MPI on first use
//   world.rank(), world.world_size(), world.local_rank()       // local: among this node's processes
//   world.all_reduce_sum(t);                                    // t <- sum of every rank's t, in place
//   world.broadcast(t, 0);                                      // t <- rank 0's t
//
// Started without mpirun the program is a job of one process (MPI's singleton start), so the same
// code runs unchanged on one machine.
//
// Failure. Every collective waits at most timeout_seconds() (default 600 s, PyTorch's default for
// its process groups is of the same order) for the other ranks; past it, it throws a strata::Error
// that says which collective was stuck and that a rank has died, hung or left the step. A
// communicator that timed out is broken (MPI offers no way to cancel a collective): the process
// should report and call distributed::abort(), which ends every rank of the job (the strata
// command does so for any error once MPI is up, so one failing rank never leaves the others hanging).
//
// MPI moves host memory: a tensor on a GPU is staged through the host (copied out, reduced, copied
// back), which works everywhere but costs two copies; an NCCL communicator reduces GPU memory in
// place (engine/distributed/nccl_communicator.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata::distributed {

// An all-reduce in flight (start_all_reduce_sum). wait() returns once every rank's values are
// summed into the tensor; until then the tensor must not be read or written.
class PendingReduction {
 public:
  virtual ~PendingReduction() = default;
  // Lets the transport advance the collective without blocking; true once it has completed.
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;        // rank among the processes on this node
  virtual int local_world_size() const = 0;  // processes on this node

  // In place: every rank ends with the element-wise sum over ranks. The tensor must be contiguous
  // and of the same shape and dtype on every rank.
  virtual void all_reduce_sum(Tensor& t) = 0;
  virtual std::unique_ptr<PendingReduction> start_all_reduce_sum(Tensor& t) = 0;
  // In place: every rank ends with `root`'s values.
  virtual void broadcast(Tensor& t, int root) = 0;
  // Sums of a few doubles (metrics, counts), in place.
  virtual void all_reduce_sum(std::vector<double>& values) = 0;
  virtual void barrier() = 0;
  // Where buffers for reducing tensors that live on `device` are best kept (the gradient reducer's
  // buckets): host memory for MPI, the GPU itself for NCCL.
  virtual Device buffer_device(Device device) const {
    (void)device;
    return Device::cpu();
  }

  double timeout_seconds() const { return timeout_seconds_; }
  void set_timeout_seconds(double seconds);

 protected:
  double timeout_seconds_ = 600;
};

// In place: each floating-point tensor becomes its mean over ranks (integer tensors are left alone).
// The trainer averages the models' buffers (batch-norm statistics, EMA codebooks) after each step.
void all_reduce_mean(Communicator& comm, const std::vector<Tensor>& tensors);

// The job's communicator (MPI_COMM_WORLD), initialising MPI on first use.
Communicator& world();
// Whether world() has been called in this process (MPI is up).
bool initialized();
// Ends every process of the job with `exit_code` (MPI_Abort) once MPI is up; otherwise exits this
// process. Never returns.
[[noreturn]] void abort(int exit_code);

}  // namespace strata::distributed
