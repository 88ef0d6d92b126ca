// Shape operations. Views share storage and only rewrite (shape, strides, offset); their backward
// maps the gradient back to the input's geometry.
#include "ops/shape.h"

#include <algorithm>
#include <numeric>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"

namespace strata {

using detail::backend_of;

namespace {

// Replaces a single -1 by the size that keeps numel, and checks the element count.
Shape infer_shape(const char* op, const Shape& from, const Shape& requested) {
  Shape shape = requested;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      STRATA_CHECK(infer < 0, op, ": only one dim may be -1 in ", shape_str(requested));
      infer = static_cast<int>(i);
    } else {
      STRATA_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", shape_str(requested));
      known *= shape[i];
    }
  }
  const int64_t n = numel_of(from);
  if (infer >= 0) {
    STRATA_CHECK(known != 0 && n % known == 0, op, ": cannot infer the -1 in ", shape_str(requested),
                 " for a tensor of shape ", shape_str(from), " (", n, " elements)");
    shape[infer] = n / known;
  }
  STRATA_CHECK(numel_of(shape) == n, op, ": shape ", shape_str(requested), " (", numel_of(shape),
               " elements) is invalid for a tensor of shape ", shape_str(from), " (", n, " elements)");
  return shape;
}

// A view that records `backward` when x requires grad.
Tensor make_view_op(const char* op, const Tensor& x, const Shape& shape, const Shape& strides, int64_t offset,
                    BackwardFn backward) {
  Tensor out = Tensor::make_view(x, shape, strides, offset);
  if (needs_grad(x)) record(op, out, {&x}, std::move(backward));
  return out;
}

Tensor copy_to_contiguous(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  backend_of(x).copy(x.view(), out.view());
  return out;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  detail::check_defined("view", x, "input");
  const Shape target = infer_shape("view", x.shape(), shape);
  STRATA_CHECK(x.is_contiguous(), "view: tensor of shape ", shape_str(x.shape()), " with strides ",
               shape_str(x.strides()), " is not contiguous; use reshape() (which copies) or contiguous()");
  return make_view_op("view", x, target, contiguous_strides(target), x.offset(),
                      [from = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {reshape(g, from)}; });
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined("reshape", x, "input");
  const Shape target = infer_shape("reshape", x.shape(), shape);
  if (target == x.shape()) return x;
  if (x.is_contiguous()) return view(x, target);
  return view(contiguous(x), target);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  const int s = normalize_dim(start_dim, x.dim(), "flatten"), e = normalize_dim(end_dim, x.dim(), "flatten");
  STRATA_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t merged = 1;
  for (int d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  detail::check_defined("permute", x, "input");
  STRATA_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permute: ", dims.size(),
               " dims given for a tensor of rank ", x.dim());
  Shape shape(dims.size()), strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int d = normalize_dim(dims[i], x.dim(), "permute");
    STRATA_CHECK(inverse[d] < 0, "permute: dim ", dims[i], " appears twice in the permutation");
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  return make_view_op("permute", x, shape, strides, x.offset(),
                      [inverse](const Tensor& g) -> std::vector<Tensor> { return {permute(g, inverse)}; });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  detail::check_defined("transpose", x, "input");
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  if (x.dim() == 0) return x;
  std::swap(dims[normalize_dim(dim0, x.dim(), "transpose")], dims[normalize_dim(dim1, x.dim(), "transpose")]);
  return permute(x, dims);
}

Tensor t(const Tensor& x) {
  STRATA_CHECK(x.dim() <= 2, "t: expects a tensor of rank <= 2, got shape ", shape_str(x.shape()));
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  detail::check_defined("slice", x, "input");
  const int d = normalize_dim(dim, x.dim(), "slice");
  STRATA_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t size = x.shape()[d];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  const int64_t offset = x.offset() + start * x.strides()[d];
  return make_view_op("slice", x, shape, strides, offset,
                      [from = x.shape(), d, start, end, step](const Tensor& g) -> std::vector<Tensor> {
                        Tensor grad = zeros(from, {g.dtype(), g.device()});
                        Tensor window = slice(grad, d, start, end, step);
                        backend_for(g.device()).copy(g.view(), window.view());
                        return {grad};
                      });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  const int d = normalize_dim(dim, x.dim(), "narrow");
  const int64_t size = x.shape()[d];
  if (start < 0) start += size;
  STRATA_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: [", start, ", ", start + length,
               ") is out of range for dim ", dim, " of size ", size, " in shape ", shape_str(x.shape()));
  return slice(x, d, start, start + length);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  const int d = normalize_dim(dim, x.dim(), "select");
  const int64_t size = x.shape()[d];
  STRATA_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for dim ", dim,
               " of size ", size);
  if (index < 0) index += size;
  return squeeze(slice(x, d, index, index + 1), d);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  detail::check_defined("expand", x, "input");
  const int64_t nd = static_cast<int64_t>(shape.size()), shift = nd - x.dim();
  STRATA_CHECK(shift >= 0, "expand: cannot expand shape ", shape_str(x.shape()), " to fewer dims ", shape_str(shape));
  Shape out_shape(nd), strides(nd);
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t src = d - shift;
    const int64_t size = src >= 0 ? x.shape()[src] : 1;
    const int64_t want = shape[d] == -1 ? size : shape[d];
    STRATA_CHECK(shape[d] != -1 || src >= 0, "expand: -1 is not allowed for the new leading dim ", d);
    STRATA_CHECK(want >= 0, "expand: invalid size ", shape[d], " in ", shape_str(shape));
    STRATA_CHECK(size == want || size == 1, "expand: shape ", shape_str(x.shape()), " cannot be expanded to ",
                 shape_str(shape), " (dim ", d, ": ", size, " vs ", want, ")");
    out_shape[d] = want;
    strides[d] = (src >= 0 && size == want) ? x.strides()[src] : 0;
  }
  if (out_shape == x.shape()) return x;
  return make_view_op("expand", x, out_shape, strides, x.offset(),
                      [from = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {sum_to(g, from)}; });
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }

