// Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov & Hutter 2019, Algorithm 2: weight
// decay applied to the weights, not folded into the gradient), as torch.optim.Adam / AdamW,
// including AMSGrad (Reddi et al. 2018).
#pragma once

#include "engine/optim/optimizer.h"

namespace strata::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options);
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(const char* name, std::vector<Tensor> params, AdamOptions options, bool decoupled);
  void update(size_t i, const Tensor& param, const Tensor& grad, int64_t step) override;
  std::vector<std::string> buffer_names() const override;

 private:
  AdamOptions options_;
  bool decoupled_;
};

// AdamW's default weight decay is 1e-2 (PyTorch's), so its options carry their own default.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

class AdamW final : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options);
};

}  // namespace strata::optim
