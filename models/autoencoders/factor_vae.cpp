#include "models/autoencoders/factor_vae.h"

#include <cmath>

#include "models/nn/activation.h"
#include "models/nn/linear.h"
#include "ops/ops.h"

namespace strata::models {

namespace {
constexpr const char* kDiscriminator = "discriminator";
}

Tensor permute_dims(const Tensor& z, Generator* gen) {
  STRATA_CHECK(z.defined() && z.dim() == 2, "permute_dims: expects codes [batch, latent], got ",
               z.defined() ? shape_str(z.shape()) : "an undefined tensor");
  const int64_t n = z.size(0), l = z.size(1);
  std::vector<int64_t> index(static_cast<size_t>(n * l));
  for (int64_t j = 0; j < l; ++j) {
    const std::vector<int64_t> perm = randperm(n, gen).to_vector<int64_t>();
    for (int64_t i = 0; i < n; ++i) index[static_cast<size_t>(i * l + j)] = perm[static_cast<size_t>(i)];
  }
  return gather(z, 0, from_vector(index, {n, l}, z.device()));
}

FactorVae::FactorVae(AutoencoderOptions options, VaeOptions vae, FactorVaeOptions factor, Generator* init,
                     std::string name)
    : Vae(std::move(options), vae, init, std::move(name)), factor_(std::move(factor)) {
  STRATA_CHECK(factor_.gamma >= 0 && std::isfinite(factor_.gamma), this->name(), ": gamma must be >= 0, got ",
               factor_.gamma);
  STRATA_CHECK(!factor_.discriminator_widths.empty(), this->name(), ": the discriminator needs at least one hidden layer");
  STRATA_CHECK(factor_.negative_slope >= 0 && std::isfinite(factor_.negative_slope), this->name(),
               ": the discriminator's LeakyReLU slope must be >= 0, got ", factor_.negative_slope);
  STRATA_CHECK(factor_.discriminator_optimizer.lr > 0 && std::isfinite(factor_.discriminator_optimizer.lr), this->name(),
               ": the discriminator's learning rate must be positive, got ", factor_.discriminator_optimizer.lr);
  auto d = std::make_shared<nn::Sequential>();
  int64_t width = this->options().latent_dim;
  for (int64_t w : factor_.discriminator_widths) {
    STRATA_CHECK(w >= 1, this->name(), ": discriminator widths must be >= 1, got ", w);
    d->push_back(std::make_shared<nn::Linear>(width, w, true, init));
    d->push_back(std::make_shared<nn::LeakyReLU>(factor_.negative_slope));
    width = w;
  }
  d->push_back(std::make_shared<nn::Linear>(width, 2, true, init));
  discriminator_ = register_module(kDiscriminator, d);
}

std::vector<std::string> FactorVae::loss_names() const {
  std::vector<std::string> names = Vae::loss_names();
  names.push_back("tc");
  return names;
}

FactorVaeLoss FactorVae::loss_and_code(const Tensor& x, Generator* gen) {
  const Tensor flat = flat_input(x, "loss");
  const Encoding q = encode(flat);
  const Tensor z = sample_posterior(q, gen);
  LossTerms terms = elbo_terms(flat, q, z);
  const Tensor tc = total_correlation(discriminator_logits(z));
  terms.front().second = add(terms.front().second, mul(tc, factor_.gamma));
  terms.push_back({"tc", tc});
  return {std::move(terms), z};
}

Tensor FactorVae::discriminator_logits(const Tensor& z) {
  STRATA_CHECK(z.defined() && z.dim() == 2 && z.size(1) == options().latent_dim, name(),
               "::discriminator: expects codes [batch, ", options().latent_dim, "], got ",
               z.defined() ? shape_str(z.shape()) : "an undefined tensor");
  return discriminator_->forward(z);
}

Tensor FactorVae::total_correlation(const Tensor& logits) {
  STRATA_CHECK(logits.defined() && logits.dim() == 2 && logits.size(1) == 2,
               "FactorVAE::total_correlation: expects the discriminator's logits [batch, 2], got ",
               logits.defined() ? shape_str(logits.shape()) : "an undefined tensor");
  return mean(sub(select(logits, 1, 0), select(logits, 1, 1)));
}

DiscriminatorTerms FactorVae::discriminator_terms(const Tensor& z, Generator* gen) {
  STRATA_CHECK(z.defined() && z.dim() == 2 && z.size(0) >= 2, name(),
               "::discriminator_terms: needs codes [batch >= 2, latent] to permute, got ",
               z.defined() ? shape_str(z.shape()) : "an undefined tensor");
  const Tensor joint = z.detach();
  const Tensor permuted = permute_dims(joint, gen);
  const int64_t n = joint.size(0);
  const Tensor joint_logits = discriminator_logits(joint), permuted_logits = discriminator_logits(permuted);
  const Tensor zeros_class = zeros({n}, {DType::Int64, z.device()}),
               ones_class = ones({n}, {DType::Int64, z.device()});
  const Tensor loss =
      mul(add(cross_entropy(joint_logits, zeros_class), cross_entropy(permuted_logits, ones_class)), 0.5);
  Tensor accuracy;
  {
    NoGradGuard no_grad;
    const Tensor right = add(sum(to_dtype(eq(argmax(joint_logits, 1), zeros_class), joint.dtype())),
                             sum(to_dtype(eq(argmax(permuted_logits, 1), ones_class), joint.dtype())));
    accuracy = div(right, static_cast<double>(2 * n));
  }
  return {loss, accuracy};
}

std::vector<Tensor> FactorVae::vae_parameters() const {
  std::vector<Tensor> out;
  const std::string prefix = std::string(kDiscriminator) + ".";
  for (const auto& [name, p] : named_parameters())
    if (name.rfind(prefix, 0) != 0) out.push_back(p);
  return out;
}

}  // namespace strata::models
