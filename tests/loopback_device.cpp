#include "loopback_device.h"

#include <cstring>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_loader.h"
#include "core/error.h"

namespace strata::test {

namespace {

// Bit 62 set: outside the 48-bit canonical range of x86-64 and AArch64 user addresses, so a load
// from it faults instead of reading memory.
constexpr uintptr_t kTag = uintptr_t{1} << 62;

void* tag(void* p) { return p ? reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) | kTag) : nullptr; }
template <class T>
T* untag(T* p) {
  if (!p) return p;
  const uintptr_t v = reinterpret_cast<uintptr_t>(p);
  if (!(v & kTag)) throw Error("loopback device: a kernel was given a host pointer, not a device one");
  return reinterpret_cast<T*>(v & ~kTag);
}
View untag(const View& v) {
  View out = v;
  out.data = v.numel() == 0 && !v.data ? nullptr : untag(v.data);
  return out;
}

class LoopbackBackend final : public Backend {
 public:
  const char* name() const override { return "loopback cuda:0"; }
  void* allocate(size_t nbytes) override { return tag(cpu().allocate(nbytes)); }
  void deallocate(void* ptr, size_t nbytes) override { cpu().deallocate(untag(ptr), nbytes); }
  void copy_to_host(const void* src, void* host_dst, size_t nbytes) override {
    if (nbytes) std::memcpy(host_dst, untag(src), nbytes);
  }
  void copy_from_host(const void* host_src, void* dst, size_t nbytes) override {
    if (nbytes) std::memcpy(untag(dst), host_src, nbytes);
  }
  void set_num_threads(int n) override { cpu().set_num_threads(n); }
  int num_threads() const override { return cpu().num_threads(); }

