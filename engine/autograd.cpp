#include "engine/autograd.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <cmath>
#include <unordered_set>

#include "engine/dispatch.h"

namespace strata {

namespace {

thread_local bool grad_mode_enabled = true;
thread_local bool anomaly_mode_enabled = false;

// A node built from an op's backward lambda.
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, BackwardFn fn) : Node(name), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const Tensor& grad_output) override {
    STRATA_CHECK(fn_, "backward: the graph through '", name(),
                 "' was already freed by an earlier backward; pass retain_graph=true to the first call");
    return fn_(grad_output);
  }
  void release() override { fn_ = nullptr; }

 private:
  BackwardFn fn_;
};

// The sink of a leaf's gradient. It holds the leaf weakly: the leaf owns it, not the reverse.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : Node("accumulate_grad"), leaf_(leaf) {}
  std::vector<Tensor> apply(const Tensor& grad) override;
  const std::weak_ptr<TensorImpl>& leaf() const { return leaf_; }

  uint64_t add_hook(autograd::PostAccumulateGradHook hook) {
    hooks_.push_back({++last_hook_id_, std::move(hook)});
    return last_hook_id_;
  }
  void remove_hook(uint64_t id) {
    std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
  }

 private:
  std::weak_ptr<TensorImpl> leaf_;
  std::vector<std::pair<uint64_t, autograd::PostAccumulateGradHook>> hooks_;
  uint64_t last_hook_id_ = 0;
};

// A fresh contiguous copy: gradients that reach .grad() must own their memory, since a backward
// function may hand the same tensor to several inputs.
Tensor contiguous_copy(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  backend_for(t.device()).copy(t.view(), out.view());
  return out;
}

// "NaN" or "Inf" for the first non-finite element of a floating-point tensor, null when all are
// finite (or the tensor holds integers).
template <class T>
const char* first_non_finite(const T* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return std::isnan(p[i]) ? "NaN" : "Inf";
  return nullptr;
}

const char* non_finite_kind(const Tensor& t) {
  if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64) return nullptr;
  if (t.numel() == 0) return nullptr;
  const Tensor c = t.is_contiguous() ? t : contiguous_copy(t);
  const size_t n = static_cast<size_t>(c.numel());
  std::vector<char> host;
  const void* data = c.raw_data();
  if (!c.device().is_cpu()) {
    host.resize(n * dtype_size(c.dtype()));
    backend_for(c.device()).copy_to_host(data, host.data(), host.size());
    data = host.data();
  }
  return c.dtype() == DType::Float32 ? first_non_finite(static_cast<const float*>(data), n)
                                     : first_non_finite(static_cast<const double*>(data), n);
}

std::string input_shapes_text(const Node& node) {
  std::string s;
  for (const Shape& shape : node.input_shapes) s += (s.empty() ? "" : ", ") + shape_str(shape);
  return s;
}

// acc += g, in place (acc owns its memory: it is a gradient buffer of this engine's making).
void add_into(const Tensor& acc, const Tensor& g) {
  backend_for(acc.device()).binary(BinaryOp::Add, acc.view(), g.view(), acc.view(), 0.0);
  acc.bump_version();
}

// Whether `t` is the only handle to a contiguous buffer nobody else sees (no other handle, no
// view), so it can be kept or summed into without a copy. PyTorch's AccumulateGrad steals a
// gradient under the same condition; here it saved W1 a copy of every weight gradient per step.
bool sole_owner_of_buffer(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.storage() && t.storage().use_count() == 1 && t.offset() == 0 &&
         t.is_contiguous() && t.storage()->nbytes() == static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
}

// a + b into a fresh contiguous buffer: one pass, and neither operand (either may be shared) is
// written.
Tensor sum_of(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  backend_for(a.device()).binary(BinaryOp::Add, a.view(), b.view(), out.view(), 0.0);
  return out;
}

