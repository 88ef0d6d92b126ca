// Reverse-mode automatic differentiation, define-by-run.
//
// Every op that sees an input requiring grad records one Node: the edges to the producers of its
// inputs and a backward function (a lambda written beside the op's forward in ops/) that maps the
// gradient of the op's output to gradients of its inputs. backward() walks the recorded graph from
// the output in reverse topological order, summing gradients that meet at a node and accumulating
// the ones that reach leaves into their .grad(). That is the whole idea; see micrograd for it in a page.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace strata {

// Whether ops record the graph (thread-local; on by default).
class GradMode {
 public:
  static bool enabled();
  static void set_enabled(bool enabled);
};

// Turns graph recording off for its scope (inference, optimizer steps, metric evaluation).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Turns graph recording on for its scope, even inside a NoGradGuard (evaluations that need a
// derivative: divergences of velocity fields, decoder Jacobians).
class GradEnabledGuard {
 public:
  GradEnabledGuard() : previous_(GradMode::enabled()) { GradMode::set_enabled(true); }
  ~GradEnabledGuard() { GradMode::set_enabled(previous_); }
  GradEnabledGuard(const GradEnabledGuard&) = delete;
  GradEnabledGuard& operator=(const GradEnabledGuard&) = delete;

 private:
  bool previous_;
};

// NaN/Inf detection, as PyTorch's anomaly mode (strata train --detect-anomaly). Thread-local and
// off by default: it reads every value an op produces, which costs a pass over memory per op.
// While on, every op that records a graph node checks its forward output, and backward checks
// every gradient a node returns; the first non-finite value throws a strata::Error that names the
// op, forward or backward, and the shapes. Ops run under NoGradGuard record nothing and are not checked.
class AnomalyMode {
 public:
  static bool enabled();
  static void set_enabled(bool enabled);
};

class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool enabled = true) : previous_(AnomalyMode::enabled()) {
    AnomalyMode::set_enabled(enabled);
  }
  ~AnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};

// A tensor kept for the backward pass, with its storage version at the time it was saved: reading
// it after an in-place write to that storage raises an error instead of giving a wrong gradient.
// It keeps a detached handle so that saving an op's own output creates no reference cycle.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  const Tensor& get() const;
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

// One recorded operation (single output) in the graph.
class Node {
 public:
  explicit Node(const char* name) : name_(name) {}
  virtual ~Node() = default;
  const char* name() const { return name_; }

  // Gradients with respect to each input (undefined where an input needs none).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Frees what the node saved; called after backward unless retain_graph.
  virtual void release() {}

  // Producer of each input's gradient: its grad_fn, or a leaf's gradient accumulator; null when
  // that input does not require grad.
  std::vector<std::shared_ptr<Node>> next;
  // Shape and dtype of each input, to check what backward functions return.
  std::vector<Shape> input_shapes;
  std::vector<DType> input_dtypes;

 private:
  const char* name_;
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

// True when grad mode is on and any of the tensors requires grad: the op must call record().
bool needs_grad(std::initializer_list<const Tensor*> inputs);
template <class... Ts>
bool needs_grad(const Ts&... inputs) {
  return needs_grad({&inputs...});
}

// Attaches a backward node to `out` (which becomes a non-leaf that requires grad).
void record(const char* op, const Tensor& out, std::initializer_list<const Tensor*> inputs,
            BackwardFn backward);
void record(const char* op, const Tensor& out, const std::vector<const Tensor*>& inputs, BackwardFn backward);

namespace autograd {

// Gradients of sum(outputs[i] * grad_outputs[i]) with respect to `inputs`, returned instead of
// being accumulated into .grad(). An input the outputs do not depend on gets an undefined tensor
// unless allow_unused is false, in which case that is an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool allow_unused = false);

// What Tensor::backward runs.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph);

// Called with a leaf each time backward has accumulated a gradient into its .grad() (PyTorch's
// register_post_accumulate_grad_hook). The distributed gradient reducer uses it to start the
// all-reduce of a bucket of gradients while backward is still computing the others.
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

// Removes its hook when destroyed (or on remove()); movable, not copyable. It holds the leaf's
// gradient accumulator weakly, so it may outlive the leaf.
class PostAccumulateGradHookHandle {
 public:
  PostAccumulateGradHookHandle() = default;
  PostAccumulateGradHookHandle(std::weak_ptr<Node> node, uint64_t id) : node_(std::move(node)), id_(id) {}
  ~PostAccumulateGradHookHandle();
  PostAccumulateGradHookHandle(PostAccumulateGradHookHandle&& other) noexcept
      : node_(std::move(other.node_)), id_(other.id_) {
    other.node_.reset();
  }
  PostAccumulateGradHookHandle& operator=(PostAccumulateGradHookHandle&& other) noexcept;
  PostAccumulateGradHookHandle(const PostAccumulateGradHookHandle&) = delete;
  PostAccumulateGradHookHandle& operator=(const PostAccumulateGradHookHandle&) = delete;
  void remove();

 private:
  std::weak_ptr<Node> node_;
  uint64_t id_ = 0;
};

// `leaf` must be a leaf that requires grad. Hooks run in the order they were registered, on the
// thread that runs backward; autograd::grad (which leaves .grad() alone) does not run them.
PostAccumulateGradHookHandle register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook);

}  // namespace autograd
}  // namespace strata
