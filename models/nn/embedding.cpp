#include "models/nn/embedding.h"

#include "engine/creation.h"
#include "models/nn/init.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator* gen)
    : Module("Embedding"), num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  STRATA_CHECK(num_embeddings > 0 && embedding_dim > 0,
               "Embedding: num_embeddings and embedding_dim must be > 0, "
               "got ",
               num_embeddings, " and ", embedding_dim);
  weight = empty({num_embeddings, embedding_dim});
  init::normal_(weight, 0.0, 1.0, gen);
  register_parameter("weight", weight);
}

Tensor Embedding::forward(const Tensor& indices) {
  STRATA_CHECK(indices.defined() && indices.dtype() == DType::Int64, "Embedding: indices must be int64, got ",
               indices.defined() ? dtype_name(indices.dtype()) : "an undefined tensor");
  const Tensor flat = reshape(indices, {-1});
  if (flat.numel() > 0) {
    const int64_t lo = min(flat).item<int64_t>(), hi = max(flat).item<int64_t>();
    STRATA_CHECK(lo >= 0 && hi < num_embeddings_, "Embedding: index ", lo < 0 ? lo : hi,
                 " is out of range for ", num_embeddings_, " embeddings (indices of shape ",
                 shape_str(indices.shape()), ")");
  }
  Shape out_shape = indices.shape();
  out_shape.push_back(embedding_dim_);
  return reshape(index_select(weight, 0, flat), out_shape);
}

}  // namespace strata::nn