// Adds `g` to the gradient slot `acc`: in place when the slot owns its buffer alone, else into a
// fresh buffer.
void accumulate(Tensor& acc, const Tensor& g) {
  if (sole_owner_of_buffer(acc)) {
    add_into(acc, g);
  } else {
    acc = sum_of(acc, g);
  }
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad) {
  std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf) return {};
  if (!leaf->grad.defined()) {
    // `grad` is the engine's only handle when no backward function kept or shared it.
    leaf->grad = sole_owner_of_buffer(grad) ? grad : contiguous_copy(grad);
  } else {
    add_into(leaf->grad, grad);
  }
  if (!hooks_.empty()) {
    const Tensor handle(leaf);
    // A copy: a hook may remove itself (or another) while running.
    const auto hooks = hooks_;
    for (const auto& [id, hook] : hooks) hook(handle);
  }
  return {};
}

const std::shared_ptr<Node>& grad_accumulator(const std::shared_ptr<TensorImpl>& leaf) {
  if (!leaf->grad_accumulator) leaf->grad_accumulator = std::make_shared<AccumulateGrad>(leaf);
  return leaf->grad_accumulator;
}

// The node that receives the gradient of `t`.
std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  return grad_accumulator(t.impl_ptr());
}

Tensor ones_like(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  backend_for(t.device()).fill(out.view(), 1.0);
  return out;
}

// A dense index for the nodes of one backward pass: open addressing over a power-of-two table.
// run_graph's per-node state lives in vectors indexed by it; with four hash maps instead, W5 (a
// five-node graph, 64 elements) spent about a fifth of its allocations on their nodes.
class NodeIndex {
 public:
  // The index of `node` (new nodes get 0, 1, 2, ... in order) and whether it was new.
  std::pair<int, bool> insert(Node* node) {
    if (2 * (count_ + 1) > static_cast<int>(keys_.size())) grow();
    size_t slot = probe(node);
    if (keys_[slot] == node) return {values_[slot], false};
    keys_[slot] = node;
    values_[slot] = count_;
    return {count_++, true};
  }
  // The index of a node already inserted.
  int at(Node* node) const {
    const size_t slot = probe(node);
    STRATA_CHECK(keys_[slot] == node, "backward: internal error, node ", node->name(), " was not discovered");
    return values_[slot];
  }

 private:
  size_t probe(Node* node) const {
    const size_t mask = keys_.size() - 1;
    // Fibonacci hashing: the top bits of address * 2^64 / golden ratio (an address's low bits are
    // its alignment and carry nothing).
    size_t slot = static_cast<size_t>((static_cast<uint64_t>(reinterpret_cast<uintptr_t>(node)) *
                                       0x9E3779B97F4A7C15ull) >> shift_);
    while (keys_[slot] != nullptr && keys_[slot] != node) slot = (slot + 1) & mask;
    return slot;
  }
  void grow() {
    std::vector<Node*> old_keys = std::move(keys_);
    std::vector<int> old_values = std::move(values_);
    const size_t capacity = old_keys.empty() ? 16 : 2 * old_keys.size();
    shift_ = 64 - std::countr_zero(capacity);
    keys_.assign(capacity, nullptr);
    values_.assign(capacity, 0);
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (!old_keys[i]) continue;
      const size_t slot = probe(old_keys[i]);
      keys_[slot] = old_keys[i];
      values_[slot] = old_values[i];
    }
  }

  std::vector<Node*> keys_;
  std::vector<int> values_;
  int shift_ = 64;
  int count_ = 0;
};

