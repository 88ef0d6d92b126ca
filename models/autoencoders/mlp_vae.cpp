#include "models/autoencoders/mlp_vae.h"

#include "ops/ops.h"

namespace strata::models {

MlpVae::MlpVae(MlpVaeOptions options, Generator* init_gen) : nn::Module("MlpVae"), options_(std::move(options)) {
  STRATA_CHECK(options_.input_dim > 0 && options_.latent_dim > 0 && !options_.hidden.empty(),
               "MlpVae: input_dim, latent_dim must be positive and hidden non-empty");
  int64_t width = options_.input_dim;
  for (size_t i = 0; i < options_.hidden.size(); ++i) {
    encoder_.push_back(register_module("encoder" + std::to_string(i),
                                       std::make_shared<nn::Linear>(width, options_.hidden[i], true, init_gen)));
    width = options_.hidden[i];
  }
  mean_head_ = register_module("mean", std::make_shared<nn::Linear>(width, options_.latent_dim, true, init_gen));
  log_var_head_ = register_module("log_var", std::make_shared<nn::Linear>(width, options_.latent_dim, true, init_gen));
  width = options_.latent_dim;
  for (size_t i = options_.hidden.size(); i-- > 0;) {
    decoder_.push_back(register_module("decoder" + std::to_string(decoder_.size()),
                                       std::make_shared<nn::Linear>(width, options_.hidden[i], true, init_gen)));
    width = options_.hidden[i];
  }
  decoder_.push_back(register_module("decoder" + std::to_string(decoder_.size()),
                                     std::make_shared<nn::Linear>(width, options_.input_dim, true, init_gen)));
}

MlpVae::Posterior MlpVae::encode(const Tensor& x) {
  STRATA_CHECK(x.dim() == 2 && x.size(1) == options_.input_dim, "MlpVae::encode: expects [batch, ",
               options_.input_dim, "], got ", shape_str(x.shape()));
  Tensor h = x;
  for (const auto& layer : encoder_) h = relu(layer->forward(h));
  return {mean_head_->forward(h), log_var_head_->forward(h)};
}

Tensor MlpVae::decode(const Tensor& z) {
  Tensor h = z;
  for (size_t i = 0; i < decoder_.size(); ++i) {
    h = decoder_[i]->forward(h);
    if (i + 1 < decoder_.size()) h = relu(h);
  }
  return h;
}

Tensor MlpVae::reparameterize(const Posterior& q, Generator* gen) {
  const Tensor eps = randn(q.mean.shape(), {q.mean.dtype(), q.mean.device()}, gen);
  return add(q.mean, mul(exp(mul(q.log_var, 0.5)), eps));
}

VaeLoss MlpVae::loss(const Tensor& x, Generator* gen) {
  const Posterior q = encode(x);
  const Tensor logits = decode(reparameterize(q, gen));
  const double batch = static_cast<double>(x.size(0));
  // -log p(x|z) for Bernoulli pixels is the BCE of the logits against x, summed over pixels.
  VaeLoss l;
  l.reconstruction = div(binary_cross_entropy_with_logits(logits, x, Reduction::Sum), batch);
  l.kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  l.total = add(l.reconstruction, l.kl);
  return l;
}

Tensor MlpVae::sample(int64_t n, Generator* gen) {
  STRATA_CHECK(n > 0, "MlpVae::sample: n must be positive, got ", n);
  const Tensor probe = mean_head_->weight;
  return sigmoid(decode(randn({n, options_.latent_dim}, {probe.dtype(), probe.device()}, gen)));
}

Tensor MlpVae::reconstruct(const Tensor& x) { return sigmoid(decode(encode(x).mean)); }

}  // namespace strata::models
