#include "engine/distributed/nccl_communicator.h"

#include <chrono>
#include <exception>
#include <thread>

#include "backends/cuda/cuda_loader.h"
#include "engine/dispatch.h"

namespace strata::distributed {

namespace {

// The plugin's NCCL entry points (backends/cuda/cuda_nccl.cpp).
struct NcclApi {
  int (*unique_id)(unsigned char*, char*, size_t) = nullptr;
  void* (*init)(int, int, int, const unsigned char*, char*, size_t) = nullptr;
  int (*all_reduce_sum)(void*, void*, int64_t, int, char*, size_t) = nullptr;
  int (*broadcast)(void*, void*, int64_t, int, int, char*, size_t) = nullptr;
  int (*query)(void*, char*, size_t) = nullptr;
  void (*abort)(void*) = nullptr;
  void (*destroy)(void*) = nullptr;
  bool complete() const { return unique_id && init && all_reduce_sum && broadcast && query && abort && destroy; }
};

const NcclApi& api() {
  static const NcclApi a = [] {
    NcclApi n;
    n.unique_id = reinterpret_cast<decltype(n.unique_id)>(cuda_plugin::symbol("strata_nccl_unique_id"));
    n.init = reinterpret_cast<decltype(n.init)>(cuda_plugin::symbol("strata_nccl_init"));
    n.all_reduce_sum = reinterpret_cast<decltype(n.all_reduce_sum)>(cuda_plugin::symbol("strata_nccl_all_reduce_sum"));
    n.broadcast = reinterpret_cast<decltype(n.broadcast)>(cuda_plugin::symbol("strata_nccl_broadcast"));
    n.query = reinterpret_cast<decltype(n.query)>(cuda_plugin::symbol("strata_nccl_query"));
    n.abort = reinterpret_cast<decltype(n.abort)>(cuda_plugin::symbol("strata_nccl_abort"));
    n.destroy = reinterpret_cast<decltype(n.destroy)>(cuda_plugin::symbol("strata_nccl_destroy"));
    return n;
  }();
  return a;
}

int dtype_code(DType dtype, const char* op) {
  switch (dtype) {
    case DType::Float32: return 0;
    case DType::Float64: return 1;
    case DType::Int64: return 2;
    case DType::Bool: break;
  }
  throw Error(detail::concat("distributed ", op, ": dtype ", dtype_name(dtype), " is not supported (float32, float64, int64)"));
}

class NcclCommunicator;

class NcclPending final : public PendingReduction {
 public:
  NcclPending(NcclCommunicator& comm, Tensor t, std::string what) : comm_(comm), tensor_(std::move(t)), what_(std::move(what)) {}
  bool test() override;
  void wait() override;

 private:
  NcclCommunicator& comm_;
  Tensor tensor_;  // kept alive while NCCL writes into it
  std::string what_;
  bool done_ = false;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& host, Device device) : host_(host), device_(device) {
    set_timeout_seconds(host.timeout_seconds());
    // Rank 0's id reaches every rank over MPI (16 int64 words hold NCCL's 128 bytes).
    Tensor id = Tensor::empty({16}, DType::Int64, Device::cpu());
    char error[512] = {};
    int failed = 0;
    if (host.rank() == 0) failed = api().unique_id(reinterpret_cast<unsigned char*>(id.raw_data()), error, sizeof error);
    std::vector<double> failures{failed != 0 ? 1.0 : 0.0};
    host.all_reduce_sum(failures);
    STRATA_CHECK(failures[0] == 0, "distributed nccl: rank 0 could not make NCCL's id", failed ? ": " : "",
                 failed ? error : "");
    host.broadcast(id, 0);
    // ncclCommInitRank returns on every rank once all have joined, so a rank whose init failed
    // throws at once with NCCL's reason: the strata command then ends the job (MPI_Abort), which
    // frees the ranks still waiting inside their init (NCCL's bootstrap has no timeout).
    comm_ = api().init(device.index, host.world_size(), host.rank(),
                       reinterpret_cast<const unsigned char*>(id.raw_data()), error, sizeof error);
    STRATA_CHECK(comm_, "distributed nccl: rank ", host.rank(), " on ", device.str(), ": ", error);
  }
  ~NcclCommunicator() override {
    if (!comm_) return;
    // After a failure, or while an exception unwinds the run, the other ranks may never reach
    // their own teardown: abort (which does not wait for them) instead of destroying.
    if (broken_ || std::uncaught_exceptions() > 0) api().abort(comm_);
    api().destroy(comm_);
  }

  int rank() const override { return host_.rank(); }
  int world_size() const override { return host_.world_size(); }
  int local_rank() const override { return host_.local_rank(); }
  int local_world_size() const override { return host_.local_world_size(); }

