#include "training/classifier_trainable.h"

#include "engine/shape.h"
#include "ops/ops.h"

namespace strata::training {

LossTerms ClassifierTrainable::loss_terms(const Tensor& x, Generator*) {
  throw Error(detail::concat("classifier: needs class labels with the inputs ", shape_str(x.shape()),
                             " (labelled data: fashion-mnist, or a tensors: file with \"train_labels\")"));
}

LossTerms ClassifierTrainable::labelled_loss_terms(const Tensor& x, const Tensor& labels, Generator* gen) {
  if (!labels.defined()) return loss_terms(x, gen);
  const Tensor logits = model_->forward(x);
  const Tensor loss = cross_entropy(logits, labels);
  Tensor error;
  {
    NoGradGuard no_grad;
    error = mean(to_dtype(ne(argmax(logits, 1), labels), DType::Float64));
  }
  return {{"loss", loss}, {"error", error}};
}

Tensor ClassifierTrainable::sample(int64_t, Generator*) {
  throw Error("classifier: a classifier has no samples (it models p(class | x), not x)");
}

Tensor ClassifierTrainable::reconstruct(const Tensor&) {
  throw Error("classifier: a classifier has no reconstructions (it has no decoder)");
}

}  // namespace strata::training
