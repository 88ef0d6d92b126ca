// Optimizer updates: each is one fused pass over a contiguous parameter and its state buffers, so
// a step reads and writes every element once instead of once per arithmetic op. The formulas are
// PyTorch's (torch/optim/{adam,adamw,sgd,rmsprop}.py, single-tensor path); hyperparameters are
// folded into scalars of the buffer's type before the loop.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_isa.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

#include "backends/cpu/cpu_isa_target.h"  // last: what follows is compiled for one instruction set

namespace strata {

namespace {

// More arithmetic per element than a plain map, so smaller chunks already pay for a thread.
constexpr int64_t kOptimGrain = 16384;

void check_float(const char* op, DType dtype) {
  STRATA_CHECK(is_floating(dtype), op, ": parameters must be float32 or float64, got ", dtype_name(dtype));
}

// The Adam update of elements [begin, end). Its own function with restrict pointers, scalars by
// value and the options as template flags, so that the compiler vectorises it: written as a
// lambda capturing the scalars by reference, it stayed scalar (a float store might have aliased
// them; perf annotate showed sqrtss per element, 14% of W1's step).
template <class T, bool kCoupledWd, bool kDecoupledWd, bool kAmsgrad>
void adam_span(int64_t begin, int64_t end, T* __restrict param, const T* __restrict grad, T* __restrict exp_avg,
               T* __restrict exp_avg_sq, T* __restrict max_exp_avg_sq, T b1, T b2, T step_size, T inv_bias2_sqrt,
               T eps, T wd, T decay) {
  const T one_b1 = T(1) - b1, one_b2 = T(1) - b2;
  for (int64_t i = begin; i < end; ++i) {
    T p = param[i], g = grad[i];
    if constexpr (kCoupledWd) g += wd * p;
    if constexpr (kDecoupledWd) p *= decay;
    const T m = b1 * exp_avg[i] + one_b1 * g;
    const T v = b2 * exp_avg_sq[i] + one_b2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T v_hat = v;
    if constexpr (kAmsgrad) {
      v_hat = std::max(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = v_hat;
    }
    param[i] = p - step_size * m / (std::sqrt(v_hat) * inv_bias2_sqrt + eps);
  }
}

template <class T, bool kCoupledWd, bool kDecoupledWd, bool kAmsgrad>
void adam_loop(int64_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, const AdamStep& s) {
  const double bias1 = 1.0 - std::pow(s.beta1, static_cast<double>(s.step));
  const double bias2 = 1.0 - std::pow(s.beta2, static_cast<double>(s.step));
  const T b1 = T(s.beta1), b2 = T(s.beta2);
  const T step_size = T(s.lr / bias1), inv_bias2_sqrt = T(1.0 / std::sqrt(bias2)), eps = T(s.eps);
  const T wd = T(s.weight_decay), decay = T(1.0 - s.lr * s.weight_decay);
  cpu::parallel_for(n, kOptimGrain, [=](int64_t begin, int64_t end) STRATA_KERNEL_LOOP {
    adam_span<T, kCoupledWd, kDecoupledWd, kAmsgrad>(begin, end, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
                                                      b1, b2, step_size, inv_bias2_sqrt, eps, wd, decay);
  });
}

template <class T>
void adam_impl(int64_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq,
               const AdamStep& s) {
  const bool coupled_wd = !s.decoupled && s.weight_decay != 0.0;
  const bool decoupled_wd = s.decoupled && s.weight_decay != 0.0;
  auto run = [&](auto coupled, auto decoupled, auto amsgrad) {
    adam_loop<T, decltype(coupled)::value, decltype(decoupled)::value, decltype(amsgrad)::value>(
        n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, s);
  };
  using Yes = std::true_type;
  using No = std::false_type;
  if (s.amsgrad) {
    if (coupled_wd) return run(Yes{}, No{}, Yes{});
    if (decoupled_wd) return run(No{}, Yes{}, Yes{});
    return run(No{}, No{}, Yes{});
  }
  if (coupled_wd) return run(Yes{}, No{}, No{});
  if (decoupled_wd) return run(No{}, Yes{}, No{});
  return run(No{}, No{}, No{});
}

template <class T>
void sgd_impl(int64_t n, T* param, const T* grad, T* buf, double lr_d, double momentum_d, double dampening_d,
              double weight_decay_d, bool nesterov, bool first_step) {
  const T lr = T(lr_d), momentum = T(momentum_d), keep = T(1.0 - dampening_d), wd = T(weight_decay_d);
  const bool use_momentum = momentum_d != 0.0;
  cpu::parallel_for(n, kOptimGrain, [&](int64_t begin, int64_t end) STRATA_KERNEL_LOOP {
    for (int64_t i = begin; i < end; ++i) {
      T d = grad[i] + wd * param[i];
      if (use_momentum) {
        // PyTorch starts the buffer at the first gradient itself, without dampening.
        const T b = first_step ? d : momentum * buf[i] + keep * d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
      }
      param[i] -= lr * d;
    }
  });
}

template <class T>
void rmsprop_impl(int64_t n, T* param, const T* grad, T* square_avg, T* buf, double lr_d, double alpha_d,
                  double eps_d, double weight_decay_d, double momentum_d) {
  const T lr = T(lr_d), alpha = T(alpha_d), one_alpha = T(1.0 - alpha_d), eps = T(eps_d);
  const T wd = T(weight_decay_d), momentum = T(momentum_d);
  const bool use_momentum = momentum_d > 0.0;
  cpu::parallel_for(n, kOptimGrain, [&](int64_t begin, int64_t end) STRATA_KERNEL_LOOP {
    for (int64_t i = begin; i < end; ++i) {
      const T g = grad[i] + wd * param[i];
      const T sa = alpha * square_avg[i] + one_alpha * g * g;
      square_avg[i] = sa;
      const T scaled = g / (std::sqrt(sa) + eps);
      if (use_momentum) {
        const T b = momentum * buf[i] + scaled;
        buf[i] = b;
        param[i] -= lr * b;
      } else {
        param[i] -= lr * scaled;
      }
    }
  });
}

void adam_update_kernel(DType dtype, int64_t n, void* param, const void* grad, void* exp_avg,
                             void* exp_avg_sq, void* max_exp_avg_sq, const AdamStep& s) {
  check_float("adam", dtype);
  STRATA_CHECK(!s.amsgrad || max_exp_avg_sq, "adam: amsgrad needs a max_exp_avg_sq buffer");
  STRATA_CHECK(s.step >= 1, "adam: step must be 1-based, got ", s.step);
  if (dtype == DType::Float32) {
    adam_impl(n, static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(exp_avg),
              static_cast<float*>(exp_avg_sq), static_cast<float*>(max_exp_avg_sq), s);
  } else {
    adam_impl(n, static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(exp_avg),
              static_cast<double*>(exp_avg_sq), static_cast<double*>(max_exp_avg_sq), s);
  }
}

void sgd_update_kernel(DType dtype, int64_t n, void* param, const void* grad, void* momentum_buf,
                            double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                            bool first_step) {
  check_float("sgd", dtype);
  STRATA_CHECK(momentum == 0.0 || momentum_buf, "sgd: momentum ", momentum, " needs a momentum buffer");
  if (dtype == DType::Float32) {
    sgd_impl(n, static_cast<float*>(param), static_cast<const float*>(grad),
             static_cast<float*>(momentum_buf), lr, momentum, dampening, weight_decay, nesterov, first_step);
  } else {
    sgd_impl(n, static_cast<double*>(param), static_cast<const double*>(grad),
             static_cast<double*>(momentum_buf), lr, momentum, dampening, weight_decay, nesterov, first_step);
  }
}

void rmsprop_update_kernel(DType dtype, int64_t n, void* param, const void* grad, void* square_avg,
                                void* momentum_buf, double lr, double alpha, double eps, double weight_decay,
                                double momentum) {
  check_float("rmsprop", dtype);
  STRATA_CHECK(momentum <= 0.0 || momentum_buf, "rmsprop: momentum ", momentum, " needs a momentum buffer");
  if (dtype == DType::Float32) {
    rmsprop_impl(n, static_cast<float*>(param), static_cast<const float*>(grad),
                 static_cast<float*>(square_avg), static_cast<float*>(momentum_buf), lr, alpha, eps,
                 weight_decay, momentum);
  } else {
    rmsprop_impl(n, static_cast<double*>(param), static_cast<const double*>(grad),
                 static_cast<double*>(square_avg), static_cast<double*>(momentum_buf), lr, alpha, eps,
                 weight_decay, momentum);
  }
}

}  // namespace

namespace cpu::STRATA_CPU_ISA_NS {

void add_optim_kernels(CpuKernelTable& table) {
  table.adam_update = &adam_update_kernel;
  table.sgd_update = &sgd_update_kernel;
  table.rmsprop_update = &rmsprop_update_kernel;
}

}  // namespace cpu::STRATA_CPU_ISA_NS

}  // namespace strata
