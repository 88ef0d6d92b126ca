// Gathering rows by index (minibatches, embeddings, labels) and the scatter-adds of their backward,
// on the GPU. Semantics are the CPU backend's (backends/cpu/cpu_index.cpp).
//
// index_select and gather are plain gathers, one thread per output element.
//
// index_add and scatter_add are scatters, where several sources may add into one destination.
// Rather than atomicAdd (whose float sums change from run to run), they sort the sources by
// destination with a stable radix sort (cub) and let the first source of each run of equal
// destinations add the whole run, in source order. That is the order the CPU's serial loops add in,
// so the result is deterministic and bit for bit the CPU's. The sort costs O(n) extra memory from
// the workspace (n = the index length for index_add, the number of sources for scatter_add).
//
// Index errors: every index is checked on the device against in_dim and the first bad one is
// reported through the kernel error slot; the host raises it after the launches, with the same
// message as the CPU. Kernels skip bad indices so nothing is read or written out of bounds. As on
// the CPU, the indices are checked before the dtype (a bool index_add with a bad index reports the
// index), and index_select checks all n indices even when the tensor itself is empty.
#include <algorithm>

#include <cub/device/device_radix_sort.cuh>

#include "backends/cuda/cuda_kernels.cuh"

namespace strata {

namespace {

using cuda::blocks_for;
using cuda::kThreads;
using cuda::report_kernel_error;
using KernelError = CudaBackend::KernelError;

__device__ inline bool in_range(int64_t k, int64_t size) { return k >= 0 && k < size; }

__global__ void check_index_kernel(int64_t n, const int64_t* index, int64_t in_dim, KernelError* error) {
  STRATA_GRID_STRIDE_LOOP(j, n) {
    if (!in_range(index[j], in_dim)) report_kernel_error(error, KernelError::kIndexOutOfRange, index[j], in_dim);
  }
}

// out[o, j, i] = in[o, index[j], i]; indices were checked by check_index_kernel, bad ones are skipped.
template <class T>
__global__ void index_select_kernel(int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                                    int64_t n, const T* in, T* out) {
  const int64_t total = outer * n * inner;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t i = t % inner, j = (t / inner) % n, o = t / (inner * n);
    const int64_t k = index[j];
    if (in_range(k, in_dim)) out[t] = in[(o * in_dim + k) * inner + i];
  }
}

// out[o, j, i] = in[o, index[o, j, i], i]; every index is read here, so this kernel checks them.
template <class T>
__global__ void gather_kernel(int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
                              const T* in, T* out, KernelError* error) {
  const int64_t total = outer * n * inner;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t i = t % inner, o = t / (n * inner);
    const int64_t k = index[t];
    if (!in_range(k, in_dim)) {
      report_kernel_error(error, KernelError::kIndexOutOfRange, k, in_dim);
      continue;
    }
    out[t] = in[(o * in_dim + k) * inner + i];
  }
}

// --- deterministic scatter-add by sorting sources on their destination ---

// index_add: sort key of source row j is its destination row index[j] (a bad index gets the
// sentinel in_dim, past every good key); the value is j.
__global__ void index_add_keys_kernel(int64_t n, const int64_t* index, int64_t in_dim, uint64_t* keys,
                                      int64_t* sources, KernelError* error) {
  STRATA_GRID_STRIDE_LOOP(j, n) {
    const int64_t k = index[j];
    const bool ok = in_range(k, in_dim);
    if (!ok) report_kernel_error(error, KernelError::kIndexOutOfRange, k, in_dim);
    keys[j] = ok ? static_cast<uint64_t>(k) : static_cast<uint64_t>(in_dim);
    sources[j] = j;
  }
}

