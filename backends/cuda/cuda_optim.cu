// Optimizer updates, each one fused pass over a contiguous parameter and its state buffers: the
// formulas and the folding of hyperparameters into scalars are the CPU backend's
// (backends/cpu/cpu_optim.cpp, after PyTorch's single-tensor path), so both update alike.
#include <cmath>

#include "backends/cuda/cuda_kernels.cuh"

namespace strata::cuda {

template <class T>
struct AdamScalars {
  T b1, b2, one_b1, one_b2, step_size, inv_bias2_sqrt, eps, wd, decay;
  bool coupled_wd, decoupled_wd, amsgrad;
};

template <class T>
__global__ void adam_kernel(int64_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
                            AdamScalars<T> s) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    T p = param[i], g = grad[i];
    if (s.coupled_wd) g += s.wd * p;
    if (s.decoupled_wd) p *= s.decay;
    const T m = s.b1 * exp_avg[i] + s.one_b1 * g;
    const T v = s.b2 * exp_avg_sq[i] + s.one_b2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T v_hat = v;
    if (s.amsgrad) {
      v_hat = max_exp_avg_sq[i] < v ? v : max_exp_avg_sq[i];  // std::max's NaN behaviour, as on the CPU
      max_exp_avg_sq[i] = v_hat;
    }
    param[i] = p - s.step_size * m / (sqrt(v_hat) * s.inv_bias2_sqrt + s.eps);
  }
}

template <class T>
__global__ void sgd_kernel(int64_t n, T* param, const T* grad, T* buf, T lr, T momentum, T keep, T wd,
                           bool use_momentum, bool nesterov, bool first_step) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    T d = grad[i] + wd * param[i];
    if (use_momentum) {
      // PyTorch starts the buffer at the first gradient itself, without dampening.
      const T b = first_step ? d : momentum * buf[i] + keep * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    param[i] -= lr * d;
  }
}

template <class T>
__global__ void rmsprop_kernel(int64_t n, T* param, const T* grad, T* square_avg, T* buf, T lr, T alpha,
                               T one_alpha, T eps, T wd, T momentum, bool use_momentum) {
  STRATA_GRID_STRIDE_LOOP(i, n) {
    const T g = grad[i] + wd * param[i];
    const T sa = alpha * square_avg[i] + one_alpha * g * g;
    square_avg[i] = sa;
    const T scaled = g / (sqrt(sa) + eps);
    if (use_momentum) {
      const T b = momentum * buf[i] + scaled;
      buf[i] = b;
      param[i] -= lr * b;
    } else {
      param[i] -= lr * scaled;
    }
  }
}

}  // namespace strata::cuda

namespace strata {

void CudaBackend::adam_update(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
                              void* max_exp_avg_sq, const AdamStep& s) {
  activate();
  STRATA_CHECK(!s.amsgrad || max_exp_avg_sq, "adam: amsgrad needs a max_exp_avg_sq buffer");
  STRATA_CHECK(s.step >= 1, "adam: step must be 1-based, got ", s.step);
  if (n == 0) return;
  cuda::visit_floating(dtype, "adam", [&](auto tag) {
    using T = decltype(tag);
    const double bias1 = 1.0 - std::pow(s.beta1, static_cast<double>(s.step));
    const double bias2 = 1.0 - std::pow(s.beta2, static_cast<double>(s.step));
    cuda::AdamScalars<T> k{T(s.beta1), T(s.beta2), T(1) - T(s.beta1), T(1) - T(s.beta2), T(s.lr / bias1),
                           T(1.0 / std::sqrt(bias2)), T(s.eps), T(s.weight_decay), T(1.0 - s.lr * s.weight_decay),
                           !s.decoupled && s.weight_decay != 0.0, s.decoupled && s.weight_decay != 0.0, s.amsgrad};
    cuda::adam_kernel<T><<<cuda::blocks_for(n), cuda::kThreads, 0, stream_>>>(
        n, static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(exp_avg), static_cast<T*>(exp_avg_sq),
        static_cast<T*>(max_exp_avg_sq), k);
  });
  check_launch("adam");
}

void CudaBackend::sgd_update(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf, double lr,
                             double momentum, double dampening, double weight_decay, bool nesterov, bool first_step) {
  activate();
  STRATA_CHECK(momentum == 0.0 || momentum_buf, "sgd: momentum ", momentum, " needs a momentum buffer");
  if (n == 0) return;
  cuda::visit_floating(dtype, "sgd", [&](auto tag) {
    using T = decltype(tag);
    cuda::sgd_kernel<T><<<cuda::blocks_for(n), cuda::kThreads, 0, stream_>>>(
        n, static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(momentum_buf), T(lr), T(momentum),
        T(1.0 - dampening), T(weight_decay), momentum != 0.0, nesterov, first_step);
  });
  check_launch("sgd");
}

void CudaBackend::rmsprop_update(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                                 void* momentum_buf, double lr, double alpha, double eps, double weight_decay,
                                 double momentum) {
  activate();
  STRATA_CHECK(momentum <= 0.0 || momentum_buf, "rmsprop: momentum ", momentum, " needs a momentum buffer");
  if (n == 0) return;
  cuda::visit_floating(dtype, "rmsprop", [&](auto tag) {
    using T = decltype(tag);
    cuda::rmsprop_kernel<T><<<cuda::blocks_for(n), cuda::kThreads, 0, stream_>>>(
        n, static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(square_avg),
        static_cast<T*>(momentum_buf), T(lr), T(alpha), T(1.0 - alpha), T(eps), T(weight_decay), T(momentum),
        momentum > 0.0);
  });
  check_launch("rmsprop");
}

}  // namespace strata
