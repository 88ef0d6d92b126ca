#include "engine/distributed/communicator.h"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "engine/dispatch.h"

namespace strata::distributed {

namespace {

MPI_Datatype mpi_type(DType dtype, const char* op) {
  switch (dtype) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::Bool: break;
  }
  throw Error(detail::concat("distributed ", op, ": dtype ", dtype_name(dtype), " is not supported (float32, float64, int64)"));
}

void check_tensor(const Tensor& t, const char* op) {
  STRATA_CHECK(t.defined(), "distributed ", op, ": the tensor is undefined");
  STRATA_CHECK(t.is_contiguous(), "distributed ", op, ": the tensor of shape ", shape_str(t.shape()),
               " is not contiguous");
  STRATA_CHECK(t.numel() <= INT32_MAX, "distributed ", op, ": ", t.numel(), " elements are more than one MPI call takes");
}

// A host copy of a GPU tensor, for MPI, which moves host memory.
Tensor host_copy(const Tensor& t) {
  Tensor host = Tensor::empty(t.shape(), t.dtype(), Device::cpu());
  copy_across_devices(t, host);
  return host;
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(detail::concat("distributed ", what, ": MPI error: ", std::string(text, static_cast<size_t>(length))));
}

class MpiCommunicator;

// Waits for `request` with the communicator's timeout, polling so that the deadline can be kept:
// a blocking MPI call would wait forever for a rank that hangs.
void wait_for(MPI_Request& request, MpiCommunicator& comm, const std::string& what);

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      int provided = 0;
      // FUNNELED: only the thread that called init talks to MPI; oneTBB's workers never do.
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      owns_mpi_ = true;
    }
    // Errors come back as codes, so they become exceptions that name the collective.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size_);
    check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_), "init");
    MPI_Comm_rank(node_, &local_rank_);
    MPI_Comm_size(node_, &local_world_size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    // A broken communicator has a collective that never finished: finalizing would wait for it.
    if (owns_mpi_ && !finalized && !broken_) {
      MPI_Comm_free(&node_);
      MPI_Finalize();
    }
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  int local_rank() const override { return local_rank_; }
  int local_world_size() const override { return local_world_size_; }

  void all_reduce_sum(Tensor& t) override { start_all_reduce_sum(t)->wait(); }

  std::unique_ptr<PendingReduction> start_all_reduce_sum(Tensor& t) override;

  void broadcast(Tensor& t, int root) override {
    check_usable("broadcast");
    check_tensor(t, "broadcast");
    if (!t.device().is_cpu()) {  // through the host
      Tensor host = host_copy(t);
      broadcast(host, root);
      copy_across_devices(host, t);
      t.bump_version();
      return;
    }
    STRATA_CHECK(root >= 0 && root < world_size_, "distributed broadcast: root ", root, " is not a rank of a job of ",
                 world_size_);
    MPI_Request request;
    check_mpi(MPI_Ibcast(t.raw_data(), static_cast<int>(t.numel()), mpi_type(t.dtype(), "broadcast"), root,
                         MPI_COMM_WORLD, &request),
              "broadcast");
    wait_for(request, *this, detail::concat("broadcast of ", t.numel(), " ", dtype_name(t.dtype()), " values from rank ", root));
    t.bump_version();
  }

  void all_reduce_sum(std::vector<double>& values) override {
    check_usable("all-reduce");
    MPI_Request request;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                             MPI_COMM_WORLD, &request),
              "all-reduce");
    wait_for(request, *this, detail::concat("all-reduce of ", values.size(), " metric values"));
  }

  void barrier() override {
    check_usable("barrier");
    MPI_Request request;
    check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &request), "barrier");
    wait_for(request, *this, "barrier");
  }

  void check_usable(const char* op) const {
    STRATA_CHECK(!broken_, "distributed ", op, ": an earlier collective timed out, so this job's communicator is "
                           "unusable; report the error and call distributed::abort()");
  }
  void mark_broken() { broken_ = true; }

 private:
  int rank_ = 0, world_size_ = 1, local_rank_ = 0, local_world_size_ = 1;
  MPI_Comm node_ = MPI_COMM_NULL;
  bool owns_mpi_ = false;
  bool broken_ = false;
};