// scatter_add: sort key of source t is its destination element (o * in_dim + index[t]) * inner + i
// (a bad index gets the sentinel `limit`, the destination's size); the value is t.
__global__ void scatter_add_keys_kernel(int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                                        int64_t n, uint64_t* keys, int64_t* sources, KernelError* error) {
  const int64_t total = outer * n * inner, limit = outer * in_dim * inner;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t i = t % inner, o = t / (n * inner);
    const int64_t k = index[t];
    const bool ok = in_range(k, in_dim);
    if (!ok) report_kernel_error(error, KernelError::kIndexOutOfRange, k, in_dim);
    keys[t] = static_cast<uint64_t>(ok ? (o * in_dim + k) * inner + i : limit);
    sources[t] = t;
  }
}

// True when sorted position q starts a run of equal keys: that thread adds the whole run.
__device__ inline bool starts_run(const uint64_t* keys, int64_t q) {
  return q == 0 || keys[q - 1] != keys[q];
}

// grad_in[o, k, i] += grad_out[o, j, i] for the sorted rows j of each destination row k, with one
// thread per (o, sorted position, i) so that a run's threads read consecutive i.
template <class T>
__global__ void index_add_kernel(int64_t outer, int64_t in_dim, int64_t inner, int64_t n,
                                 const uint64_t* keys, const int64_t* sources, const T* grad_out,
                                 T* grad_in) {
  const int64_t total = outer * n * inner;
  STRATA_GRID_STRIDE_LOOP(t, total) {
    const int64_t i = t % inner, q = (t / inner) % n, o = t / (inner * n);
    const uint64_t k = keys[q];
    if (k >= static_cast<uint64_t>(in_dim) || !starts_run(keys, q)) continue;
    T* dst = grad_in + (o * in_dim + static_cast<int64_t>(k)) * inner + i;
    T acc = *dst;
    for (int64_t r = q; r < n && keys[r] == k; ++r) acc += grad_out[(o * n + sources[r]) * inner + i];
    *dst = acc;
  }
}

// grad_in[key] += grad_out[t] for the sorted sources t of each destination element.
template <class T>
__global__ void scatter_add_kernel(int64_t total, uint64_t limit, const uint64_t* keys,
                                   const int64_t* sources, const T* grad_out, T* grad_in) {
  STRATA_GRID_STRIDE_LOOP(q, total) {
    const uint64_t k = keys[q];
    if (k >= limit || !starts_run(keys, q)) continue;
    T acc = grad_in[k];
    for (int64_t r = q; r < total && keys[r] == k; ++r) acc += grad_out[sources[r]];
    grad_in[k] = acc;
  }
}

// The sort's buffers, carved from the backend's workspace: keys and source positions, unsorted and
// sorted, then cub's scratch. Keys are below 2^end_bit, so the sort only looks at those bits.
struct SortBuffers {
  uint64_t *keys, *sorted_keys;
  int64_t *sources, *sorted_sources;
  void* scratch;
  size_t scratch_bytes;
  int64_t count;
  int end_bit;
};

size_t align_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

SortBuffers sort_buffers(CudaBackend& be, int64_t count, uint64_t max_key, const char* op) {
  SortBuffers s{};
  s.count = count;
  s.end_bit = 1;  // the bits the keys span (std::bit_width, which the files' C++17 lacks)
  while (s.end_bit < 64 && (max_key >> s.end_bit) != 0) ++s.end_bit;
  cuda::check(cub::DeviceRadixSort::SortPairs(nullptr, s.scratch_bytes, s.keys, s.sorted_keys, s.sources,
                                              s.sorted_sources, count, 0, s.end_bit, be.stream()),
              op);
  const size_t array = align_up(static_cast<size_t>(count) * 8);
  char* base = static_cast<char*>(be.workspace(4 * array + s.scratch_bytes));
  s.keys = reinterpret_cast<uint64_t*>(base);
  s.sorted_keys = reinterpret_cast<uint64_t*>(base + array);
  s.sources = reinterpret_cast<int64_t*>(base + 2 * array);
  s.sorted_sources = reinterpret_cast<int64_t*>(base + 3 * array);
  s.scratch = base + 4 * array;
  return s;
}

