// Embedding: a lookup table of num_embeddings rows of size embedding_dim, as torch.nn.Embedding
// (weight initialised from N(0, 1)). The gradient of a row sums over every occurrence of its index.
#pragma once

#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::nn {

class Embedding final : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator* gen = nullptr);
  // indices: int64 of any shape -> indices.shape + [embedding_dim].
  Tensor forward(const Tensor& indices) override;

  Tensor weight;  // [num_embeddings, embedding_dim]

 private:
  int64_t num_embeddings_, embedding_dim_;
};

}  // namespace strata::nn
