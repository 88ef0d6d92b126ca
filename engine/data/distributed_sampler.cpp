#include "engine/data/distributed_sampler.h"

namespace strata {

namespace {
void check_rank(const char* op, int64_t rank, int64_t world_size) {
  STRATA_CHECK(world_size >= 1, op, ": world_size must be at least 1, got ", world_size);
  STRATA_CHECK(rank >= 0 && rank < world_size, op, ": rank ", rank, " is not in 0..", world_size - 1);
}
}  // namespace

int64_t shard_size(int64_t n, int64_t world_size, bool drop_tail) {
  check_rank("shard_size", 0, world_size);
  STRATA_CHECK(n >= 0, "shard_size: the dataset size must be >= 0, got ", n);
  return drop_tail ? n / world_size : (n + world_size - 1) / world_size;
}

Tensor shard_of_order(const Tensor& order, int64_t rank, int64_t world_size, bool drop_tail) {
  check_rank("shard_of_order", rank, world_size);
  STRATA_CHECK(order.defined() && order.dim() == 1 && order.dtype() == DType::Int64 && order.device().is_cpu(),
               "shard_of_order: the order must be a CPU int64 vector, got ",
               order.defined() ? shape_str(order.shape()) + " " + dtype_name(order.dtype()) : std::string("undefined"));
  const int64_t n = order.numel();
  const int64_t size = shard_size(n, world_size, drop_tail);
  STRATA_CHECK(n > 0 || size == 0, "shard_of_order: the order is empty");
  const std::vector<int64_t> all = order.to_vector<int64_t>();
  Tensor shard = Tensor::empty({size}, DType::Int64);
  int64_t* out = shard.data_ptr<int64_t>();
  // Position k of the (padded) order is all[k mod N]: padding repeats the order's first positions.
  for (int64_t j = 0; j < size; ++j) out[j] = all[static_cast<size_t>((rank + j * world_size) % n)];
  return shard;
}

}  // namespace strata