// Stable: equal destinations keep their sources in increasing order.
void sort_by_destination(const CudaBackend& be, SortBuffers& s, const char* op) {
  cuda::check(cub::DeviceRadixSort::SortPairs(s.scratch, s.scratch_bytes, s.keys, s.sorted_keys, s.sources,
                                              s.sorted_sources, s.count, 0, s.end_bit, be.stream()),
              op);
}

}  // namespace

void CudaBackend::index_select(const View& in, int64_t outer, int64_t in_dim, int64_t inner,
                               const int64_t* index, int64_t n, const View& out) {
  const char* op = "index_select";
  activate();
  if (n == 0) return;
  reset_kernel_error();
  check_index_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(n, index, in_dim, kernel_error_slot());
  check_launch(op);
  const int64_t total = outer * n * inner;
  if (total > 0) {
    cuda::visit_any(in.dtype, [&](auto tag) {
      using T = decltype(tag);
      index_select_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(outer, in_dim, inner, index, n,
                                                                           in.ptr<T>(), out.ptr<T>());
      check_launch(op);
    });
  }
  raise_kernel_error(op);
}

void CudaBackend::gather(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index,
                         int64_t n, const View& out) {
  const char* op = "gather";
  activate();
  const int64_t total = outer * n * inner;
  if (total == 0) return;
  reset_kernel_error();
  cuda::visit_any(in.dtype, [&](auto tag) {
    using T = decltype(tag);
    gather_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        outer, in_dim, inner, index, n, in.ptr<T>(), out.ptr<T>(), kernel_error_slot());
    check_launch(op);
  });
  raise_kernel_error(op);
}

void CudaBackend::index_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner,
                            const int64_t* index, int64_t n, const View& grad_in) {
  const char* op = "index_add";
  activate();
  if (n == 0) {  // nothing to check or add, but bool is refused even then, as on the CPU
    STRATA_CHECK(grad_out.dtype != DType::Bool, "index_add: bool is not supported");
    return;
  }
  reset_kernel_error();
  SortBuffers s = sort_buffers(*this, n, static_cast<uint64_t>(std::max<int64_t>(in_dim, 0)), op);
  index_add_keys_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(n, index, in_dim, s.keys, s.sources,
                                                                  kernel_error_slot());
  check_launch(op);
  const int64_t total = outer * n * inner;
  cuda::visit_any(grad_out.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      raise_kernel_error(op);  // a bad index is reported first, as on the CPU
      throw Error("index_add: bool is not supported");
    } else {
      if (total == 0) return;
      sort_by_destination(*this, s, op);
      index_add_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
          outer, in_dim, inner, n, s.sorted_keys, s.sorted_sources, grad_out.ptr<T>(), grad_in.ptr<T>());
      check_launch(op);
    }
  });
  raise_kernel_error(op);
}

void CudaBackend::scatter_add(const View& grad_out, int64_t outer, int64_t in_dim, int64_t inner,
                              const int64_t* index, int64_t n, const View& grad_in) {
  const char* op = "scatter_add";
  activate();
  const int64_t total = outer * n * inner;
  if (total == 0) {
    STRATA_CHECK(grad_out.dtype != DType::Bool, "scatter_add: bool is not supported");
    return;
  }
  const int64_t limit =
      outer * std::max<int64_t>(in_dim, 0) * inner;  // the destination's size: the sentinel key
  reset_kernel_error();
  SortBuffers s = sort_buffers(*this, total, static_cast<uint64_t>(limit), op);
  scatter_add_keys_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(
      outer, in_dim, inner, index, n, s.keys, s.sources, kernel_error_slot());
  check_launch(op);
  cuda::visit_any(grad_out.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      raise_kernel_error(op);
      throw Error("scatter_add: bool is not supported");
    } else {
      sort_by_destination(*this, s, op);
      scatter_add_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
          total, static_cast<uint64_t>(limit), s.sorted_keys, s.sorted_sources, grad_out.ptr<T>(),
          grad_in.ptr<T>());
      check_launch(op);
    }
  });
  raise_kernel_error(op);
}

}  // namespace strata
