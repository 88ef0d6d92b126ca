// Seeded, counter-based random number generation. A Generator is just (seed, offset): each random
// tensor consumes ceil(numel / 4) Philox blocks starting at the current offset, so results depend
// only on the seed and the order of draws, not on threading or the backend.
#pragma once

#include <cstdint>

namespace strata {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }
  void manual_seed(uint64_t seed) { seed_ = seed, offset_ = 0; }
  // Reserves the blocks for n values and returns the offset of the first.
  uint64_t advance(uint64_t n) {
    const uint64_t start = offset_;
    offset_ += (n + 3) / 4;
    return start;
  }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

// The process-wide generator used when an op is given none (seeded with 0 at start-up).
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace strata
