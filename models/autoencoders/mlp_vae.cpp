#include "models/autoencoders/mlp_vae.h"

namespace strata::models {

MlpVae::MlpVae(MlpVaeOptions options, Generator* init_gen) : nn::Module("MlpVae"), options_(std::move(options)) {
  vae_ = register_module(
      "vae", std::make_shared<Vae>(AutoencoderOptions{.input_dim = options_.input_dim,
                                                      .latent_dim = options_.latent_dim,
                                                      .architecture = ArchitectureSpec::mlp(options_.hidden),
                                                      .likelihood = LikelihoodSpec{}},
                                   VaeOptions{}, init_gen, "MlpVae"));
}

VaeLoss MlpVae::loss(const Tensor& x, Generator* gen) {
  const LossTerms terms = vae_->loss(x, gen);
  return {term(terms, "loss"), term(terms, "reconstruction"), term(terms, "kl")};
}

}  // namespace strata::models
