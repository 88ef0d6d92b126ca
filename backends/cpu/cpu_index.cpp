// Gathering rows by index (minibatches, embeddings, labels) and the scatter-adds of their backward.
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/dtype_dispatch.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

namespace strata {

namespace {

void check_index(const char* op, int64_t value, int64_t size) {
  STRATA_CHECK(value >= 0 && value < size, op, ": index ", value, " is out of range for a dimension of size ", size);
}

}  // namespace

void CpuBackend::index_select(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                              int64_t n, const View& out) {
  for (int64_t j = 0; j < n; ++j) check_index("index_select", index[j], in_dim);
  const size_t row_bytes = static_cast<size_t>(inner) * dtype_size(in.dtype);
  const char* src = static_cast<const char*>(in.data);
  char* dst = static_cast<char*>(out.data);
  cpu::parallel_for(outer * n, std::max<int64_t>(1, 65536 / std::max<size_t>(row_bytes, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t o = r / n, j = r % n;
      std::memcpy(dst + static_cast<size_t>(r) * row_bytes,
                  src + static_cast<size_t>(o * in_dim + index[j]) * row_bytes, row_bytes);
    }
  });
}

void CpuBackend::index_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                           int64_t n, const View& grad_in) {
  for (int64_t j = 0; j < n; ++j) check_index("index_add", index[j], in_dim);
  cpu::visit_any(grad_out.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw Error("index_add: bool is not supported");
    } else {
      const T* g = grad_out.ptr<T>();
      T* gi = grad_in.ptr<T>();
      // Serial over the index (repeated indices add into the same row), parallel over outer.
      cpu::parallel_for(outer, 1, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o)
          for (int64_t j = 0; j < n; ++j) {
            const T* src = g + (o * n + j) * inner;
            T* dst = gi + (o * in_dim + index[j]) * inner;
            for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
          }
      });
    }
  });
}

void CpuBackend::gather(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
                        const View& out) {
  const int64_t total = outer * n * inner;
  for (int64_t i = 0; i < total; ++i) check_index("gather", index[i], in_dim);
  cpu::visit_any(in.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = in.ptr<T>();
    T* y = out.ptr<T>();
    cpu::parallel_for(total, cpu::kElementwiseGrain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t i = t % inner, o = t / (n * inner);
        y[t] = x[(o * in_dim + index[t]) * inner + i];
      }
    });
  });
}

void CpuBackend::scatter_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                             int64_t n, const View& grad_in) {
  const int64_t total = outer * n * inner;
  for (int64_t i = 0; i < total; ++i) check_index("scatter_add", index[i], in_dim);
  cpu::visit_any(grad_out.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw Error("scatter_add: bool is not supported");
    } else {
      const T* g = grad_out.ptr<T>();
      T* gi = grad_in.ptr<T>();
      for (int64_t t = 0; t < total; ++t) {
        const int64_t i = t % inner, o = t / (n * inner);
        gi[(o * in_dim + index[t]) * inner + i] += g[t];
      }
    }
  });
}

}  // namespace strata
