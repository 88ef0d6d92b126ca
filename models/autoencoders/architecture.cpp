#include "models/autoencoders/architecture.h"

#include <vector>

#include "models/nn/activation.h"
#include "models/nn/conv.h"
#include "models/nn/flatten.h"
#include "models/nn/linear.h"

namespace strata::models {

namespace {

// Channels of the stride-2 convolutional stages: W2's two, and the disentanglement literature's four.
std::vector<int64_t> conv_stages(ArchitectureKind kind) {
  return kind == ArchitectureKind::Conv4 ? std::vector<int64_t>{32, 32, 64, 64} : std::vector<int64_t>{32, 64};
}

nn::Conv2dOptions halving() { return {.stride = {2, 2}, .padding = {1, 1}}; }
nn::ConvTranspose2dOptions doubling() { return {.stride = {2, 2}, .padding = {1, 1}}; }

void check_widths(const ArchitectureSpec& spec, const std::string& model) {
  STRATA_CHECK(!spec.widths.empty(), model, ": the mlp architecture needs at least one hidden width");
  for (int64_t w : spec.widths) STRATA_CHECK(w >= 1, model, ": mlp hidden widths must be >= 1, got ", w);
}

}  // namespace

std::string architecture_name(ArchitectureKind kind) {
  switch (kind) {
    case ArchitectureKind::Mlp: return "mlp";
    case ArchitectureKind::Conv: return "conv";
    case ArchitectureKind::Conv4: return "conv4";
  }
  return "?";
}

ArchitectureKind parse_architecture(const std::string& name) {
  if (name == "mlp") return ArchitectureKind::Mlp;
  if (name == "conv") return ArchitectureKind::Conv;
  if (name == "conv4") return ArchitectureKind::Conv4;
  throw Error(detail::concat("unknown architecture \"", name, "\" (valid: mlp, conv, conv4)"));
}

int64_t conv_image_size(const ArchitectureSpec& spec, int64_t input_dim, const std::string& model) {
  STRATA_CHECK(spec.channels >= 1, model, ": conv channels must be >= 1, got ", spec.channels);
  if (spec.kind == ArchitectureKind::Conv4) {
    STRATA_CHECK(spec.channels * 4096 == input_dim, model, ": the conv4 architecture takes ", spec.channels,
                 " x 64 x 64 (", spec.channels * 4096, ") inputs, got ", input_dim, " features");
    return 64;
  }
  for (int64_t side : {28, 64})
    if (spec.channels * side * side == input_dim) return side;
  throw Error(detail::concat(model, ": the conv architecture takes ", spec.channels, " x 28 x 28 (", spec.channels * 784,
                             ") or ", spec.channels, " x 64 x 64 (", spec.channels * 4096,
                             ") inputs, got ", input_dim, " features"));
}

EncoderDecoder build_encoder(const ArchitectureSpec& spec, int64_t input_dim, const std::string& model,
                             Generator* init) {
  STRATA_CHECK(input_dim >= 1, model, ": input_dim must be >= 1, got ", input_dim);
  auto seq = std::make_shared<nn::Sequential>();
  if (spec.kind == ArchitectureKind::Mlp) {
    check_widths(spec, model);
    int64_t width = input_dim;
    for (int64_t w : spec.widths) {
      seq->push_back(std::make_shared<nn::Linear>(width, w, true, init));
      seq->push_back(std::make_shared<nn::ReLU>());
      width = w;
    }
    return {seq, width};
  }
  const std::vector<int64_t> stages = conv_stages(spec.kind);
  const int64_t side = conv_image_size(spec, input_dim, model), last = side >> stages.size();
  STRATA_CHECK(spec.conv_features >= 1, model, ": conv_features must be >= 1, got ", spec.conv_features);
  seq->push_back(std::make_shared<nn::Unflatten>(1, Shape{spec.channels, side, side}));
  int64_t channels = spec.channels;
  for (int64_t c : stages) {
    seq->push_back(std::make_shared<nn::Conv2d>(channels, c, Pair{4, 4}, halving(), init));
    seq->push_back(std::make_shared<nn::ReLU>());
    channels = c;
  }
  seq->push_back(std::make_shared<nn::Flatten>());
  seq->push_back(std::make_shared<nn::Linear>(channels * last * last, spec.conv_features, true, init));
  seq->push_back(std::make_shared<nn::ReLU>());
  return {seq, spec.conv_features};
}

std::shared_ptr<nn::Sequential> build_decoder(const ArchitectureSpec& spec, int64_t latent_dim, int64_t output_dim,
                                              const std::string& model, Generator* init) {
  STRATA_CHECK(latent_dim >= 1, model, ": latent_dim must be >= 1, got ", latent_dim);
  auto seq = std::make_shared<nn::Sequential>();
  if (spec.kind == ArchitectureKind::Mlp) {
    check_widths(spec, model);
    int64_t width = latent_dim;
    for (size_t i = spec.widths.size(); i-- > 0;) {
      seq->push_back(std::make_shared<nn::Linear>(width, spec.widths[i], true, init));
      seq->push_back(std::make_shared<nn::ReLU>());
      width = spec.widths[i];
    }
    seq->push_back(std::make_shared<nn::Linear>(width, output_dim, true, init));
    return seq;
  }
  const std::vector<int64_t> stages = conv_stages(spec.kind);
  const int64_t side = conv_image_size(spec, output_dim, model), last = side >> stages.size();
  seq->push_back(std::make_shared<nn::Linear>(latent_dim, spec.conv_features, true, init));
  seq->push_back(std::make_shared<nn::ReLU>());
  seq->push_back(std::make_shared<nn::Linear>(spec.conv_features, stages.back() * last * last, true, init));
  seq->push_back(std::make_shared<nn::ReLU>());
  seq->push_back(std::make_shared<nn::Unflatten>(1, Shape{stages.back(), last, last}));
  // The encoder's stages in reverse: each transposed convolution doubles the side and goes to the
  // channels of the stage before; the last goes to the image's.
  for (size_t i = stages.size(); i-- > 0;) {
    const int64_t to = i > 0 ? stages[i - 1] : spec.channels;
    seq->push_back(std::make_shared<nn::ConvTranspose2d>(stages[i], to, Pair{4, 4}, doubling(), init));
    if (i > 0) seq->push_back(std::make_shared<nn::ReLU>());
  }
  seq->push_back(std::make_shared<nn::Flatten>());
  return seq;
}

}  // namespace strata::models
