#include "models/autoencoders/vector_quantizer.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

VectorQuantizer::VectorQuantizer(VectorQuantizerOptions options, const std::string& model, Generator* init)
    : nn::Module("VectorQuantizer"), options_(options), model_(model) {
  STRATA_CHECK(options_.codebook_size >= 1 && options_.code_dim >= 1, model_,
               ": codebook_size and code_dim must be >= 1, got ", options_.codebook_size, " and ", options_.code_dim);
  STRATA_CHECK(options_.decay >= 0 && options_.decay < 1, model_, ": the EMA decay must lie in [0, 1), got ",
               options_.decay);
  STRATA_CHECK(options_.epsilon > 0 && std::isfinite(options_.epsilon), model_,
               ": the Laplace smoothing epsilon must be positive, got ", options_.epsilon);
  codebook = randn({options_.codebook_size, options_.code_dim}, {}, init);
  if (options_.ema) {
    ema_cluster_size = zeros({options_.codebook_size});
    ema_code_sum = zeros({options_.codebook_size, options_.code_dim});
    ema_updates = zeros({}, {DType::Int64});
    register_buffer("codebook", codebook);
    register_buffer("ema_cluster_size", ema_cluster_size);
    register_buffer("ema_code_sum", ema_code_sum);
    register_buffer("ema_updates", ema_updates);
  } else {
    register_parameter("codebook", codebook);
  }
}

void VectorQuantizer::check_rows(const char* method, const Tensor& z) const {
  STRATA_CHECK(z.defined() && z.dim() == 2 && z.size(1) == options_.code_dim, model_, "::", method,
               ": expects code vectors [M, ", options_.code_dim, "], got ",
               z.defined() ? shape_str(z.shape()) : "an undefined tensor");
}

Tensor VectorQuantizer::nearest(const Tensor& z) const {
  check_rows("quantize", z);
  NoGradGuard no_grad;
  // ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ||z||^2 is the same for every code, so it is left out.
  const Tensor e = codebook.detach();
  const Tensor scores = sub(reshape(sum(square(e), 1), {1, options_.codebook_size}), mul(matmul(z.detach(), t(e)), 2.0));
  return argmin(scores, 1);
}

Tensor VectorQuantizer::lookup(const Tensor& indices) const { return index_select(codebook, 0, indices); }

Tensor VectorQuantizer::straight_through(const Tensor& z, const Tensor& e) { return add(z, sub(e, z).detach()); }

Tensor VectorQuantizer::perplexity(const Tensor& indices) const {
  NoGradGuard no_grad;
  const Tensor counts = sum(one_hot(indices, options_.codebook_size, codebook.dtype()), 0);
  const Tensor p = div(counts, static_cast<double>(indices.numel()));
  // p log p with 0 log 0 = 0: the clamp only matters where p = 0, and there the product is 0.
  return exp(neg(sum(mul(p, log(clamp_min(p, 1e-30))))));
}

void VectorQuantizer::ema_update(const Tensor& z, const Tensor& indices) {
  STRATA_CHECK(options_.ema, model_, "::ema_update: the codebook is learned by gradient (ema off)");
  check_rows("ema_update", z);
  NoGradGuard no_grad;
  const double gamma = options_.decay, k = static_cast<double>(options_.codebook_size);
  const Tensor assign = one_hot(indices, options_.codebook_size, codebook.dtype());  // [M, K]
  const Tensor counts = sum(assign, 0);                                               // n_i
  const Tensor sums = matmul(t(assign), z.detach());                                  // sum of z_e per code
  mul_(ema_cluster_size, gamma);
  add_(ema_cluster_size, counts, 1 - gamma);
  mul_(ema_code_sum, gamma);
  add_(ema_code_sum, sums, 1 - gamma);
  const int64_t t_updates = ema_updates.item<int64_t>() + 1;
  fill_(ema_updates, static_cast<double>(t_updates));
  const double debias = 1 - std::pow(gamma, static_cast<double>(t_updates));
  const Tensor n = div(ema_cluster_size, debias);
  const double total = sum(n).item<double>();
  const Tensor smoothed = mul(div(add(n, options_.epsilon), total + k * options_.epsilon), total);
  copy_(codebook, div(div(ema_code_sum, debias), unsqueeze(smoothed, 1)));
}

}  // namespace strata::models
