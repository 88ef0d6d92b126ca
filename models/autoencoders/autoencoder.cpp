#include "models/autoencoders/autoencoder.h"

#include <cmath>

#include "models/autoencoders/conditioning.h"
#include "ops/ops.h"

namespace strata::models {

const Tensor& term(const LossTerms& terms, const std::string& name) {
  std::string names;
  for (const auto& [n, t] : terms) {
    if (n == name) return t;
    names += (names.empty() ? "" : ", ") + n;
  }
  throw Error(detail::concat("loss terms: no term \"", name, "\" (there are: ", names, ")"));
}

Autoencoder::Autoencoder(std::string name, AutoencoderOptions options, bool stochastic, Generator* init)
    : nn::Module(name), name_(std::move(name)), options_(std::move(options)), stochastic_(stochastic) {
  STRATA_CHECK(options_.input_dim >= 1 && options_.latent_dim >= 1, name_, ": input_dim and latent_dim must be >= 1, got ",
               options_.input_dim, " and ", options_.latent_dim);
  STRATA_CHECK(options_.num_classes >= 0, name_, ": num_classes must be >= 0 (0: unconditional), got ",
               options_.num_classes);
  // A conditional encoder reads the input with the one-hot class appended; the decoder reads [z, class].
  EncoderDecoder enc =
      conditional()
          ? build_encoder(conditioned_encoder_spec(options_.architecture, options_.num_classes),
                          conditioned_input_dim(options_.architecture, options_.input_dim, options_.num_classes, name_),
                          name_, init)
          : build_encoder(options_.architecture, options_.input_dim, name_, init);
  encoder_ = register_module("encoder", enc.encoder);
  if (stochastic_) {
    mean_head_ = register_module("mean", std::make_shared<nn::Linear>(enc.features, options_.latent_dim, true, init));
    log_var_head_ = register_module("log_var", std::make_shared<nn::Linear>(enc.features, options_.latent_dim, true, init));
  } else {
    code_head_ = register_module("code", std::make_shared<nn::Linear>(enc.features, options_.latent_dim, true, init));
  }
  decoder_ = register_module("decoder", build_decoder(options_.architecture, options_.latent_dim + options_.num_classes,
                                                      options_.input_dim, name_, init));
  likelihood_ = register_module("likelihood", std::make_shared<Likelihood>(options_.likelihood, options_.input_dim));
}

Tensor Autoencoder::flat_input(const Tensor& x, const char* method) const {
  STRATA_CHECK(x.defined() && x.dim() >= 2 && x.size(0) >= 1, name_, "::", method, ": expects [batch, ", options_.input_dim,
               "] with batch >= 1, got ", x.defined() ? shape_str(x.shape()) : "an undefined tensor");
  int64_t features = 1;
  for (int64_t d = 1; d < x.dim(); ++d) features *= x.size(d);
  STRATA_CHECK(features == options_.input_dim, name_, "::", method, ": expects [batch, ", options_.input_dim,
               "] (or images of ", options_.input_dim, " values), got ", shape_str(x.shape()));
  return x.dim() == 2 ? x : reshape(x, {x.size(0), features});
}

GivenLabels::GivenLabels(Autoencoder& model, const Tensor& labels) : model_(model), previous_(model.condition_) {
  STRATA_CHECK(model.conditional(), model.name(), ": class labels were given, but the model is not class-conditional",
               " (num_classes 0; train it with --conditional)");
  const Tensor probe = model.decoder_->parameters().front();
  model.condition_ = one_hot_condition(labels, model.num_classes(), probe.dtype(), model.name());
}

GivenLabels::~GivenLabels() { model_.condition_ = previous_; }

Tensor Autoencoder::with_condition(const Tensor& x, bool encoder_input, const char* method) const {
  if (!conditional()) return x;
  STRATA_CHECK(condition_.defined(), name_, "::", method, ": the model is conditioned on ", options_.num_classes,
               " classes; give the labels of the batch (models::GivenLabels)");
  STRATA_CHECK(condition_.size(0) == x.size(0), name_, "::", method, ": ", condition_.size(0),
               " class labels were given for ", x.size(0), " rows");
  if (!encoder_input) return cat({x, condition_}, 1);
  return append_condition(x, condition_, options_.architecture, options_.input_dim, name_);
}

Encoding Autoencoder::encode(const Tensor& x) {
  const Tensor h = encoder_->forward(with_condition(flat_input(x, "encode"), true, "encode"));
  if (!stochastic_) return {code_head_->forward(h), Tensor(), Tensor()};
  Encoding e;
  e.mean = mean_head_->forward(h);
  e.log_var = log_var_head_->forward(h);
  e.code = e.mean;
  return e;
}

Tensor Autoencoder::decode(const Tensor& z) {
  STRATA_CHECK(z.defined() && z.dim() == 2 && z.size(1) == options_.latent_dim, name_, "::decode: expects [batch, ",
               options_.latent_dim, "], got ", z.defined() ? shape_str(z.shape()) : "an undefined tensor");
  return decoder_->forward(with_condition(z, false, "decode"));
}

Tensor Autoencoder::reparameterize(const Encoding& q, Generator* gen) const {
  const Tensor eps = randn(q.mean.shape(), {q.mean.dtype(), q.mean.device()}, gen);
  return add(q.mean, mul(exp(mul(q.log_var, 0.5)), eps));
}

Tensor Autoencoder::reconstruction_nll(const Tensor& x, const Tensor& params) const {
  return neg(likelihood_->log_prob(x, params));
}

Tensor Autoencoder::log_importance_weight(const Tensor& x, const Encoding& q, const Tensor& z, Tensor* log_likelihood) {
  const Tensor log_pz = sum(gaussian_log_likelihood(z, zeros_like(z), zeros_like(z)), 1);  // N(0, I)
  const Tensor log_qz = sum(gaussian_log_likelihood(z, q.mean, q.log_var), 1);
  const Tensor log_px = likelihood_->log_prob(x, decode(z));
  if (log_likelihood) *log_likelihood = log_px;
  return add(log_px, sub(log_pz, log_qz));
}

void Autoencoder::require_prior(const char* method) const {
  STRATA_CHECK(has_prior(), name_, "::", method, ": this model has no prior p(z) to ",
               std::string(method) == "sample" ? "sample from" : "score with",
               " (it is a deterministic autoencoder); use a VAE-type model");
}

Tensor Autoencoder::sample(int64_t n, Generator* gen) {
  require_prior("sample");
  STRATA_CHECK(n >= 1, name_, "::sample: n must be positive, got ", n);
  const Tensor probe = decoder_->parameters().front();
  return likelihood_->mean(decode(randn({n, options_.latent_dim}, {probe.dtype(), probe.device()}, gen)));
}

Tensor Autoencoder::decode_mean(const Tensor& z) { return likelihood_->mean(decode(z)); }

Tensor Autoencoder::reconstruct(const Tensor& x) { return decode_mean(encode(x).code); }

Tensor Autoencoder::log_prob(const Tensor& x, int64_t k, Generator* gen) {
  require_prior("log_prob");
  STRATA_CHECK(stochastic_, name_, "::log_prob: needs a stochastic encoder q(z|x) as its proposal");
  STRATA_CHECK(k >= 1, name_, "::log_prob: the number of importance samples K must be >= 1, got ", k);
  const Tensor flat = flat_input(x, "log_prob");
  const Encoding q = encode(flat);
  std::vector<Tensor> log_w;
  log_w.reserve(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) log_w.push_back(log_importance_weight(flat, q, reparameterize(q, gen)));
  return sub(logsumexp(stack(log_w, 0), 0), std::log(static_cast<double>(k)));
}

}  // namespace strata::models
