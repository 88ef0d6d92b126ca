// Convolutions, pooling and upsampling: shape checks, the kernel call, and the backward beside it.
#include "ops/conv.h"

#include <array>
#include <cstdint>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata {

using detail::backend_of;

namespace {

std::string pair_str(Pair p) { return detail::concat("(", p[0], ", ", p[1], ")"); }

void check_nchw(const char* op, const Tensor& x) {
  detail::check_defined(op, x, "input");
  detail::check_floating(op, x);
  STRATA_CHECK(x.dim() == 4, op, ": expects an input of shape [N, C, H, W], got ", shape_str(x.shape()));
}

void check_positive(const char* op, const char* what, Pair p) {
  STRATA_CHECK(p[0] > 0 && p[1] > 0, op, ": ", what, " must be positive, got ", pair_str(p));
}

void check_non_negative(const char* op, const char* what, Pair p) {
  STRATA_CHECK(p[0] >= 0 && p[1] >= 0, op, ": ", what, " must be non-negative, got ", pair_str(p));
}

// The output size of a convolution (or pooling) window sweep; throws when the window does not fit.
int64_t sweep_size(const char* op, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                   const char* axis) {
  const int64_t span = dilation * (kernel - 1) + 1;
  STRATA_CHECK(in + 2 * pad >= span, op, ": the kernel spans ", span, " along ", axis, " but the padded input has only ",
               in + 2 * pad, " (size ", in, " + 2 x padding ", pad, ")");
  return (in + 2 * pad - span) / stride + 1;
}

void check_weight_and_bias(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_defined(op, weight, "weight");
  STRATA_CHECK(weight.dim() == 4, op, ": weight must be 4-D, got ", shape_str(weight.shape()));
  detail::check_same_dtype(op, x, weight);
  common_device(op, {&x, &weight, &bias});
  if (bias.defined()) detail::check_same_dtype(op, x, bias);
}

// conv2d keeps the column matrices (im2col) its forward built when the weight needs a gradient and
// they are at most this many times the input, so that the backward does not build them again:
// each im2col ran twice a step, 22.5% of W2's samples in perf (Intel Ice Lake). Kernel 4 with
// stride 2, as in the VAEs' downsampling layers, makes columns four times the input; a 3x3
// stride-1 layer's are nine times, and it rebuilds them rather than holding that until backward.
constexpr int64_t kMaxKeptColumnsPerInput = 4;

// Room for conv2d_columns_size(p) elements of x's dtype on x's device, or an undefined tensor when
// the backend builds no columns for p or they would exceed max_size elements.
Tensor columns_for(const Tensor& x, const Conv2dParams& p, int64_t max_size = INT64_MAX) {
  const int64_t size = backend_of(x).conv2d_columns_size(p);
  return size > 0 && size <= max_size ? Tensor::empty({size}, x.dtype(), x.device()) : Tensor();
}

void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// dL/dbias of an NCHW output gradient: the sum over batch and space.
Tensor bias_grad(const Tensor& g) { return sum(g, {0, 2, 3}); }

// out += bias[c] over an NCHW tensor, in place and without a graph (it is the op's own output).
void add_bias_inplace(const Tensor& out, const Tensor& bias) {
  const Tensor b = contiguous(bias);
  const Shape shape = out.shape();
  const Tensor b4 = Tensor::make_view(b, {1, shape[1], 1, 1}, {0, 1, 0, 0}, b.offset());
  backend_of(out).binary(BinaryOp::Add, out.view(), detail::broadcast_view(b4, shape), out.view(), 0.0);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding, Pair dilation,
              int64_t groups) {
  const char* op = "conv2d";
  check_nchw(op, x);
  check_weight_and_bias(op, x, weight, bias);
  check_positive(op, "stride", stride);
  check_positive(op, "dilation", dilation);
  check_non_negative(op, "padding", padding);
  STRATA_CHECK(groups >= 1, op, ": groups must be at least 1, got ", groups);
  const int64_t cin = x.size(1), cout = weight.size(0);
  STRATA_CHECK(cin % groups == 0 && cout % groups == 0, op, ": groups (", groups, ") must divide both the input channels (",
               cin, ") and the output channels (", cout, ")");
  STRATA_CHECK(weight.size(1) * groups == cin, op, ": weight ", shape_str(weight.shape()), " expects ",
               weight.size(1) * groups, " input channels (", weight.size(1), " per group x ", groups,
               " groups) but the input ", shape_str(x.shape()), " has ", cin);
  STRATA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == cout), op, ": bias must have shape [", cout,
               "], got ", shape_str(bias.defined() ? bias.shape() : Shape{}));
  Conv2dParams p;
  p.batch = x.size(0), p.in_channels = cin, p.in_h = x.size(2), p.in_w = x.size(3);
  p.out_channels = cout, p.kernel_h = weight.size(2), p.kernel_w = weight.size(3);
  p.stride_h = stride[0], p.stride_w = stride[1], p.pad_h = padding[0], p.pad_w = padding[1];
  p.dilation_h = dilation[0], p.dilation_w = dilation[1], p.groups = groups;
  p.out_h = sweep_size(op, p.in_h, p.kernel_h, p.stride_h, p.pad_h, p.dilation_h, "height");
  p.out_w = sweep_size(op, p.in_w, p.kernel_w, p.stride_w, p.pad_w, p.dilation_w, "width");

  const Tensor xc = contiguous(x), wc = contiguous(weight), bc = bias.defined() ? contiguous(bias) : Tensor();
  Tensor out = Tensor::empty({p.batch, cout, p.out_h, p.out_w}, x.dtype(), x.device());
  const bool grad = needs_grad(x, weight, bias);
  // x's im2col matrices, kept for the weight gradient
  const Tensor columns = grad && weight.requires_grad() && out.numel() > 0
                             ? columns_for(x, p, kMaxKeptColumnsPerInput * x.numel())
                             : Tensor();
  if (out.numel() > 0)
    backend_of(x).conv2d_forward(x.dtype(), p, xc.raw_data(), wc.raw_data(), data_or_null(bc), out.raw_data(),
                                 data_or_null(columns));
  if (grad) {
    record(op, out, {&x, &weight, &bias},
           [sx = SavedTensor(xc), sw = SavedTensor(wc), columns, p,
            need = std::array<bool, 3>{x.requires_grad(), weight.requires_grad(), bias.defined() && bias.requires_grad()}](
               const Tensor& g) -> std::vector<Tensor> {
             const Tensor gc = contiguous(g);
             const Tensor& X = sx.get();
             const Tensor& W = sw.get();
             Backend& be = backend_for(g.device());
             Tensor gx, gw, gb;
             if (need[0]) {
               gx = Tensor::empty(X.shape(), X.dtype(), X.device());
               be.conv2d_backward_input(X.dtype(), p, gc.raw_data(), W.raw_data(), gx.raw_data());
             }
             if (need[1]) {  // the kernel sums the bias gradient in the same pass over grad_out
               gw = Tensor::empty(W.shape(), W.dtype(), W.device());
               if (need[2]) gb = Tensor::empty({p.out_channels}, W.dtype(), W.device());
               be.conv2d_backward_weight(X.dtype(), p, X.raw_data(), gc.raw_data(), gw.raw_data(), data_or_null(gb),
                                         data_or_null(columns));
             } else if (need[2]) {
               gb = bias_grad(gc);
             }
             return {gx, gw, gb};
           });
  }
  return out;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Pair stride, Pair padding,
                        Pair output_padding, int64_t groups, Pair dilation) {
  const char* op = "conv_transpose2d";
  check_nchw(op, x);
  check_weight_and_bias(op, x, weight, bias);
  check_positive(op, "stride", stride);
  check_positive(op, "dilation", dilation);
  check_non_negative(op, "padding", padding);
  check_non_negative(op, "output_padding", output_padding);
  STRATA_CHECK(groups >= 1, op, ": groups must be at least 1, got ", groups);
  for (int i = 0; i < 2; ++i)
    STRATA_CHECK(output_padding[i] < std::max(stride[i], dilation[i]), op, ": output_padding ", pair_str(output_padding),
                 " must be smaller than the stride ", pair_str(stride), " or the dilation ", pair_str(dilation));
  const int64_t cin = x.size(1);
  STRATA_CHECK(weight.size(0) == cin, op, ": weight ", shape_str(weight.shape()), " expects ", weight.size(0),
               " input channels but the input ", shape_str(x.shape()), " has ", cin,
               " (the layout is [C_in, C_out / groups, kH, kW])");
  STRATA_CHECK(cin % groups == 0, op, ": groups (", groups, ") must divide the input channels (", cin, ")");
  const int64_t cout = weight.size(1) * groups;
  STRATA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == cout), op, ": bias must have shape [", cout,
               "], got ", shape_str(bias.defined() ? bias.shape() : Shape{}));
  // The adjoint of conv2d from an [N, cout, H_out, W_out] input to x's [N, cin, H, W]: the weight is
  // that conv2d's [cin (its outputs), cout / groups (its inputs per group), kH, kW] as it stands.
  Conv2dParams p;
  p.batch = x.size(0), p.out_channels = cin, p.out_h = x.size(2), p.out_w = x.size(3);
  p.in_channels = cout, p.kernel_h = weight.size(2), p.kernel_w = weight.size(3);
  p.stride_h = stride[0], p.stride_w = stride[1], p.pad_h = padding[0], p.pad_w = padding[1];
  p.dilation_h = dilation[0], p.dilation_w = dilation[1], p.groups = groups;
  p.in_h = (p.out_h - 1) * p.stride_h - 2 * p.pad_h + p.dilation_h * (p.kernel_h - 1) + output_padding[0] + 1;
  p.in_w = (p.out_w - 1) * p.stride_w - 2 * p.pad_w + p.dilation_w * (p.kernel_w - 1) + output_padding[1] + 1;
  STRATA_CHECK(p.in_h > 0 && p.in_w > 0, op, ": input ", shape_str(x.shape()), " with stride ", pair_str(stride),
               " and padding ", pair_str(padding), " gives an empty output (", p.in_h, " x ", p.in_w, ")");

  const Tensor xc = contiguous(x), wc = contiguous(weight);
  Tensor out = Tensor::empty({p.batch, cout, p.in_h, p.in_w}, x.dtype(), x.device());
  if (out.numel() > 0) backend_of(x).conv2d_backward_input(x.dtype(), p, xc.raw_data(), wc.raw_data(), out.raw_data());
  if (bias.defined()) add_bias_inplace(out, bias);
  if (needs_grad(x, weight, bias)) {
    record(op, out, {&x, &weight, &bias},
           [sx = SavedTensor(xc), sw = SavedTensor(wc), p,
            need = std::array<bool, 3>{x.requires_grad(), weight.requires_grad(), bias.defined() && bias.requires_grad()}](
               const Tensor& g) -> std::vector<Tensor> {
             const Tensor gc = contiguous(g);
             const Tensor& X = sx.get();
             const Tensor& W = sw.get();
             Backend& be = backend_for(g.device());
             Tensor gx, gw, gb;
             // Both gradients read g's column matrices: the first pass builds them, the second reuses them.
             const Tensor g_columns = need[0] && need[1] ? columns_for(gc, p) : Tensor();
             if (need[0]) {  // the adjoint of the adjoint: conv2d's forward
               gx = Tensor::empty(X.shape(), X.dtype(), X.device());
               be.conv2d_forward(X.dtype(), p, gc.raw_data(), W.raw_data(), nullptr, gx.raw_data(),
                                 data_or_null(g_columns));
             }
             if (need[1]) {  // conv2d's weight gradient with g as its input and x as its output gradient
               gw = Tensor::empty(W.shape(), W.dtype(), W.device());
               be.conv2d_backward_weight(X.dtype(), p, gc.raw_data(), X.raw_data(), gw.raw_data(), nullptr,
                                         data_or_null(g_columns));
             }
             if (need[2]) gb = bias_grad(gc);
             return {gx, gw, gb};
           });
  }
  return out;
}

