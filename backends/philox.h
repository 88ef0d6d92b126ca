// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
// Counter-based: the i-th block of four 32-bit numbers is a pure function of (seed, counter), so any
// element of a random tensor can be computed independently, in any order, on any backend, and a
// generator's state is just (seed, offset). The CUDA backend uses the same function.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define STRATA_HOST_DEVICE __host__ __device__
#else
#define STRATA_HOST_DEVICE
#endif

namespace strata::philox {

struct Block {
  uint32_t v[4];
};

STRATA_HOST_DEVICE inline Block generate(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in the open interval (0, 1), so log() of it is always finite.
STRATA_HOST_DEVICE inline double to_unit_double(uint32_t x) { return (static_cast<double>(x) + 0.5) * 0x1p-32; }

// The four values of block `block` of a uniform stream: element i of the stream is lane i % 4 of
// block i / 4 (counter offset + i / 4).
struct Quad {
  double v[4];
};

STRATA_HOST_DEVICE inline Quad uniform4(uint64_t seed, uint64_t offset, uint64_t block) {
  const Block b = generate(seed, offset + block);
  return {{to_unit_double(b.v[0]), to_unit_double(b.v[1]), to_unit_double(b.v[2]), to_unit_double(b.v[3])}};
}

// The four values of block `block` of a standard normal stream: Box-Muller on lanes (0,1) and (2,3).
STRATA_HOST_DEVICE inline Quad normal4(uint64_t seed, uint64_t offset, uint64_t block) {
  const Quad u = uniform4(seed, offset, block);
  Quad z;
  for (int pair = 0; pair < 2; ++pair) {
    const double r = std::sqrt(-2.0 * std::log(u.v[2 * pair]));
    const double angle = 6.283185307179586476925 * u.v[2 * pair + 1];
    z.v[2 * pair] = r * std::cos(angle);
    z.v[2 * pair + 1] = r * std::sin(angle);
  }
  return z;
}

// Element i of each stream on its own (kernels that fill whole tensors go a block at a time).
STRATA_HOST_DEVICE inline double uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  return uniform4(seed, offset, i / 4).v[i % 4];
}
STRATA_HOST_DEVICE inline double normal(uint64_t seed, uint64_t offset, uint64_t i) {
  return normal4(seed, offset, i / 4).v[i % 4];
}

}  // namespace strata::philox
