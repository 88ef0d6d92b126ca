#include "engine/distributed/gradient_reducer.h"

#include "engine/dispatch.h"

namespace strata::distributed {

GradientReducer::GradientReducer(Communicator& comm, std::vector<Tensor> parameters, GradientReducerOptions options)
    : comm_(comm), params_(std::move(parameters)) {
  STRATA_CHECK(options.bucket_bytes > 0, "GradientReducer: bucket_bytes must be positive, got ", options.bucket_bytes);
  const auto n = static_cast<int64_t>(params_.size());
  bucket_of_.assign(static_cast<size_t>(n), -1);
  slot_of_.assign(static_cast<size_t>(n), -1);
  ready_.assign(static_cast<size_t>(n), false);
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& p = params_[static_cast<size_t>(i)];
    STRATA_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), "GradientReducer: parameter ", i,
                 " is not a leaf that requires grad");
    STRATA_CHECK(p.device() == params_.front().device(), "GradientReducer: parameter ", i, " (shape ",
                 shape_str(p.shape()), ") is on ", p.device().str(), " but parameter 0 on ",
                 params_.front().device().str(), "; one reducer averages the gradients of one device");
  }
  const Device buckets_on = params_.empty() ? Device::cpu() : comm_.buffer_device(params_.front().device());

  // Reverse parameter order; a new bucket when the dtype changes or the bucket is full.
  std::vector<int64_t> bytes_of_bucket;
  for (int64_t i = n - 1; i >= 0; --i) {
    const Tensor& p = params_[static_cast<size_t>(i)];
    const int64_t bytes = p.numel() * static_cast<int64_t>(dtype_size(p.dtype()));
    const bool fits = !buckets_.empty() && buckets_.back().dtype == p.dtype() &&
                      bytes_of_bucket.back() + bytes <= options.bucket_bytes;
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().dtype = p.dtype();
      bytes_of_bucket.push_back(0);
    }
    buckets_.back().params.push_back(i);
    bytes_of_bucket.back() += bytes;
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& bucket = buckets_[b];
    int64_t total = 0;
    for (int64_t i : bucket.params) total += params_[static_cast<size_t>(i)].numel();
    bucket.buffer = Tensor::empty({total}, bucket.dtype, buckets_on);
    int64_t offset = 0;
    for (size_t s = 0; s < bucket.params.size(); ++s) {
      const int64_t i = bucket.params[s];
      const Shape& shape = params_[static_cast<size_t>(i)].shape();
      bucket.slots.push_back(Tensor::make_view(bucket.buffer, shape, contiguous_strides(shape), offset));
      offset += numel_of(shape);
      bucket_of_[static_cast<size_t>(i)] = static_cast<int64_t>(b);
      slot_of_[static_cast<size_t>(i)] = static_cast<int64_t>(s);
    }
  }
  for (int64_t i = 0; i < n; ++i)
    hooks_.push_back(autograd::register_post_accumulate_grad_hook(params_[static_cast<size_t>(i)],
                                                                  [this, i](const Tensor&) { on_gradient(i); }));
}

void GradientReducer::broadcast_parameters(int root) {
  // Same model on every rank? A different parameter count would pair up the wrong buffers.
  int64_t count = 0;
  for (const Tensor& p : params_) count += p.numel();
  Tensor root_count = Tensor::empty({2}, DType::Int64);
  root_count.data_ptr<int64_t>()[0] = count;
  root_count.data_ptr<int64_t>()[1] = static_cast<int64_t>(params_.size());
  comm_.broadcast(root_count, root);
  const int64_t* expected = root_count.data_ptr<int64_t>();
  std::vector<double> mismatches{expected[0] == count && expected[1] == static_cast<int64_t>(params_.size()) ? 0.0 : 1.0};
  comm_.all_reduce_sum(mismatches);  // every rank learns of a mismatch anywhere, so all of them stop
  STRATA_CHECK(mismatches[0] == 0, "distributed: ", mismatches[0], " rank(s) hold a model other than rank ", root,
               "'s (", expected[1], " tensors, ", expected[0], " values); rank ", comm_.rank(), " has ",
               params_.size(), " tensors, ", count, " values; every rank must build the same model");
  NoGradGuard no_grad;
  for (Tensor& p : params_) {
    Tensor detached = p.detach();  // the same storage, written in place
    comm_.broadcast(detached, root);
  }
}

void GradientReducer::begin_step() {
  STRATA_CHECK(!in_step_, "GradientReducer: begin_step() twice without finish_step()");
  for (Bucket& b : buckets_) b.ready = 0;
  ready_.assign(ready_.size(), false);
  next_to_start_ = 0;
  in_step_ = true;
}

void GradientReducer::on_gradient(int64_t param) {
  if (!in_step_) return;  // a backward outside the training step (none is averaged)
  const auto i = static_cast<size_t>(param);
  const Tensor& p = params_[i];
  STRATA_CHECK(!ready_[i], "distributed: parameter ", param, " (shape ", shape_str(p.shape()),
               ") received a second gradient in one step; the gradient reducer expects one backward per step");
  ready_[i] = true;
  Bucket& bucket = buckets_[static_cast<size_t>(bucket_of_[i])];
  // A GPU gradient and its slot are on different devices when MPI reduces host copies.
  copy_across_devices(p.grad(), bucket.slots[static_cast<size_t>(slot_of_[i])]);
  ++bucket.ready;
  if (bucket.ready == static_cast<int64_t>(bucket.params.size())) start_ready_buckets();
  // MPI advances non-blocking collectives only inside MPI calls: poke the ones in flight.
  for (size_t b = 0; b < next_to_start_; ++b) buckets_[b].reduction->test();
}

void GradientReducer::start(Bucket& bucket) { bucket.reduction = comm_.start_all_reduce_sum(bucket.buffer); }

void GradientReducer::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() &&
         buckets_[next_to_start_].ready == static_cast<int64_t>(buckets_[next_to_start_].params.size()))
    start(buckets_[next_to_start_++]);
}

void GradientReducer::finish_step() {
  STRATA_CHECK(in_step_, "GradientReducer: finish_step() without begin_step()");
  in_step_ = false;
  // Parameters without a gradient here contribute zeros; then every remaining bucket starts, in order.
  for (size_t i = 0; i < params_.size(); ++i) {
    if (ready_[i]) continue;
    Bucket& bucket = buckets_[static_cast<size_t>(bucket_of_[i])];
    const Tensor& slot = bucket.slots[static_cast<size_t>(slot_of_[i])];
    backend_for(slot.device()).fill(slot.view(), 0.0);
    ++bucket.ready;
  }
  while (next_to_start_ < buckets_.size()) start(buckets_[next_to_start_++]);

  const double inverse_world = 1.0 / comm_.world_size();
  NoGradGuard no_grad;
  for (Bucket& bucket : buckets_) {
    bucket.reduction->wait();
    bucket.reduction.reset();
    const View all = bucket.buffer.view();
    backend_for(bucket.buffer.device()).unary(UnaryOp::MulScalar, all, all, inverse_world, 0.0);
    for (size_t s = 0; s < bucket.params.size(); ++s) {
      Tensor& p = params_[static_cast<size_t>(bucket.params[s])];
      Tensor grad = p.grad();
      if (!grad.defined()) {
        grad = Tensor::empty(p.shape(), p.dtype(), p.device());
        p.set_grad(grad);
      }
      copy_across_devices(bucket.slots[s], grad);
      grad.bump_version();
    }
  }
}

}  // namespace strata::distributed
