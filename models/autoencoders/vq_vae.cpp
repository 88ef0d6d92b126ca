#include "models/autoencoders/vq_vae.h"

#include <cmath>

#include "ops/ops.h"

namespace strata::models {

namespace {
int64_t checked_codes_per_example(const AutoencoderOptions& o, const VqVaeOptions& vq) {
  STRATA_CHECK(vq.code_dim >= 1 && o.latent_dim % vq.code_dim == 0, "VQ-VAE: code_dim must divide latent_dim (",
               o.latent_dim, " latent dims into vectors of ", vq.code_dim, ")");
  return o.latent_dim / vq.code_dim;
}
}  // namespace

VqVae::VqVae(AutoencoderOptions options, VqVaeOptions vq, Generator* init)
    : Autoencoder("VQ-VAE", options, /*stochastic=*/false, init),
      vq_(vq),
      codes_per_example_(checked_codes_per_example(options, vq)) {
  STRATA_CHECK(vq_.beta >= 0 && std::isfinite(vq_.beta), name(), ": the commitment cost beta must be >= 0, got ", vq_.beta);
  quantizer_ = register_module(
      "quantizer", std::make_shared<VectorQuantizer>(
                       VectorQuantizerOptions{.codebook_size = vq_.codebook_size, .code_dim = vq_.code_dim,
                                              .ema = vq_.ema, .decay = vq_.decay},
                       name(), init));
}

VqVae::Quantized VqVae::quantize(const Tensor& x, const char* method) {
  const Tensor flat = flat_input(x, method);
  const int64_t n = flat.size(0);
  Quantized q;
  q.z_e = reshape(Autoencoder::encode(flat).code, {n * codes_per_example_, vq_.code_dim});
  q.indices = quantizer_->nearest(q.z_e);
  q.e = quantizer_->lookup(q.indices);
  q.z_q = reshape(VectorQuantizer::straight_through(q.z_e, q.e), {n, options().latent_dim});
  return q;
}

Encoding VqVae::encode(const Tensor& x) { return {quantize(x, "encode").z_q, Tensor(), Tensor()}; }

Tensor VqVae::code_indices(const Tensor& x) {
  const Tensor indices = quantize(x, "code_indices").indices;
  return reshape(indices, {indices.numel() / codes_per_example_, codes_per_example_});
}

std::vector<std::string> VqVae::loss_names() const {
  if (vq_.ema) return {"loss", "reconstruction", "commitment", "perplexity"};
  return {"loss", "reconstruction", "commitment", "codebook", "perplexity"};
}

LossTerms VqVae::loss(const Tensor& x, Generator*) {
  const Tensor flat = flat_input(x, "loss");
  const Quantized q = quantize(flat, "loss");
  const double batch = static_cast<double>(flat.size(0));
  const Tensor rec = div(sum(reconstruction_nll(flat, decode(q.z_q))), batch);
  const Tensor commitment = div(sum(square(sub(q.z_e, q.e.detach()))), batch);
  Tensor loss = add(rec, mul(commitment, vq_.beta));
  LossTerms terms;
  if (vq_.ema) {
    terms = {{"loss", loss}, {"reconstruction", rec}, {"commitment", commitment}};
  } else {
    const Tensor codebook = div(sum(square(sub(q.z_e.detach(), q.e))), batch);
    loss = add(loss, codebook);
    terms = {{"loss", loss}, {"reconstruction", rec}, {"commitment", commitment}, {"codebook", codebook}};
  }
  terms.push_back({"perplexity", quantizer_->perplexity(q.indices)});
  // After the terms are built from the current codebook: e is a copy, so the update cannot change them.
  if (vq_.ema && is_training()) quantizer_->ema_update(q.z_e, q.indices);
  return terms;
}

Tensor VqVae::sample(int64_t n, Generator* gen) {
  STRATA_CHECK(n >= 1, name(), "::sample: n must be positive, got ", n);
  const Tensor indices = randint(0, vq_.codebook_size, {n * codes_per_example_},
                                {DType::Int64, quantizer_->codebook.device()}, gen);
  return likelihood().mean(decode(reshape(quantizer_->lookup(indices), {n, options().latent_dim})));
}

}  // namespace strata::models