namespace {

Pool2dParams pool_params(const char* op, const Tensor& x, Pair kernel, Pair stride, Pair padding) {
  check_nchw(op, x);
  check_positive(op, "kernel size", kernel);
  if (stride[0] == 0 && stride[1] == 0) stride = kernel;
  check_positive(op, "stride", stride);
  check_non_negative(op, "padding", padding);
  STRATA_CHECK(2 * padding[0] <= kernel[0] && 2 * padding[1] <= kernel[1], op, ": padding ", pair_str(padding),
               " must be at most half the kernel size ", pair_str(kernel));
  Pool2dParams p;
  p.batch = x.size(0), p.channels = x.size(1), p.in_h = x.size(2), p.in_w = x.size(3);
  p.kernel_h = kernel[0], p.kernel_w = kernel[1], p.stride_h = stride[0], p.stride_w = stride[1];
  p.pad_h = padding[0], p.pad_w = padding[1];
  p.out_h = sweep_size(op, p.in_h, p.kernel_h, p.stride_h, p.pad_h, 1, "height");
  p.out_w = sweep_size(op, p.in_w, p.kernel_w, p.stride_w, p.pad_w, 1, "width");
  return p;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
  const Pool2dParams p = pool_params("max_pool2d", x, kernel, stride, padding);
  const Tensor xc = contiguous(x);
  Tensor out = Tensor::empty({p.batch, p.channels, p.out_h, p.out_w}, x.dtype(), x.device());
  Tensor indices = Tensor::empty(out.shape(), DType::Int64, x.device());
  backend_of(x).max_pool2d_forward(x.dtype(), p, xc.raw_data(), out.raw_data(), indices.data_ptr<int64_t>());
  if (needs_grad(x)) {
    record("max_pool2d", out, {&x}, [si = SavedTensor(indices), p, shape = x.shape()](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = contiguous(g);
      Tensor gx = Tensor::empty(shape, g.dtype(), g.device());
      backend_for(g.device()).max_pool2d_backward(g.dtype(), p, gc.raw_data(), si.get().data_ptr<int64_t>(), gx.raw_data());
      return {gx};
    });
  }
  return out;
}

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding, bool count_include_pad) {
  Pool2dParams p = pool_params("avg_pool2d", x, kernel, stride, padding);
  p.count_include_pad = count_include_pad;
  const Tensor xc = contiguous(x);
  Tensor out = Tensor::empty({p.batch, p.channels, p.out_h, p.out_w}, x.dtype(), x.device());
  backend_of(x).avg_pool2d_forward(x.dtype(), p, xc.raw_data(), out.raw_data());
  if (needs_grad(x)) {
    record("avg_pool2d", out, {&x}, [p, shape = x.shape()](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = contiguous(g);
      Tensor gx = Tensor::empty(shape, g.dtype(), g.device());
      backend_for(g.device()).avg_pool2d_backward(g.dtype(), p, gc.raw_data(), gx.raw_data());
      return {gx};
    });
  }
  return out;
}

Tensor upsample_nearest2d(const Tensor& x, Pair scale) {
  const char* op = "upsample_nearest2d";
  check_nchw(op, x);
  check_positive(op, "scale", scale);
  const int64_t nc = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  const Tensor xc = contiguous(x);
  Tensor out = Tensor::empty({x.size(0), x.size(1), h * scale[0], w * scale[1]}, x.dtype(), x.device());
  backend_of(x).upsample_nearest2d_forward(x.dtype(), nc, h, w, scale[0], scale[1], xc.raw_data(), out.raw_data());
  if (needs_grad(x)) {
    record(op, out, {&x}, [shape = x.shape(), nc, h, w, scale](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = contiguous(g);
      Tensor gx = Tensor::empty(shape, g.dtype(), g.device());
      backend_for(g.device()).upsample_nearest2d_backward(g.dtype(), nc, h, w, scale[0], scale[1], gc.raw_data(),
                                                         gx.raw_data());
      return {gx};
    });
  }
  return out;
}

}  // namespace strata