Tensor squeeze(const Tensor& x) {
  detail::check_defined("squeeze", x, "input");
  Shape shape, strides;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (x.shape()[d] != 1) shape.push_back(x.shape()[d]), strides.push_back(x.strides()[d]);
  if (shape.size() == x.shape().size()) return x;
  return make_view_op("squeeze", x, shape, strides, x.offset(),
                      [from = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {reshape(g, from)}; });
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  detail::check_defined("squeeze", x, "input");
  if (x.dim() == 0) return x;
  const int d = normalize_dim(dim, x.dim(), "squeeze");
  if (x.shape()[d] != 1) return x;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view_op("squeeze", x, shape, strides, x.offset(),
                      [from = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {reshape(g, from)}; });
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  detail::check_defined("unsqueeze", x, "input");
  const int d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  const int64_t stride = d < x.dim() ? x.strides()[d] * x.shape()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view_op("unsqueeze", x, shape, strides, x.offset(),
                      [from = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {reshape(g, from)}; });
}

Tensor contiguous(const Tensor& x) {
  detail::check_defined("contiguous", x, "input");
  if (x.is_contiguous()) return x;
  return clone(x);
}

Tensor clone(const Tensor& x) {
  detail::check_defined("clone", x, "input");
  Tensor out = copy_to_contiguous(x);
  if (needs_grad(x)) record("clone", out, {&x}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  detail::check_defined("to_device", x, "input");
  if (x.device() == device) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);  // throws naming the device when it is not available
  copy_across_devices(x, out);
  if (needs_grad(x)) {
    record("to_device", out, {&x}, [from = x.device()](const Tensor& g) -> std::vector<Tensor> {
      return {to_device(g, from)};
    });
  }
  return out;
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  STRATA_CHECK(!xs.empty(), "cat: expects at least one tensor");
  const Tensor& first = xs[0];
  detail::check_defined("cat", first, "tensor 0");
  STRATA_CHECK(first.dim() > 0, "cat: zero-dim tensors cannot be concatenated; use stack()");
  const int d = normalize_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    detail::check_defined("cat", xs[i], "a tensor");
    STRATA_CHECK(xs[i].dim() == first.dim(), "cat: tensor ", i, " has shape ", shape_str(xs[i].shape()),
                 " but tensor 0 has shape ", shape_str(first.shape()));
    detail::check_same_dtype("cat", first, xs[i]);
    common_device("cat", {&first, &xs[i]});
    for (int64_t k = 0; k < first.dim(); ++k)
      STRATA_CHECK(k == d || xs[i].shape()[k] == first.shape()[k], "cat: tensor ", i, " has shape ",
                   shape_str(xs[i].shape()), " but tensor 0 has shape ", shape_str(first.shape()),
                   " (sizes must match except in dim ", dim, ")");
    total += xs[i].shape()[d];
  }
  shape[d] = total;
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const Tensor& x : xs) {
    const int64_t n = x.shape()[d];
    Shape s = shape;
    s[d] = n;
    const Tensor window = Tensor::make_view(out, s, out.strides(), at * out.strides()[d]);
    backend_of(x).copy(x.view(), window.view());
    sizes.push_back(n);
    at += n;
  }
  bool any = false;
  for (const Tensor& x : xs) any = any || needs_grad(x);
  if (any) {
    std::vector<const Tensor*> inputs;
    for (const Tensor& x : xs) inputs.push_back(&x);
    record("cat", out, inputs, [sizes, d](const Tensor& g) -> std::vector<Tensor> {
      std::vector<Tensor> grads;
      int64_t start = 0;
      for (int64_t n : sizes) {
        grads.push_back(narrow(g, d, start, n));
        start += n;
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  STRATA_CHECK(!xs.empty(), "stack: expects at least one tensor");
  const int d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t i = 0; i < xs.size(); ++i) {
    STRATA_CHECK(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ", shape_str(xs[i].shape()),
                 " but tensor 0 has shape ", shape_str(xs[0].shape()));
    expanded.push_back(unsqueeze(xs[i], d));
  }
  return cat(expanded, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  STRATA_CHECK(split_size > 0, "split: split_size must be positive, got ", split_size);
  const int d = normalize_dim(dim, x.dim(), "split");
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < x.shape()[d]; start += split_size)
    parts.push_back(narrow(x, d, start, std::min(split_size, x.shape()[d] - start)));
  return parts;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  STRATA_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  const int d = normalize_dim(dim, x.dim(), "chunk");
  return split(x, std::max<int64_t>(1, (x.shape()[d] + chunks - 1) / chunks), d);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_defined("index_select", x, "input");
  detail::check_defined("index_select", index, "index");
  STRATA_CHECK(index.dtype() == DType::Int64 && index.dim() <= 1, "index_select: index must be a 1-D int64 tensor, got ",
               dtype_name(index.dtype()), " with shape ", shape_str(index.shape()));
  common_device("index_select", {&x, &index});
  STRATA_CHECK(x.dim() > 0, "index_select: the input must have at least one dim, got a zero-dim tensor");
  const int d = normalize_dim(dim, x.dim(), "index_select");
  const Tensor xc = contiguous(x), ic = contiguous(index);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  Shape shape = x.shape();
  shape[d] = index.numel();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  backend_of(x).index_select(xc.view(), outer, x.shape()[d], inner, ic.data_ptr<int64_t>(), index.numel(), out.view());
  if (needs_grad(x)) {
    record("index_select", out, {&x},
           [from = x.shape(), si = SavedTensor(ic), outer, inner, d](const Tensor& g) -> std::vector<Tensor> {
             Tensor grad = zeros(from, {g.dtype(), g.device()});
             const Tensor gc = contiguous(g);
             const Tensor& idx = si.get();
             backend_for(g.device()).index_add(gc.view(), outer, from[d], inner, idx.data_ptr<int64_t>(),
                                               idx.numel(), grad.view());
             return {grad};
           });
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  detail::check_defined("gather", x, "input");
  detail::check_defined("gather", index, "index");
  STRATA_CHECK(index.dtype() == DType::Int64, "gather: index must be int64, got ", dtype_name(index.dtype()));
  STRATA_CHECK(index.dim() == x.dim(), "gather: index of shape ", shape_str(index.shape()),
               " must have the rank of the input ", shape_str(x.shape()));
  common_device("gather", {&x, &index});
  const int d = normalize_dim(dim, x.dim(), "gather");
  for (int64_t k = 0; k < x.dim(); ++k)
    STRATA_CHECK(k == d || index.shape()[k] == x.shape()[k], "gather: index shape ", shape_str(index.shape()),
                 " must match input shape ", shape_str(x.shape()), " except in dim ", dim);
  const Tensor xc = contiguous(x), ic = contiguous(index);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  const int64_t n = x.dim() == 0 ? 1 : index.shape()[d];
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  backend_of(x).gather(xc.view(), outer, x.dim() == 0 ? 1 : x.shape()[d], inner, ic.data_ptr<int64_t>(), n,
                       out.view());
  if (needs_grad(x)) {
    record("gather", out, {&x},
           [from = x.shape(), si = SavedTensor(ic), outer, inner, n, d](const Tensor& g) -> std::vector<Tensor> {
             Tensor grad = zeros(from, {g.dtype(), g.device()});
             const Tensor gc = contiguous(g);
             backend_for(g.device()).scatter_add(gc.view(), outer, from.empty() ? 1 : from[d], inner,
                                                 si.get().data_ptr<int64_t>(), n, grad.view());
             return {grad};
           });
  }
  return out;
}

Tensor one_hot(const Tensor& index, int64_t num_classes, DType dtype) {
  detail::check_defined("one_hot", index, "index");
  STRATA_CHECK(index.dtype() == DType::Int64, "one_hot: index must be int64, got ", dtype_name(index.dtype()));
  STRATA_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
  Shape shape = index.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, {dtype, index.device()});
  Tensor ones_src = ones(index.shape(), {dtype, index.device()});
  const Tensor ic = contiguous(index);
  for (int64_t c : ic.to_vector<int64_t>())
    STRATA_CHECK(c >= 0 && c < num_classes, "one_hot: class index ", c, " is out of range for ", num_classes,
                 " classes");
  backend_of(index).scatter_add(ones_src.view(), index.numel(), num_classes, 1, ic.data_ptr<int64_t>(), 1, out.view());
  return out;
}

}  // namespace strata
