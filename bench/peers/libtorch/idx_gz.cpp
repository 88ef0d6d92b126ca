#include "bench/peers/libtorch/idx_gz.h"

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace strata::bench::libtorch_peer {

torch::Tensor load_fashion_mnist_train() {
  const char* env = std::getenv("STRATA_FASHION_MNIST_DIR");
  const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
  const std::string path = dir + "/train-images-idx3-ubyte.gz";
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("libtorch peer: cannot open " + path);
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
  gzclose(f);
  auto be32 = [&](size_t at) {
    return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) | (uint32_t{bytes[at + 2]} << 8) | bytes[at + 3];
  };
  if (bytes.size() < 16 || be32(0) != 0x00000803) throw std::runtime_error("libtorch peer: " + path + " is not IDX images");
  const int64_t count = be32(4), rows = be32(8), cols = be32(12);
  if (bytes.size() != 16 + static_cast<size_t>(count * rows * cols))
    throw std::runtime_error("libtorch peer: " + path + " has the wrong size");
  torch::Tensor pixels = torch::from_blob(bytes.data() + 16, {count, rows * cols}, torch::kUInt8);
  return pixels.to(torch::kFloat32).div_(255.0);
}

}  // namespace strata::bench::libtorch_peer