  void fill(const View& out, double value) override { cpu().fill(untag(out), value); }
  void copy(const View& src, const View& dst) override { cpu().copy(untag(src), untag(dst)); }
  void unary(UnaryOp op, const View& in, const View& out, double p0, double p1) override {
    cpu().unary(op, untag(in), untag(out), p0, p1);
  }
  void binary(BinaryOp op, const View& a, const View& b, const View& out, double p0) override {
    cpu().binary(op, untag(a), untag(b), untag(out), p0);
  }
  bool unary_with_derivative(UnaryOp op, const View& in, const View& out, const View& derivative) override {
    return cpu().unary_with_derivative(op, untag(in), untag(out), untag(derivative));
  }
  void where(const View& cond, const View& a, const View& b, const View& out) override {
    cpu().where(untag(cond), untag(a), untag(b), untag(out));
  }
  void reduce(ReduceOp op, const View& in, uint32_t mask, const View& out) override {
    cpu().reduce(op, untag(in), mask, untag(out));
  }
  void arg_reduce(bool is_max, const View& in, int dim, const View& values, const View& indices) override {
    cpu().arg_reduce(is_max, untag(in), dim, untag(values), untag(indices));
  }
  void softmax(const View& in, const View& out, bool log) override { cpu().softmax(untag(in), untag(out), log); }
  void softmax_backward(const View& g, const View& y, const View& gi, bool log) override {
    cpu().softmax_backward(untag(g), untag(y), untag(gi), log);
  }
  void gemm(DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
            int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta, void* c, int64_t ldc, int64_t sc,
            int64_t batch) override {
    cpu().gemm(dtype, ta, tb, m, n, k, alpha, untag(a), lda, sa, untag(b), ldb, sb, beta, untag(c), ldc, sc, batch);
  }
  // The CPU's grouping too: it runs two large products side by side, each whole on one thread,
  // where gemm() splits each over the threads; and OpenBLAS's Haswell kernels round a product
  // computed in two blocks of rows or columns differently from the whole product (1-10% of the
  // elements of W1's shapes differ in the last bits; its Cooperlake kernels agreed on a Zen 5).
  void gemm_group(const GemmCall* calls, size_t count) override {
    std::vector<GemmCall> untagged(calls, calls + count);
    for (GemmCall& g : untagged) {
      g.a = untag(g.a);
      g.b = untag(g.b);
      g.c = untag(g.c);
    }
    cpu().gemm_group(untagged.data(), count);
  }
  int64_t conv2d_columns_size(const Conv2dParams& p) const override { return cpu().conv2d_columns_size(p); }
  void conv2d_forward(DType dtype, const Conv2dParams& p, const void* x, const void* w, const void* bias,
                      void* out, void* columns) override {
    cpu().conv2d_forward(dtype, p, untag(x), untag(w), untag(bias), untag(out), untag(columns));
  }
  void conv2d_backward_input(DType dtype, const Conv2dParams& p, const void* g, const void* w, void* gx) override {
    cpu().conv2d_backward_input(dtype, p, untag(g), untag(w), untag(gx));
  }
  void conv2d_backward_weight(DType dtype, const Conv2dParams& p, const void* x, const void* g, void* gw,
                              void* gb, const void* columns) override {
    cpu().conv2d_backward_weight(dtype, p, untag(x), untag(g), untag(gw), untag(gb), untag(columns));
  }
  void max_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out, int64_t* idx) override {
    cpu().max_pool2d_forward(dtype, p, untag(x), untag(out), untag(idx));
  }
  void max_pool2d_backward(DType dtype, const Pool2dParams& p, const void* g, const int64_t* idx, void* gx) override {
    cpu().max_pool2d_backward(dtype, p, untag(g), untag(idx), untag(gx));
  }
  void avg_pool2d_forward(DType dtype, const Pool2dParams& p, const void* x, void* out) override {
    cpu().avg_pool2d_forward(dtype, p, untag(x), untag(out));
  }
  void avg_pool2d_backward(DType dtype, const Pool2dParams& p, const void* g, void* gx) override {
    cpu().avg_pool2d_backward(dtype, p, untag(g), untag(gx));
  }
  void upsample_nearest2d_forward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                  const void* x, void* out) override {
    cpu().upsample_nearest2d_forward(dtype, nc, h, w, sh, sw, untag(x), untag(out));
  }
  void upsample_nearest2d_backward(DType dtype, int64_t nc, int64_t h, int64_t w, int64_t sh, int64_t sw,
                                   const void* g, void* gx) override {
    cpu().upsample_nearest2d_backward(dtype, nc, h, w, sh, sw, untag(g), untag(gx));
  }
  void index_select(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
                    const View& out) override {
    cpu().index_select(untag(in), outer, in_dim, inner, untag(index), n, untag(out));
  }
  void index_add(const View& g, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
                 const View& gi) override {
    cpu().index_add(untag(g), outer, in_dim, inner, untag(index), n, untag(gi));
  }
  void gather(const View& in, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
              const View& out) override {
    cpu().gather(untag(in), outer, in_dim, inner, untag(index), n, untag(out));
  }
  void scatter_add(const View& g, int64_t outer, int64_t in_dim, int64_t inner, const int64_t* index, int64_t n,
                   const View& gi) override {
    cpu().scatter_add(untag(g), outer, in_dim, inner, untag(index), n, untag(gi));
  }
  void random_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) override {
    cpu().random_uniform(untag(out), seed, offset, low, high);
  }
  void random_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double stddev) override {
    cpu().random_normal(untag(out), seed, offset, mean, stddev);
  }
  void random_int(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) override {
    cpu().random_int(untag(out), seed, offset, low, high);
  }
  void adam_update(DType dtype, int64_t n, void* param, const void* grad, void* m, void* v, void* vmax,
                   const AdamStep& s) override {
    cpu().adam_update(dtype, n, untag(param), untag(grad), untag(m), untag(v), untag(vmax), s);
  }
  void sgd_update(DType dtype, int64_t n, void* param, const void* grad, void* buf, double lr, double momentum,
                  double dampening, double wd, bool nesterov, bool first_step) override {
    cpu().sgd_update(dtype, n, untag(param), untag(grad), untag(buf), lr, momentum, dampening, wd, nesterov,
                     first_step);
  }
  void rmsprop_update(DType dtype, int64_t n, void* param, const void* grad, void* sq, void* buf, double lr,
                      double alpha, double eps, double wd, double momentum) override {
    cpu().rmsprop_update(dtype, n, untag(param), untag(grad), untag(sq), untag(buf), lr, alpha, eps, wd, momentum);
  }

 private:
  static Backend& cpu() { return cpu_backend(); }
};

LoopbackBackend& loopback() {
  static LoopbackBackend b;  // outlives every tensor a test makes (function-local static, never torn down early)
  return b;
}

}  // namespace

LoopbackDevice::LoopbackDevice() { cuda_plugin::override_backend(0, &loopback()); }
LoopbackDevice::~LoopbackDevice() { cuda_plugin::override_backend(0, nullptr); }
Backend& LoopbackDevice::backend() { return loopback(); }

}  // namespace strata::test