// Runs the graph below `roots`. With `captures` (autograd::grad) it records the gradient arriving
// at each captured node, never touches .grad(), and only runs nodes that lead to a capture.
void run_graph(const std::vector<std::shared_ptr<Node>>& roots, const std::vector<Tensor>& root_grads,
               bool retain_graph, const std::vector<Node*>* captures, std::vector<Tensor>* captured) {
  // 1. Discover the graph (iterative DFS), counting each node's consumers and, for captures,
  //    which nodes lead to a captured one (post-order).
  //    Every node gets a dense index, so the per-node state lives in vectors.
  NodeIndex index;
  std::vector<int> pending_consumers;
  std::vector<char> leads_to_capture;
  auto discover = [&](Node* n) {
    const auto [i, fresh] = index.insert(n);
    if (fresh) {
      pending_consumers.push_back(0);
      leads_to_capture.push_back(0);
    }
    return std::pair<int, bool>{i, fresh};
  };
  std::unordered_set<Node*> capture_set;
  if (captures) capture_set.insert(captures->begin(), captures->end());
  {
    std::vector<std::pair<Node*, size_t>> stack;
    for (const auto& r : roots) {
      if (!discover(r.get()).second) continue;
      stack.push_back({r.get(), 0});
      while (!stack.empty()) {
        auto& [node, child] = stack.back();
        if (child < node->next.size()) {
          Node* n = node->next[child++].get();
          if (!n) continue;
          const auto [i, fresh] = discover(n);
          ++pending_consumers[i];
          if (fresh) stack.push_back({n, 0});
        } else {
          bool leads = capture_set.count(node) > 0;
          for (const auto& n : node->next)
            if (n && leads_to_capture[index.at(n.get())]) leads = true;
          leads_to_capture[index.at(node)] = leads;
          stack.pop_back();
        }
      }
    }
  }

  // 2. Kahn's algorithm from the roots: a node runs once every consumer has sent its gradient.
  //    A node's slot in `grads` sums what its consumers send (undefined until one sends one).
  std::vector<Tensor> grads(pending_consumers.size());
  std::vector<Node*> ready;
  std::vector<std::shared_ptr<Node>> keep_alive = roots;
  for (size_t i = 0; i < roots.size(); ++i) {
    Tensor& slot = grads[index.at(roots[i].get())];
    slot = slot.defined() ? sum_of(slot, root_grads[i]) : root_grads[i];
  }
  for (const auto& r : roots)
    if (pending_consumers[index.at(r.get())] == 0 && std::find(ready.begin(), ready.end(), r.get()) == ready.end())
      ready.push_back(r.get());

  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    const int node_index = index.at(node);
    Tensor g = std::move(grads[node_index]);
    grads[node_index] = Tensor();

    if (captures && capture_set.count(node)) {
      for (size_t i = 0; i < captures->size(); ++i)
        if ((*captures)[i] == node) (*captured)[i] = g;
    }
    const bool run = captures ? (leads_to_capture[node_index] && !dynamic_cast<AccumulateGrad*>(node))
                              : true;
    std::vector<Tensor> input_grads;
    if (run && g.defined()) {
      try {
        input_grads = node->apply(g);
      } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind("backward", 0) == 0) throw;
        throw Error(std::string("backward of ") + node->name() + ": " + what);
      }
      if (!retain_graph) node->release();
      STRATA_CHECK(input_grads.empty() || input_grads.size() == node->next.size(), "backward of ",
                   node->name(), ": returned ", input_grads.size(), " gradients for ", node->next.size(),
                   " inputs");
    }
    for (size_t i = 0; i < node->next.size(); ++i) {
      Node* n = node->next[i].get();
      if (!n) continue;
      const int n_index = index.at(n);
      if (i < input_grads.size() && input_grads[i].defined()) {
        const Tensor& gi = input_grads[i];
        STRATA_CHECK(gi.shape() == node->input_shapes[i], "backward of ", node->name(),
                     ": gradient for input ", i, " has shape ", shape_str(gi.shape()), " but the input has shape ",
                     shape_str(node->input_shapes[i]));
        STRATA_CHECK(gi.dtype() == node->input_dtypes[i], "backward of ", node->name(),
                     ": gradient for input ", i, " has dtype ", dtype_name(gi.dtype()),
                     " but the input has dtype ", dtype_name(node->input_dtypes[i]));
        if (anomaly_mode_enabled) {
          if (const char* kind = non_finite_kind(gi))
            throw Error(detail::concat("anomaly: backward of '", node->name(), "' produced ", kind,
                                       " in the gradient for input ", i, " (shape ", shape_str(gi.shape()),
                                       "; inputs of shapes ", input_shapes_text(*node), "; the gradient it received was ",
                                       non_finite_kind(g) ? "already non-finite" : "finite", ")"));
        }
        Tensor& slot = grads[n_index];
        if (!slot.defined()) {
          slot = gi;
        } else {
          accumulate(slot, gi);  // gi may be shared: only the slot's own buffer is written
        }
      }
      if (--pending_consumers[n_index] == 0) ready.push_back(n);
    }
  }
}

}  // namespace

