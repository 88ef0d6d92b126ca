#include "models/nn/linear.h"

#include "engine/creation.h"
#include "models/nn/init.h"
#include "ops/linalg.h"

namespace strata::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, Generator* gen)
    : Module("Linear"), in_features_(in_features), out_features_(out_features) {
  STRATA_CHECK(in_features > 0 && out_features > 0, "Linear: in_features and out_features must be > 0, got ",
               in_features, " and ", out_features);
  weight = empty({out_features, in_features});
  if (has_bias) bias = empty({out_features});
  init::default_layer_init_(weight, bias, gen);
  register_parameter("weight", weight);
  register_parameter("bias", bias);
}

// strata::linear runs the bias add inside the gemm (one addmm), so this is one kernel call.
Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

}  // namespace strata::nn
