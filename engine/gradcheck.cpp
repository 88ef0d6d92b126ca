#include "engine/gradcheck.h"

#include <cmath>
#include <sstream>

#include "engine/autograd.h"
#include "engine/creation.h"

namespace strata {

namespace {

// sum(out * v) in double, read straight from the buffers.
double weighted_sum(const Tensor& out, const std::vector<double>& v) {
  const std::vector<double> values = out.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < values.size(); ++i) s += values[i] * v[i];
  return s;
}

// Offsets (in elements, from data_ptr) of each logical element of a possibly strided tensor.
std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> offsets(static_cast<size_t>(t.numel()));
  const Shape& shape = t.shape();
  const Shape& strides = t.strides();
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t rem = i, off = 0;
    for (size_t d = shape.size(); d-- > 0;) {
      off += (rem % shape[d]) * strides[d];
      rem /= shape[d];
    }
    offsets[i] = off;
  }
  return offsets;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    STRATA_CHECK(inputs[i].dtype() == DType::Float64, "gradcheck: input ", i, " must be float64, got ",
                 dtype_name(inputs[i].dtype()));
    STRATA_CHECK(inputs[i].requires_grad() && inputs[i].is_leaf(), "gradcheck: input ", i,
                 " must be a leaf that requires grad");
  }
  Tensor out = f(inputs);
  STRATA_CHECK(out.dtype() == DType::Float64, "gradcheck: the function must return float64, got ",
               dtype_name(out.dtype()));
  Generator gen(options.seed);
  const Tensor v = randn(out.shape(), {DType::Float64}, &gen);
  const std::vector<double> vv = v.to_vector<double>();

  std::vector<Tensor> analytic = autograd::grad({out}, inputs, {v}, false, true);

  GradcheckResult result;
  NoGradGuard no_grad;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    double* data = x.data_ptr<double>();
    const std::vector<int64_t> offsets = element_offsets(x);
    const std::vector<double> a = analytic[k].defined() ? analytic[k].to_vector<double>()
                                                        : std::vector<double>(offsets.size(), 0.0);
    for (size_t i = 0; i < offsets.size(); ++i) {
      double& xi = data[offsets[i]];
      const double saved = xi;
      xi = saved + options.eps;
      const double plus = weighted_sum(f(inputs), vv);
      xi = saved - options.eps;
      const double minus = weighted_sum(f(inputs), vv);
      xi = saved;
      const double numeric = (plus - minus) / (2 * options.eps);
      const double err = std::abs(a[i] - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (result.ok && !(err <= options.atol + options.rtol * std::abs(numeric))) {
        std::ostringstream msg;
        msg << "gradcheck: input " << k << " (shape " << shape_str(x.shape()) << "), element " << i
            << ": analytic " << a[i] << " vs numeric " << numeric << " (error " << err << ")";
        result.ok = false;
        result.message = msg.str();
      }
    }
  }
  return result;
}

}  // namespace strata
