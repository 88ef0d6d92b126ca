#include "engine/data/fashion_mnist.h"

#include <cstdlib>
#include <filesystem>

#include "engine/data/idx.h"

namespace strata {

namespace {

constexpr int64_t kClasses = 10;
constexpr int64_t kSide = 28;

// The file `stem` in `dir`, preferring the compressed form the datasets ship in.
std::string find_file(const std::string& dir, const std::string& stem) {
  namespace fs = std::filesystem;
  for (const char* suffix : {".gz", ""}) {
    const fs::path p = fs::path(dir) / (stem + suffix);
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw Error(
      detail::concat("load_fashion_mnist: cannot find ", stem, "(.gz) in '", dir,
                     "'; install the Debian package dataset-fashion-mnist, or point STRATA_DATA_DIR at a "
                     "directory holding the Fashion-MNIST IDX files"));
}

}  // namespace

std::string fashion_mnist_dir() {
  const char* env = std::getenv("STRATA_DATA_DIR");
  return env && *env ? std::string(env) : std::string("/usr/share/datasets/fashion-mnist");
}

TensorDataset load_fashion_mnist(const std::string& split, bool flatten, const std::string& dir) {
  STRATA_CHECK(split == "train" || split == "test",
               "load_fashion_mnist: split must be \"train\" or \"test\", got \"", split, "\"");
  const std::string root = dir.empty() ? fashion_mnist_dir() : dir;
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string images_path = find_file(root, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(root, prefix + "-labels-idx1-ubyte");

  Tensor images = read_idx_images(images_path, flatten);
  const Tensor labels = read_idx_labels(labels_path);
  const Shape expected = flatten ? Shape{images.size(0), kSide * kSide} : Shape{images.size(0), kSide, kSide};
  STRATA_CHECK(images.shape() == expected, "load_fashion_mnist: '", images_path, "' holds images of shape ",
               shape_str(images.shape()), ", not 28x28");
  STRATA_CHECK(labels.size(0) == images.size(0), "load_fashion_mnist: '", images_path, "' holds ",
               images.size(0), " images but '", labels_path, "' holds ", labels.size(0), " labels");
  const int64_t* l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    STRATA_CHECK(l[i] >= 0 && l[i] < kClasses, "load_fashion_mnist: '", labels_path, "' has label ", l[i],
                 " at position ", i, "; Fashion-MNIST classes are 0..9");
  return TensorDataset(images, labels);
}

}  // namespace strata
