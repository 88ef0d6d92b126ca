// Fashion-MNIST images for the libtorch peer, read the way a libtorch user would without strata:
// zlib over the Debian package's gzipped IDX file, pixels scaled to [0, 1], flattened to 784.
#pragma once

#include <string>

#include <torch/torch.h>

namespace strata::bench::libtorch_peer {

// float32 [N, 784] from e.g. /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
// ($STRATA_FASHION_MNIST_DIR overrides the folder, as for strata). Throws std::runtime_error.
torch::Tensor load_fashion_mnist_train();

}  // namespace strata::bench::libtorch_peer