bool GradMode::enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool enabled) { grad_mode_enabled = enabled; }
bool AnomalyMode::enabled() { return anomaly_mode_enabled; }
void AnomalyMode::set_enabled(bool enabled) { anomaly_mode_enabled = enabled; }

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  tensor_ = t.detach();
  version_ = t.storage()->version();
}

const Tensor& SavedTensor::get() const {
  if (tensor_.defined()) {
    const uint64_t now = tensor_.storage()->version();
    STRATA_CHECK(now == version_,
                 "a tensor saved for backward was modified in place afterwards (its storage is at version ",
                 now, ", it was saved at version ", version_,
                 "); clone it before modifying, or modify a copy");
  }
  return tensor_;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

namespace {

// Both record() overloads: the inputs as a span, so the initializer-list form (every op's) needs
// no vector of its own.
void record_node(const char* op, const Tensor& out, std::span<const Tensor* const> inputs, BackwardFn backward) {
  auto node = std::make_shared<FunctionNode>(op, std::move(backward));
  node->next.reserve(inputs.size());
  node->input_shapes.reserve(inputs.size());
  node->input_dtypes.reserve(inputs.size());
  for (const Tensor* t : inputs) {
    node->next.push_back(t->defined() ? gradient_edge(*t) : nullptr);
    node->input_shapes.push_back(t->defined() ? t->shape() : Shape{});
    node->input_dtypes.push_back(t->defined() ? t->dtype() : DType::Float32);
  }
  if (anomaly_mode_enabled) {
    if (const char* kind = non_finite_kind(out))
      throw Error(detail::concat("anomaly: forward of '", op, "' produced ", kind, " in its output of shape ",
                                 shape_str(out.shape()), " (inputs of shapes ", input_shapes_text(*node), ")"));
  }
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

}  // namespace

void record(const char* op, const Tensor& out, std::initializer_list<const Tensor*> inputs,
            BackwardFn backward) {
  record_node(op, out, std::span<const Tensor* const>(inputs.begin(), inputs.size()), std::move(backward));
}

void record(const char* op, const Tensor& out, const std::vector<const Tensor*>& inputs, BackwardFn backward) {
  record_node(op, out, inputs, std::move(backward));
}

namespace autograd {

namespace {
std::vector<Tensor> resolve_grad_outputs(const char* op, const std::vector<Tensor>& outputs,
                                         const std::vector<Tensor>& grad_outputs) {
  STRATA_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), op, ": got ",
               grad_outputs.size(), " output gradients for ", outputs.size(), " outputs");
  std::vector<Tensor> result;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    STRATA_CHECK(out.defined(), op, ": output ", i, " is undefined");
    STRATA_CHECK(out.requires_grad(), op, ": output ", i, " (shape ", shape_str(out.shape()),
                 ") does not require grad and has no grad_fn; did the computation run under NoGradGuard "
                 "or from inputs without requires_grad?");
    if (i < grad_outputs.size() && grad_outputs[i].defined()) {
      const Tensor& g = grad_outputs[i];
      STRATA_CHECK(g.shape() == out.shape(), op, ": gradient of shape ", shape_str(g.shape()),
                   " given for an output of shape ", shape_str(out.shape()));
      STRATA_CHECK(g.dtype() == out.dtype(), op, ": gradient of dtype ", dtype_name(g.dtype()),
                   " given for an output of dtype ", dtype_name(out.dtype()));
      STRATA_CHECK(g.device() == out.device(), op, ": gradient on ", g.device().str(),
                   " given for an output on ", out.device().str());
      result.push_back(g);
    } else {
      STRATA_CHECK(out.numel() == 1, op, ": output ", i, " has shape ", shape_str(out.shape()),
                   "; an implicit gradient exists only for one-element outputs, so pass a gradient of "
                   "that shape");
      result.push_back(ones_like(out));
    }
  }
  return result;
}
}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph) {
  std::vector<Tensor> grads = resolve_grad_outputs("backward", outputs, grad_outputs);
  std::vector<std::shared_ptr<Node>> roots;
  for (const Tensor& out : outputs) roots.push_back(gradient_edge(out));
  NoGradGuard no_grad;  // gradients are computed without recording (no higher-order graphs)
  run_graph(roots, grads, retain_graph, nullptr, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool allow_unused) {
  std::vector<Tensor> grads = resolve_grad_outputs("autograd::grad", outputs, grad_outputs);
  std::vector<std::shared_ptr<Node>> roots;
  for (const Tensor& out : outputs) roots.push_back(gradient_edge(out));
  std::vector<std::shared_ptr<Node>> capture_owners;
  std::vector<Node*> captures;
  for (size_t i = 0; i < inputs.size(); ++i) {
    STRATA_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "autograd::grad: input ", i,
                 " does not require grad");
    capture_owners.push_back(gradient_edge(inputs[i]));
    captures.push_back(capture_owners.back().get());
  }
  std::vector<Tensor> captured(inputs.size());
  {
    NoGradGuard no_grad;
    run_graph(roots, grads, retain_graph, &captures, &captured);
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    STRATA_CHECK(allow_unused || captured[i].defined(), "autograd::grad: input ", i, " (shape ",
                 shape_str(inputs[i].shape()),
                 ") was not used to compute the outputs; pass allow_unused=true to get an undefined gradient");
  return captured;
}

PostAccumulateGradHookHandle::~PostAccumulateGradHookHandle() { remove(); }

PostAccumulateGradHookHandle& PostAccumulateGradHookHandle::operator=(PostAccumulateGradHookHandle&& other) noexcept {
  if (this != &other) {
    remove();
    node_ = std::move(other.node_);
    id_ = other.id_;
    other.node_.reset();
  }
  return *this;
}

void PostAccumulateGradHookHandle::remove() {
  if (const std::shared_ptr<Node> node = node_.lock()) static_cast<AccumulateGrad&>(*node).remove_hook(id_);
  node_.reset();
}

PostAccumulateGradHookHandle register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook) {
  STRATA_CHECK(leaf.defined() && leaf.is_leaf() && leaf.requires_grad(),
               "register_post_accumulate_grad_hook: the tensor must be a leaf that requires grad (a parameter), got ",
               !leaf.defined() ? std::string("an undefined tensor")
                               : detail::concat(leaf.is_leaf() ? "a leaf" : "a non-leaf", " of shape ",
                                                shape_str(leaf.shape()),
                                                leaf.requires_grad() ? "" : " that does not require grad"));
  STRATA_CHECK(hook, "register_post_accumulate_grad_hook: the hook is empty");
  const std::shared_ptr<Node>& node = grad_accumulator(leaf.impl_ptr());
  const uint64_t id = static_cast<AccumulateGrad&>(*node).add_hook(std::move(hook));
  return PostAccumulateGradHookHandle(node, id);
}

}  // namespace autograd
}  // namespace strata
