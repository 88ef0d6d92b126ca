#include "engine/creation.h"

#include <cmath>
#include <cstring>

#include "backends/philox.h"
#include "engine/dispatch.h"

namespace strata {

Tensor empty(const Shape& shape, TensorOptions opt) { return Tensor::empty(shape, opt.dtype, opt.device); }

Tensor full(const Shape& shape, double value, TensorOptions opt) {
  Tensor t = Tensor::empty(shape, opt.dtype, opt.device);
  backend_for(opt.device).fill(t.view(), value);
  return t;
}

Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {t.dtype(), t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {t.dtype(), t.device()}); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, {t.dtype(), t.device()}); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), {t.dtype(), t.device()}); }
Tensor scalar_tensor(double value, TensorOptions opt) { return full({}, value, opt); }

namespace {

// Fills a new tensor from host-computed doubles (creation helpers are not hot paths).
Tensor from_doubles(const std::vector<double>& values, const Shape& shape, TensorOptions opt) {
  Tensor host = from_vector(values, shape, Device::cpu());
  if (opt.dtype == DType::Float64 && opt.device.is_cpu()) return host;
  Tensor cast = Tensor::empty(shape, opt.dtype, Device::cpu());
  backend_for(Device::cpu()).copy(host.view(), cast.view());
  if (opt.device.is_cpu()) return cast;
  return from_blob(cast.raw_data(), shape, opt.dtype, opt.device);
}

}  // namespace

Tensor arange(double start, double end, double step, TensorOptions opt) {
  STRATA_CHECK(step != 0, "arange: step must be non-zero");
  STRATA_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step),
               "arange: start, end and step must be finite (got ", start, ", ", end, ", ", step, ")");
  const double count = std::ceil((end - start) / step);
  const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
  return from_doubles(values, {n}, opt);
}

Tensor arange(double end, TensorOptions opt) { return arange(0.0, end, 1.0, opt); }

Tensor linspace(double start, double end, int64_t steps, TensorOptions opt) {
  STRATA_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
  std::vector<double> values(static_cast<size_t>(steps));
  const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends so the last value is exactly `end`, as NumPy does; the first half rounds
  // up so that a single step gives `start`.
  for (int64_t i = 0; i < steps; ++i)
    values[i] = i < (steps + 1) / 2 ? start + delta * static_cast<double>(i)
                              : end - delta * static_cast<double>(steps - 1 - i);
  return from_doubles(values, {steps}, opt);
}

Tensor eye(int64_t n, TensorOptions opt) {
  STRATA_CHECK(n >= 0, "eye: n must be non-negative, got ", n);
  std::vector<double> values(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) values[i * n + i] = 1.0;
  return from_doubles(values, {n, n}, opt);
}

Tensor from_blob(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  const size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(dtype);
  if (nbytes) backend_for(device).copy_from_host(data, t.raw_data(), nbytes);
  return t;
}

namespace {
template <class T>
Tensor from_vector_impl(const std::vector<T>& values, const Shape& shape, Device device) {
  STRATA_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
               " values do not fill shape ", shape_str(shape), " (", numel_of(shape), " elements)");
  return from_blob(values.data(), shape, dtype_of<T>(), device);
}
}  // namespace

Tensor from_vector(const std::vector<float>& v, const Shape& s, Device d) { return from_vector_impl(v, s, d); }
Tensor from_vector(const std::vector<double>& v, const Shape& s, Device d) { return from_vector_impl(v, s, d); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s, Device d) { return from_vector_impl(v, s, d); }

Tensor uniform(const Shape& shape, double low, double high, TensorOptions opt, Generator* gen) {
  STRATA_CHECK(is_floating(opt.dtype), "uniform: dtype must be floating point, got ", dtype_name(opt.dtype));
  STRATA_CHECK(low <= high, "uniform: low (", low, ") must not exceed high (", high, ")");
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, opt.dtype, opt.device);
  const uint64_t offset = g.advance(static_cast<uint64_t>(t.numel()));
  backend_for(opt.device).random_uniform(t.view(), g.seed(), offset, low, high);
  return t;
}

Tensor normal(const Shape& shape, double mean, double stddev, TensorOptions opt, Generator* gen) {
  STRATA_CHECK(is_floating(opt.dtype), "normal: dtype must be floating point, got ", dtype_name(opt.dtype));
  STRATA_CHECK(stddev >= 0, "normal: stddev must be non-negative, got ", stddev);
  Generator& g = gen ? *gen : default_generator();
  Tensor t = Tensor::empty(shape, opt.dtype, opt.device);
  const uint64_t offset = g.advance(static_cast<uint64_t>(t.numel()));
  backend_for(opt.device).random_normal(t.view(), g.seed(), offset, mean, stddev);
  return t;
}

Tensor rand(const Shape& shape, TensorOptions opt, Generator* gen) { return uniform(shape, 0.0, 1.0, opt, gen); }
Tensor randn(const Shape& shape, TensorOptions opt, Generator* gen) { return normal(shape, 0.0, 1.0, opt, gen); }

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt, Generator* gen) {
  STRATA_CHECK(low < high, "randint: low (", low, ") must be less than high (", high, ")");
  Generator& g = gen ? *gen : default_generator();
  Tensor ints = Tensor::empty(shape, DType::Int64, opt.device);
  const uint64_t offset = g.advance(static_cast<uint64_t>(ints.numel()));
  backend_for(opt.device).random_int(ints.view(), g.seed(), offset, low, high);
  if (opt.dtype == DType::Int64) return ints;
  Tensor out = Tensor::empty(shape, opt.dtype, opt.device);
  backend_for(opt.device).copy(ints.view(), out.view());
  return out;
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  STRATA_CHECK(is_floating(p.dtype()), "bernoulli: probabilities must be floating point, got ",
               dtype_name(p.dtype()));
  Backend& be = backend_for(p.device());
  Tensor u = rand(p.shape(), {p.dtype(), p.device()}, gen);
  Tensor mask = Tensor::empty(p.shape(), DType::Bool, p.device());
  be.binary(BinaryOp::Lt, u.view(), p.view(), mask.view(), 0.0);
  Tensor out = Tensor::empty(p.shape(), p.dtype(), p.device());
  be.copy(mask.view(), out.view());
  return out;
}

Tensor bernoulli(const Shape& shape, double p, TensorOptions opt, Generator* gen) {
  STRATA_CHECK(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got ", p);
  return bernoulli(full(shape, p, opt), gen);
}

Tensor randperm(int64_t n, Generator* gen) {
  STRATA_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  Generator& g = gen ? *gen : default_generator();
  const uint64_t offset = g.advance(static_cast<uint64_t>(n));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  // Fisher-Yates with the i-th uniform of this draw choosing the swap partner of position i.
  for (int64_t i = n - 1; i > 0; --i) {
    const double u = philox::uniform(g.seed(), offset, static_cast<uint64_t>(i));
    const int64_t j = std::min<int64_t>(static_cast<int64_t>(u * static_cast<double>(i + 1)), i);
    std::swap(perm[i], perm[j]);
  }
  return from_vector(perm, {n});
}

}  // namespace strata
