// Data loading: the IDX reader on small files written here (plain and gzipped, valid and broken),
// Fashion-MNIST from disk when installed, TensorDataset and DataLoader.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "engine/data/dataset.h"
#include "engine/data/fashion_mnist.h"
#include "engine/data/idx.h"
#include "engine/data/loader.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

// A fresh directory per test case (ctest runs cases as parallel processes), removed afterwards.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("strata_test_data_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

Bytes idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& payload) {
  Bytes out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void write_plain(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_plain(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

// Sets an environment variable for one scope and restores the previous value.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(const std::string& n, const std::string& value) : name(n) {
    if (const char* v = std::getenv(n.c_str())) old = v;
    ::setenv(n.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

const Bytes kPixels = {0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6};  // 2 images of 2x3

std::vector<double> scaled(const Bytes& b) {
  std::vector<double> out;
  for (uint8_t v : b) out.push_back(static_cast<float>(v) / 255.0f);
  return out;
}

// A dataset whose inputs row i holds the number i, so a batch shows which examples it gathered.
TensorDataset numbered(int64_t n) {
  const Tensor idx = arange(static_cast<double>(n));
  return TensorDataset(reshape(to_dtype(idx, DType::Float32), {n, 1}), idx);
}

std::vector<int64_t> epoch_labels(DataLoader& loader) {
  std::vector<int64_t> seen;
  for (const Batch& b : loader) {
    const std::vector<int64_t> l = b.labels.to_vector<int64_t>();
    const std::vector<float> x = b.inputs.to_vector<float>();
    REQUIRE(l.size() == x.size());
    for (size_t i = 0; i < l.size(); ++i) REQUIRE(x[i] == static_cast<float>(l[i]));  // rows stay paired
    seen.insert(seen.end(), l.begin(), l.end());
  }
  return seen;
}

}  // namespace

TEST_CASE("read_idx reads images and labels from plain and gzipped files", "[data]") {
  TempDir dir("idx_roundtrip");
  const Bytes images = idx_bytes(0x08, {2, 2, 3}, kPixels);
  const Bytes labels = idx_bytes(0x08, {4}, {3, 0, 9, 255});
  write_plain(dir.file("images"), images);
  write_gzip(dir.file("images.gz"), images);
  write_plain(dir.file("labels"), labels);
  write_gzip(dir.file("labels.gz"), labels);
  for (const char* suffix : {"", ".gz"}) {
    const Tensor x = read_idx_images(dir.file(std::string("images") + suffix));
    REQUIRE(x.shape() == Shape{2, 2, 3});
    REQUIRE(x.dtype() == DType::Float32);
    require_values(x, scaled(kPixels), 0.0);
    const Tensor flat = read_idx_images(dir.file(std::string("images") + suffix), true);
    REQUIRE(flat.shape() == Shape{2, 6});
    require_values(flat, scaled(kPixels), 0.0);
    const Tensor y = read_idx_labels(dir.file(std::string("labels") + suffix));
    REQUIRE(y.dtype() == DType::Int64);
    REQUIRE(y.to_vector<int64_t>() == std::vector<int64_t>{3, 0, 9, 255});
  }
  // Empty files of a valid header are fine: zero examples.
  write_plain(dir.file("none"), idx_bytes(0x08, {0, 28, 28}, {}));
  REQUIRE(read_idx_images(dir.file("none")).shape() == Shape{0, 28, 28});
}

TEST_CASE("read_idx rejects missing files, bad magic, other element types and wrong ranks",
          "[data][errors]") {
  TempDir dir("idx_header");
  const std::string missing = dir.file("nope.gz");
  require_error([&] { read_idx_images(missing); }, {"read_idx", "cannot open", missing});

  const std::string text = dir.file("text");
  write_plain(text, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'});
  require_error([&] { read_idx_labels(text); }, {"read_idx", text, "not an IDX file", "0x68 0x65"});

  const std::string tiny = dir.file("tiny");
  write_plain(tiny, {0, 0});
  require_error([&] { read_idx_labels(tiny); }, {"read_idx", tiny, "too short", "2 bytes"});

  const std::string floats = dir.file("floats");
  write_plain(floats, idx_bytes(0x0D, {1}, {0, 0, 0, 0}));
  require_error([&] { read_idx_labels(floats); }, {"read_idx", floats, "0x0d", "float32", "0x08"});

  const std::string labels = dir.file("labels.gz");
  write_gzip(labels, idx_bytes(0x08, {3}, {1, 2, 3}));
  require_error([&] { read_idx_images(labels); }, {"read_idx", labels, "1 dims", "images need 3"});
  const std::string images = dir.file("images");
  write_plain(images, idx_bytes(0x08, {2, 2, 3}, kPixels));
  require_error([&] { read_idx_labels(images); }, {"read_idx", images, "3 dims", "labels need 1"});

  // The header says 3 dims but the file stops after the first two sizes.
  const std::string cut_header = dir.file("cut_header");
  Bytes h = idx_bytes(0x08, {2, 2, 3}, {});
  h.resize(4 + 8);
  write_plain(cut_header, h);
  require_error([&] { read_idx_images(cut_header); },
                {"read_idx", cut_header, "truncated inside its header"});
}

TEST_CASE("read_idx rejects sizes that do not match the data, without trusting the header",
          "[data][errors]") {
  TempDir dir("idx_sizes");
  const std::string short_file = dir.file("short");
  write_plain(short_file, idx_bytes(0x08, {2, 2, 3}, Bytes(kPixels.begin(), kPixels.begin() + 10)));
  require_error([&] { read_idx_images(short_file); },
                {"read_idx", short_file, "truncated", "[2, 2, 3]", "12 bytes", "only 10"});

  const std::string long_file = dir.file("long.gz");
  Bytes extra = kPixels;
  extra.push_back(7);
  write_gzip(long_file, idx_bytes(0x08, {2, 2, 3}, extra));
  require_error([&] { read_idx_images(long_file); }, {"read_idx", long_file, "more data", "12 bytes"});

  // A header claiming a terabyte over 12 real bytes must fail on the missing data, not allocate it.
  const std::string liar = dir.file("liar.gz");
  write_gzip(liar, idx_bytes(0x08, {1000000000, 1000, 1000}, kPixels));
  require_error([&] { read_idx_images(liar); },
                {"read_idx", liar, "truncated", "1000000000000000 bytes", "only 12"});

  const std::string overflow = dir.file("overflow");
  write_plain(overflow, idx_bytes(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, kPixels));
  require_error([&] { read_idx_images(overflow); }, {"read_idx", overflow, "overflows"});
}

TEST_CASE("read_idx reports truncated and corrupt gzip streams", "[data][errors]") {
  TempDir dir("idx_gzip");
  Bytes payload(4000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>((i * 7919) % 251);
  const std::string whole = dir.file("whole.gz");
  write_gzip(whole, idx_bytes(0x08, {4000}, payload));
  const Bytes compressed = read_plain(whole);
  REQUIRE(compressed.size() > 100);

  const std::string cut = dir.file("cut.gz");
  write_plain(cut, Bytes(compressed.begin(),
                         compressed.begin() + static_cast<std::ptrdiff_t>(compressed.size() / 2)));
  require_error([&] { read_idx_labels(cut); }, {"read_idx", cut, "truncated", "4000 bytes"});

  // Garbage after a valid gzip header: the deflate data cannot be decoded.
  Bytes bad(compressed.begin(), compressed.begin() + 10);
  for (int i = 0; i < 200; ++i) bad.push_back(static_cast<uint8_t>(0xFF - i));
  const std::string corrupt = dir.file("corrupt.gz");
  write_plain(corrupt, bad);
  require_error([&] { read_idx_labels(corrupt); }, {"read_idx", corrupt, "cannot be decompressed"});
}

TEST_CASE("load_fashion_mnist finds the files through STRATA_DATA_DIR and checks them", "[data]") {
  TempDir dir("fashion_small");
  Bytes pixels(3 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i % 256);
  write_gzip(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes(0x08, {3, 28, 28}, pixels));
  write_plain(dir.file("t10k-labels-idx1-ubyte"), idx_bytes(0x08, {3}, {9, 0, 4}));
  ScopedEnv env("STRATA_DATA_DIR", dir.path.string());
  REQUIRE(fashion_mnist_dir() == dir.path.string());
  const TensorDataset test = load_fashion_mnist("test");
  REQUIRE(test.size() == 3);
  REQUIRE(test.inputs().shape() == Shape{3, 784});
  REQUIRE(test.labels().to_vector<int64_t>() == std::vector<int64_t>{9, 0, 4});
  REQUIRE(load_fashion_mnist("test", false).inputs().shape() == Shape{3, 28, 28});

  require_error([&] { load_fashion_mnist("train"); }, {"load_fashion_mnist", "train-images-idx3-ubyte",
                                                       dir.path.string(), "dataset-fashion-mnist"});
  require_error([&] { load_fashion_mnist("validation"); }, {"load_fashion_mnist", "\"validation\""});

  write_plain(dir.file("t10k-labels-idx1-ubyte"), idx_bytes(0x08, {3}, {9, 10, 4}));
  require_error([&] { load_fashion_mnist("test"); },
                {"load_fashion_mnist", "label 10", "position 1", "0..9"});
  write_plain(dir.file("t10k-labels-idx1-ubyte"), idx_bytes(0x08, {2}, {9, 1}));
  require_error([&] { load_fashion_mnist("test"); }, {"load_fashion_mnist", "3 images", "2 labels"});
}

TEST_CASE("the installed Fashion-MNIST test set has 1000 images of each class in [0, 1]", "[data][fashion]") {
  const std::string dir = fashion_mnist_dir();
  if (!fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz") &&
      !fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte")) {
    WARN("Fashion-MNIST not found in " << dir << " (install dataset-fashion-mnist): skipping");
    return;
  }
  const TensorDataset test = load_fashion_mnist("test", false);
  REQUIRE(test.inputs().shape() == Shape{10000, 28, 28});
  REQUIRE(test.labels().shape() == Shape{10000});
  std::map<int64_t, int> counts;
  for (int64_t l : test.labels().to_vector<int64_t>()) ++counts[l];
  REQUIRE(counts.size() == 10);
  for (const auto& [label, count] : counts) {
    INFO("label " << label);
    REQUIRE(count == 1000);
  }
  const std::vector<float> pixels = test.inputs().to_vector<float>();
  const auto [lo, hi] = std::minmax_element(pixels.begin(), pixels.end());
  REQUIRE(*lo == 0.0f);
  REQUIRE(*hi == 1.0f);

  // The training labels are small enough to read every run: 6000 of each class.
  const fs::path gz = fs::path(dir) / "train-labels-idx1-ubyte.gz";
  const Tensor train_labels =
      read_idx_labels(fs::exists(gz) ? gz.string() : dir + "/train-labels-idx1-ubyte");
  REQUIRE(train_labels.numel() == 60000);
  std::map<int64_t, int> train_counts;
  for (int64_t l : train_labels.to_vector<int64_t>()) ++train_counts[l];
  for (const auto& [label, count] : train_counts) REQUIRE(count == 6000);
}

TEST_CASE("TensorDataset gathers paired rows and checks its inputs", "[data]") {
  const Tensor inputs = reshape(arange(12.0, {DType::Float32}), {4, 3});
  const TensorDataset ds(inputs, from_vector(std::vector<int64_t>{10, 11, 12, 13}, {4}));
  REQUIRE(ds.size() == 4);
  const Batch b = ds.gather(from_vector(std::vector<int64_t>{2, 0, 2}, {3}));
  REQUIRE(b.inputs.shape() == Shape{3, 3});
  require_values(b.inputs, {6, 7, 8, 0, 1, 2, 6, 7, 8}, 0.0);
  REQUIRE(b.labels.to_vector<int64_t>() == std::vector<int64_t>{12, 10, 12});

  // A transposed (non-contiguous) input is stored contiguously, and an unlabelled dataset works.
  const TensorDataset tds(transpose(inputs, 0, 1));
  REQUIRE(tds.size() == 3);
  require_values(tds.gather(from_vector(std::vector<int64_t>{1}, {1})).inputs, {1, 4, 7, 10}, 0.0);
  REQUIRE_FALSE(tds.gather(from_vector(std::vector<int64_t>{0}, {1})).labels.defined());

  require_error(
      [&] {
        TensorDataset(inputs, from_vector(std::vector<int64_t>{1, 2, 3}, {3}));
      },
      {"TensorDataset", "[4, 3]", "[3]"});
  require_error([&] { TensorDataset(scalar_tensor(1.0)); }, {"TensorDataset", "[]"});
  require_error([&] { ds.gather(from_vector(std::vector<int64_t>{4}, {1})); },
                {"index", "4", "out of range"});
  require_error([&] { ds.gather(tensor64({1}, {1})); }, {"TensorDataset::gather", "int64", "float64"});
}

TEST_CASE("DataLoader counts batches with and without drop_last", "[data]") {
  const TensorDataset ds(zeros({60000, 1}), zeros({60000}, {DType::Int64}));
  DataLoader keep(ds, {.batch_size = 128});
  DataLoader drop(ds, {.batch_size = 128, .drop_last = true});
  REQUIRE(keep.num_batches() == 469);
  REQUIRE(drop.num_batches() == 468);
  keep.start_epoch();
  REQUIRE(keep.batch(0).inputs.shape() == Shape{128, 1});
  REQUIRE(keep.batch(468).inputs.shape() == Shape{96, 1});  // 60000 - 468 * 128
  require_error([&] { keep.batch(469); }, {"DataLoader", "469", "469 batches"});
  drop.start_epoch();
  REQUIRE(drop.batch(467).labels.shape() == Shape{128});
  require_error([&] { drop.batch(468); }, {"DataLoader", "468"});

  REQUIRE(DataLoader(numbered(5), {.batch_size = 8, .drop_last = true}).num_batches() == 0);
  REQUIRE(DataLoader(numbered(5), {.batch_size = 8}).num_batches() == 1);
  require_error([&] { DataLoader(ds, {.batch_size = 0}); }, {"DataLoader", "batch_size", "0"});
  require_error([&] { DataLoader(ds, {.batch_size = 4}).batch(0); }, {"DataLoader", "start_epoch"});
}

TEST_CASE("DataLoader visits every example once per epoch, in order unless shuffled", "[data]") {
  DataLoader ordered(numbered(100), {.batch_size = 32});
  std::vector<int64_t> expected(100);
  for (int64_t i = 0; i < 100; ++i) expected[i] = i;
  REQUIRE(epoch_labels(ordered) == expected);

  DataLoader shuffled(numbered(1000), {.batch_size = 64, .shuffle = true, .seed = 7});
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<int64_t> seen = epoch_labels(shuffled);
    REQUIRE(seen.size() == 1000);
    REQUIRE(seen != std::vector<int64_t>(expected.begin(), expected.end()));
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 1000; ++i) REQUIRE(seen[i] == i);
  }
  REQUIRE(shuffled.epochs_started() == 2);

  // drop_last leaves out the remainder: 15 full batches of 64 distinct examples.
  DataLoader dropping(numbered(1000), {.batch_size = 64, .shuffle = true, .drop_last = true, .seed = 7});
  std::vector<int64_t> seen = epoch_labels(dropping);
  REQUIRE(seen.size() == 960);
  std::sort(seen.begin(), seen.end());
  REQUIRE(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

TEST_CASE("DataLoader reshuffles every epoch, reproducibly for a seed", "[data]") {
  const DataLoaderOptions opt{.batch_size = 50, .shuffle = true, .seed = 42};
  DataLoader a(numbered(500), opt), b(numbered(500), opt);
  DataLoaderOptions other = opt;
  other.seed = 43;
  DataLoader c(numbered(500), other);
  const std::vector<int64_t> a1 = epoch_labels(a), a2 = epoch_labels(a);
  REQUIRE(a1 != a2);               // a new order each epoch
  REQUIRE(epoch_labels(b) == a1);  // the same seed replays the same epochs
  REQUIRE(epoch_labels(b) == a2);
  REQUIRE(epoch_labels(c) != a1);
  // The loader's generator is its own: drawing from the default generator changes nothing.
  DataLoader d(numbered(500), opt);
  randn({100});
  REQUIRE(epoch_labels(d) == a1);
}
