// Each rank's share of an epoch in data-parallel training (PyTorch's DistributedSampler).
//
// Every rank draws the same shuffled order of the N examples (the loaders share a seed), and rank
// r of W takes the positions r, r + W, r + 2W, ... of it. The shards are disjoint and equal in
// size, so each step every rank has a batch of the same size. When W does not divide N, either the
// last N mod W positions are left out of this epoch (drop_tail; the next epoch's shuffle leaves
// out others) or the order is padded by repeating its first positions, so a few examples are seen
// twice in the epoch.
//
// Interleaving keeps a W-process run step for step equal to one process with a W-times larger
// batch: rank r's batch i of size B holds positions W (B i + j) + r, j < B, so the ranks' batches of
// step i together are exactly positions W B i ... W B (i + 1) - 1 of the order, the one-process batch.
#pragma once

#include <cstdint>

#include "engine/tensor.h"

namespace strata {

// Examples per rank: floor(N / W) when dropping the tail, ceil(N / W) when padding.
int64_t shard_size(int64_t n, int64_t world_size, bool drop_tail);

// Rank `rank`'s positions of `order` (int64 [N]) as a contiguous int64 [shard_size] tensor.
Tensor shard_of_order(const Tensor& order, int64_t rank, int64_t world_size, bool drop_tail);

}  // namespace strata
