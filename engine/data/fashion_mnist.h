// Fashion-MNIST (Xiao et al. 2017): 28x28 grey images of clothing in 10 classes, 60000 for
// training and 10000 for testing, stored as the four IDX files of the original distribution.
#pragma once

#include <string>

#include "engine/data/dataset.h"

namespace strata {

// The directory searched for the IDX files: $STRATA_DATA_DIR when set, else the Debian package's
// /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();

// split "train" or "test". Inputs are float32 in [0, 1], [N, 784] when `flatten`, else
// [N, 28, 28]; labels are int64 [N] in 0..9. `dir` overrides fashion_mnist_dir().
// Reads <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte, gzipped (.gz) or plain, with
// prefix "train" or "t10k".
TensorDataset load_fashion_mnist(const std::string& split, bool flatten = true, const std::string& dir = "");

}  // namespace strata
