#include "models/autoencoders/spatial_autoencoder.h"

#include <cctype>
#include <cmath>

#include "models/nn/activation.h"
#include "models/nn/flatten.h"
#include "ops/ops.h"

namespace strata::models {

namespace {

nn::Conv2dOptions halving() { return {.stride = {2, 2}, .padding = {1, 1}}; }
nn::Conv2dOptions same3() { return {.stride = {1, 1}, .padding = {1, 1}}; }
nn::ConvTranspose2dOptions doubling() { return {.stride = {2, 2}, .padding = {1, 1}}; }

}  // namespace

std::string spatial_objective_name(SpatialObjective objective) {
  switch (objective) {
    case SpatialObjective::Cae: return "cae";
    case SpatialObjective::Dae: return "dae";
    case SpatialObjective::Vae: return "vae";
  }
  return "?";
}

SpatialObjective parse_spatial_objective(const std::string& name) {
  for (SpatialObjective o : {SpatialObjective::Cae, SpatialObjective::Dae, SpatialObjective::Vae})
    if (spatial_objective_name(o) == name) return o;
  throw Error(detail::concat("unknown spatial autoencoder \"", name, "\" (valid: cae, dae, vae)"));
}

SpatialAutoencoder::SpatialAutoencoder(SpatialAutoencoderOptions options, Generator* init)
    : nn::Module("SpatialAutoencoder"), options_(options) {
  name_ = "spatial " + spatial_objective_name(options_.objective);
  for (char& c : name_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const SpatialAutoencoderOptions& o = options_;
  STRATA_CHECK(o.channels >= 1 && o.latent_channels >= 1, name_, ": channels and latent_channels must be >= 1, got ",
               o.channels, " and ", o.latent_channels);
  STRATA_CHECK(o.image_size >= 4 && o.image_size % 4 == 0, name_,
               ": image_size must be a multiple of 4 (two stride-2 stages), got ", o.image_size);
  STRATA_CHECK(o.noise_sigma >= 0 && std::isfinite(o.noise_sigma), name_, ": noise_sigma must be >= 0, got ",
               o.noise_sigma);
  // Created in the order body, heads, decoder, so `init` fixes every weight.
  body_ = register_module("body", std::make_shared<nn::Sequential>());
  body_->push_back(std::make_shared<nn::Conv2d>(o.channels, 32, Pair{4, 4}, halving(), init));
  body_->push_back(std::make_shared<nn::ReLU>());
  body_->push_back(std::make_shared<nn::Conv2d>(32, 64, Pair{4, 4}, halving(), init));
  body_->push_back(std::make_shared<nn::ReLU>());
  const bool vae = o.objective == SpatialObjective::Vae;
  code_head_ = register_module(vae ? "mean" : "code",
                               std::make_shared<nn::Conv2d>(64, o.latent_channels, Pair{3, 3}, same3(), init));
  if (vae)
    log_var_head_ =
        register_module("log_var", std::make_shared<nn::Conv2d>(64, o.latent_channels, Pair{3, 3}, same3(), init));
  decoder_ = register_module("decoder", std::make_shared<nn::Sequential>());
  decoder_->push_back(std::make_shared<nn::Conv2d>(o.latent_channels, 64, Pair{3, 3}, same3(), init));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(std::make_shared<nn::ConvTranspose2d>(64, 32, Pair{4, 4}, doubling(), init));
  decoder_->push_back(std::make_shared<nn::ReLU>());
  decoder_->push_back(std::make_shared<nn::ConvTranspose2d>(32, o.channels, Pair{4, 4}, doubling(), init));
  decoder_->push_back(std::make_shared<nn::Flatten>());
}

Shape SpatialAutoencoder::latent_shape() const {
  return {options_.latent_channels, options_.image_size / 4, options_.image_size / 4};
}

Tensor SpatialAutoencoder::image_input(const Tensor& x, const char* method) const {
  const int64_t c = options_.channels, s = options_.image_size;
  const bool flat = x.defined() && x.dim() == 2 && x.size(1) == c * s * s;
  const bool image = x.defined() && x.dim() == 4 && x.size(1) == c && x.size(2) == s && x.size(3) == s;
  STRATA_CHECK((flat || image) && x.size(0) >= 1, name_, "::", method, ": expects [batch, ", c * s * s, "] or [batch, ",
               c, ", ", s, ", ", s, "] with batch >= 1, got ", x.defined() ? shape_str(x.shape()) : "an undefined tensor");
  return flat ? reshape(x, {x.size(0), c, s, s}) : x;
}

Encoding SpatialAutoencoder::encode(const Tensor& x) {
  const Tensor h = body_->forward(image_input(x, "encode"));
  Encoding e;
  if (options_.objective != SpatialObjective::Vae) {
    e.code = code_head_->forward(h);
    if (options_.code_relu) e.code = relu(e.code);
    return e;
  }
  e.mean = code_head_->forward(h);
  e.log_var = log_var_head_->forward(h);
  e.code = e.mean;
  return e;
}

Tensor SpatialAutoencoder::decode(const Tensor& z) {
  const Shape want = latent_shape();
  STRATA_CHECK(z.defined() && z.dim() == 4 && z.size(1) == want[0] && z.size(2) == want[1] && z.size(3) == want[2],
               name_, "::decode: expects [batch, ", want[0], ", ", want[1], ", ", want[2], "], got ",
               z.defined() ? shape_str(z.shape()) : "an undefined tensor");
  return decoder_->forward(z);
}

LossTerms SpatialAutoencoder::loss(const Tensor& x, Generator* gen) {
  const Tensor images = image_input(x, "loss");
  const Tensor target = reshape(images, {images.size(0), -1});
  const double batch = static_cast<double>(images.size(0));
  Tensor input = images;
  if (options_.objective == SpatialObjective::Dae) {
    NoGradGuard no_grad;  // the corruption is data, not a computation
    input = add(images, mul(randn(images.shape(), {images.dtype(), images.device()}, gen), options_.noise_sigma));
  }
  const Encoding q = encode(input);
  Tensor z = q.code;
  if (q.stochastic()) {
    const Tensor eps = randn(q.mean.shape(), {q.mean.dtype(), q.mean.device()}, gen);
    z = add(q.mean, mul(exp(mul(q.log_var, 0.5)), eps));
  }
  const Tensor rec = div(binary_cross_entropy_with_logits(decode(z), target, Reduction::Sum), batch);
  if (!q.stochastic()) return {{"loss", rec}, {"reconstruction", rec}};
  const Tensor kl = div(sum(kl_standard_normal(q.mean, q.log_var)), batch);
  return {{"loss", add(rec, kl)}, {"reconstruction", rec}, {"kl", kl}};
}

Tensor SpatialAutoencoder::reconstruct(const Tensor& x) { return sigmoid(decode(encode(x).code)); }

}  // namespace strata::models
