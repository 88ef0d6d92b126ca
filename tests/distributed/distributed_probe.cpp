// A two-rank MPI job that fails on purpose, for tests/distributed/expect_failure.sh: what the
// surviving rank does when the other one hangs, dies, or fails with an error.
//   mpirun -n 2 strata_distributed_probe hang|die|error
//  hang   rank 1 sleeps through the all-reduce: rank 0's 2 s timeout must fire and end the job.
//  die    rank 1 is killed (SIGKILL) before the all-reduce: mpirun must end rank 0 (whose own
//         timeout is set to 120 s, so a quick end is mpirun's doing, not a timeout).
//  error  rank 1 throws a strata::Error: like the strata command, it reports and aborts the job.
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "engine/distributed/communicator.h"
#include "engine/tensor.h"
#include "ops/ops.h"

using namespace strata;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  distributed::Communicator& world = distributed::world();
  try {
    STRATA_CHECK(mode == "hang" || mode == "die" || mode == "error", "probe: unknown mode \"", mode, "\"");
    world.set_timeout_seconds(mode == "hang" ? 2 : 120);
    if (world.rank() == 1) {
      if (mode == "hang") std::this_thread::sleep_for(std::chrono::seconds(60));
      if (mode == "die") std::raise(SIGKILL);
      if (mode == "error") STRATA_CHECK(false, "probe: rank 1 failed on purpose");
    }
    Tensor t = from_vector(std::vector<float>{1, 2, 3}, {3});
    world.all_reduce_sum(t);
    std::printf("probe: rank %d finished, which it should not have\n", world.rank());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "probe: rank %d: %s\n", world.rank(), e.what());
    distributed::abort(3);
  }
}