void wait_for(MPI_Request& request, MpiCommunicator& comm, const std::string& what) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto limit = std::chrono::duration<double>(comm.timeout_seconds());
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what.c_str());
    if (done) return;
    const auto waited = clock::now() - start;
    if (waited > limit) {
      comm.mark_broken();
      throw Error(detail::concat("distributed: ", what, " on rank ", comm.rank(), " of ", comm.world_size(),
                                 " did not complete within ", comm.timeout_seconds(),
                                 " s: another rank has died, hung, or is not running the same step "
                                 "(raise the limit with --distributed-timeout if a rank is only slow)"));
    }
    // Spin (yielding) through the waits of a step's collectives (milliseconds), then back off so
    // that a long wait (rank 0 writing pictures) leaves the core alone.
    if (waited < std::chrono::milliseconds(20)) {
      std::this_thread::yield();
      continue;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

class MpiPendingReduction final : public PendingReduction {
 public:
  MpiPendingReduction(MpiCommunicator& comm, Tensor t, MPI_Request request)
      : comm_(comm), tensor_(std::move(t)), request_(request) {}
  ~MpiPendingReduction() override {
    if (done_) return;
    // Never leave MPI writing into freed memory: finish (or time out and break the communicator).
    try {
      wait();
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    check_mpi(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "all-reduce");
    if (flag) finished();
    return done_;
  }
  void wait() override {
    if (done_) return;
    done_ = true;  // whatever happens below, the request is not waited for twice
    wait_for(request_, comm_,
             detail::concat("all-reduce of ", tensor_.numel(), " ", dtype_name(tensor_.dtype()), " values"));
    finished();
  }

 private:
  void finished() {
    done_ = true;
    tensor_.bump_version();
  }
  MpiCommunicator& comm_;
  Tensor tensor_;  // keeps the buffer alive while MPI writes into it
  MPI_Request request_;
  bool done_ = false;
};

// A reduction of a GPU tensor through a host copy: the result goes back to the GPU once it is in.
class StagedReduction final : public PendingReduction {
 public:
  StagedReduction(Tensor device_tensor, Tensor host, std::unique_ptr<PendingReduction> inner)
      : device_tensor_(std::move(device_tensor)), host_(std::move(host)), inner_(std::move(inner)) {}
  bool test() override {
    if (!copied_ && inner_->test()) copy_back();
    return copied_;
  }
  void wait() override {
    if (copied_) return;
    inner_->wait();
    copy_back();
  }

 private:
  void copy_back() {
    copied_ = true;
    copy_across_devices(host_, device_tensor_);
    device_tensor_.bump_version();
  }
  Tensor device_tensor_, host_;
  std::unique_ptr<PendingReduction> inner_;
  bool copied_ = false;
};

std::unique_ptr<PendingReduction> MpiCommunicator::start_all_reduce_sum(Tensor& t) {
  check_usable("all-reduce");
  check_tensor(t, "all-reduce");
  if (!t.device().is_cpu()) {
    Tensor host = host_copy(t);
    auto inner = start_all_reduce_sum(host);
    return std::make_unique<StagedReduction>(t, host, std::move(inner));
  }
  MPI_Request request;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), static_cast<int>(t.numel()), mpi_type(t.dtype(), "all-reduce"),
                           MPI_SUM, MPI_COMM_WORLD, &request),
            "all-reduce");
  return std::make_unique<MpiPendingReduction>(*this, t, request);
}

std::unique_ptr<MpiCommunicator>& world_slot() {
  static std::unique_ptr<MpiCommunicator> slot;
  return slot;
}

}  // namespace

void Communicator::set_timeout_seconds(double seconds) {
  STRATA_CHECK(seconds > 0, "distributed: the timeout must be positive, got ", seconds, " s");
  timeout_seconds_ = seconds;
}

void all_reduce_mean(Communicator& comm, const std::vector<Tensor>& tensors) {
  const double inverse_world = 1.0 / comm.world_size();
  for (const Tensor& t : tensors) {
    if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64) continue;
    Tensor values = t.detach();  // the same storage
    comm.all_reduce_sum(values);
    const View all = values.view();
    backend_for(values.device()).unary(UnaryOp::MulScalar, all, all, inverse_world, 0.0);
  }
}

Communicator& world() {
  auto& slot = world_slot();
  if (!slot) slot = std::make_unique<MpiCommunicator>();
  return *slot;
}

bool initialized() { return world_slot() != nullptr; }

void abort(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (initialized()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace strata::distributed