  void all_reduce_sum(Tensor& t) override { start_all_reduce_sum(t)->wait(); }

  std::unique_ptr<PendingReduction> start_all_reduce_sum(Tensor& t) override {
    if (!on_device(t, "all-reduce")) return host_.start_all_reduce_sum(t);
    char error[512] = {};
    STRATA_CHECK(api().all_reduce_sum(comm_, t.raw_data(), t.numel(), dtype_code(t.dtype(), "all-reduce"), error,
                                      sizeof error) == 0,
                 "distributed all-reduce: ", error);
    return std::make_unique<NcclPending>(*this, t, detail::concat("NCCL all-reduce of ", t.numel(), " ",
                                                                  dtype_name(t.dtype()), " values"));
  }

  void broadcast(Tensor& t, int root) override {
    if (!on_device(t, "broadcast")) return host_.broadcast(t, root);
    STRATA_CHECK(root >= 0 && root < world_size(), "distributed broadcast: root ", root, " is not a rank of a job of ",
                 world_size());
    char error[512] = {};
    STRATA_CHECK(api().broadcast(comm_, t.raw_data(), t.numel(), dtype_code(t.dtype(), "broadcast"), root, error,
                                 sizeof error) == 0,
                 "distributed broadcast: ", error);
    NcclPending(*this, t, detail::concat("NCCL broadcast of ", t.numel(), " values from rank ", root)).wait();
  }

  void all_reduce_sum(std::vector<double>& values) override { host_.all_reduce_sum(values); }
  void barrier() override { host_.barrier(); }
  Device buffer_device(Device device) const override { return device == device_ ? device_ : Device::cpu(); }

  // Polls the device's stream: true once the collective (and all queued before it) has finished.
  bool poll(const std::string& what) {
    char error[512] = {};
    const int state = api().query(comm_, error, sizeof error);
    if (state < 0) {  // NCCL's advice after an asynchronous error: abort the communicator
      broken_ = true;
      api().abort(comm_);
      throw Error(detail::concat("distributed: ", what, " on rank ", rank(), " failed: ", error));
    }
    return state == 1;
  }

  void wait(const std::string& what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto limit = std::chrono::duration<double>(timeout_seconds());
    while (!poll(what)) {
      if (clock::now() - start > limit) {
        broken_ = true;
        api().abort(comm_);
        throw Error(detail::concat("distributed: ", what, " on rank ", rank(), " of ", world_size(),
                                   " did not complete within ", timeout_seconds(),
                                   " s: another rank has died, hung, or is not running the same step"));
      }
      // Spin through a step's waits (milliseconds), then leave the core alone (rank 0 writing pictures).
      if (clock::now() - start < std::chrono::milliseconds(20)) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
  }

 private:
  // Whether `t` goes over NCCL (it is on this communicator's GPU); CPU tensors go over MPI.
  bool on_device(const Tensor& t, const char* op) const {
    STRATA_CHECK(!broken_, "distributed ", op, ": an earlier collective timed out; call distributed::abort()");
    STRATA_CHECK(t.defined() && t.is_contiguous(), "distributed ", op, ": the tensor must be defined and contiguous");
    if (t.device().is_cpu()) return false;
    STRATA_CHECK(t.device() == device_, "distributed ", op, ": the tensor is on ", t.device().str(),
                 " but this process's NCCL communicator is on ", device_.str());
    return true;
  }

  Communicator& host_;
  Device device_;
  void* comm_ = nullptr;
  bool broken_ = false;
};

bool NcclPending::test() {
  if (!done_ && comm_.poll(what_)) {
    done_ = true;
    tensor_.bump_version();
  }
  return done_;
}

void NcclPending::wait() {
  if (done_) return;
  done_ = true;
  comm_.wait(what_);
  tensor_.bump_version();
}

}  // namespace

bool nccl_available() {
  // A device served by a stand-in backend (tests' loopback device) is not a GPU NCCL can use.
  return cuda_is_available() && !cuda_plugin::is_overridden(0) && api().complete();
}

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, Device device) {
  STRATA_CHECK(device.is_cuda(), "distributed nccl: NCCL reduces GPU tensors, not ", device.str());
  STRATA_CHECK(cuda_is_available(), "distributed nccl: no usable GPU (", cuda_unavailable_reason(), ")");
  STRATA_CHECK(!cuda_plugin::is_overridden(device.index), "distributed nccl: ", device.str(),
               " is served by a stand-in backend (a test's loopback device), not a GPU");
  STRATA_CHECK(api().complete(), "distributed nccl: this build's CUDA backend has no NCCL (it was not found when "
                                 "configuring); the GPU tensors can go through MPI on the host instead");
  return std::make_unique<NcclCommunicator>(host, device);
}

}  // namespace strata::distributed
