// Image grids and PNG files: the grid geometry of torchvision's make_grid, PNGs read back with
// stb_image (size, channels, image and padding pixels, rounding), and the errors for bad input.
#include <stb/stb_image.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "engine/io/image.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("strata_test_image_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct Png {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> pixels{nullptr, stbi_image_free};
  int at(int x, int y, int ch = 0) const { return pixels.get()[(y * width + x) * channels + ch]; }
};

Png read_png(const std::string& path) {
  Png png;
  png.pixels.reset(stbi_load(path.c_str(), &png.width, &png.height, &png.channels, 0));
  INFO("stbi_load(" << path << "): " << (png.pixels ? "ok" : stbi_failure_reason()));
  REQUIRE(png.pixels != nullptr);
  return png;
}

// Image k of a batch is filled with the value (k + 1) / 10, so every tile is recognisable.
Tensor numbered_batch(int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<float> v;
  for (int64_t k = 0; k < n; ++k)
    v.insert(v.end(), static_cast<size_t>(c * h * w), static_cast<float>(k + 1) / 10);
  return from_vector(v, {n, c, h, w});
}

}  // namespace

TEST_CASE("make_grid tiles images as torchvision does", "[image]") {
  SECTION("geometry: nrow per row, padding between and around") {
    const Tensor grid = io::make_grid(numbered_batch(5, 1, 3, 4), 2);
    REQUIRE(grid.shape() == Shape{1, 3 * 5 + 2, 2 * 6 + 2});
    REQUIRE(grid.dtype() == DType::Float32);
    const std::vector<double> g = grid.to_vector<double>();
    auto at = [&](int64_t y, int64_t x) { return g[static_cast<size_t>(y * 14 + x)]; };
    REQUIRE(at(0, 0) == 1.0);           // border
    REQUIRE(at(2, 2) == Approx(0.1));   // image 0, top-left pixel
    REQUIRE(at(4, 5) == Approx(0.1));   // image 0, bottom-right pixel
    REQUIRE(at(2, 6) == 1.0);           // padding between columns
    REQUIRE(at(2, 8) == Approx(0.2));   // image 1
    REQUIRE(at(7, 2) == Approx(0.3));   // image 2, second row
    REQUIRE(at(12, 2) == Approx(0.5));  // image 4, third row
    REQUIRE(at(12, 8) == 1.0);          // the empty last cell keeps pad_value
  }
  SECTION("nrow larger than the batch gives one row; padding 0 and pad_value are honoured") {
    const Tensor x = tensor64({0.1, 0.2, 0.3, 0.4}, {2, 1, 1, 2});
    require_values(io::make_grid(x, 8, 0), {0.1, 0.2, 0.3, 0.4});
    REQUIRE(io::make_grid(x, 8, 0).dtype() == DType::Float64);
    // One image per row: 5 x 4 with a one-pixel frame of 0.5 around and between the images.
    require_values(io::make_grid(x, 1, 1, 0.5), {0.5, 0.5, 0.5, 0.5,  //
                                                 0.5, 0.1, 0.2, 0.5,  //
                                                 0.5, 0.5, 0.5, 0.5,  //
                                                 0.5, 0.3, 0.4, 0.5,  //
                                                 0.5, 0.5, 0.5, 0.5});
  }
  SECTION("values are clamped to [0, 1], infinities included") {
    const Tensor x = tensor64({-0.5, 1.5, -INFINITY, INFINITY}, {1, 1, 2, 2});
    require_values(io::make_grid(x, 1, 0), {0.0, 1.0, 0.0, 1.0});
  }
  SECTION("a non-contiguous batch reads in logical order") {
    const Tensor rows = tensor64({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {1, 1, 2, 3});
    const Tensor transposed = Tensor::make_view(rows, {1, 1, 3, 2}, {6, 6, 1, 3}, 0);
    require_values(io::make_grid(transposed, 1, 0), {0.1, 0.4, 0.2, 0.5, 0.3, 0.6});
  }
}

TEST_CASE("make_grid rejects bad input", "[image]") {
  require_error(
      [] {
        io::make_grid(zeros({4, 784}), 2);
      },
      {"make_grid", "[N, C, H, W]", "[4, 784]", "reshape"});
  require_error(
      [] {
        io::make_grid(zeros({4, 2, 3, 3}), 2);
      },
      {"make_grid", "1 or 3 channels", "[4, 2, 3, 3]"});
  require_error([] { io::make_grid(zeros({0, 1, 3, 3}), 2); }, {"make_grid", "no pixels"});
  require_error([] { io::make_grid(zeros({2, 1, 3, 3}), 0); }, {"make_grid", "nrow", "0"});
  require_error([] { io::make_grid(zeros({2, 1, 3, 3}), 2, -1); }, {"make_grid", "padding", "-1"});
  require_error([] { io::make_grid(zeros({2, 1, 3, 3}), 2, 2, 2.0); }, {"make_grid", "pad_value", "[0, 1]"});
  require_error(
      [] {
        io::make_grid(zeros({2, 1, 3, 3}, {DType::Int64}), 2);
      },
      {"make_grid", "float32", "int64"});
  require_error(
      [] {
        io::make_grid(tensor64({0.5, NAN}, {1, 1, 1, 2}), 1);
      },
      {"make_grid", "element 1", "NaN"});
  require_error([] { io::make_grid(Tensor(), 1); }, {"make_grid", "undefined"});
}

TEST_CASE("save_image_grid writes a PNG that reads back pixel for pixel", "[image]") {
  TempDir dir("grid");
  SECTION("grey grid: size, channels, tiles, padding, rounding") {
    const std::string path = dir.file("grid.png");
    io::save_image_grid(path, numbered_batch(3, 1, 4, 5), 2);
    const Png png = read_png(path);
    REQUIRE(png.channels == 1);
    REQUIRE(png.width == 2 * 7 + 2);
    REQUIRE(png.height == 2 * 6 + 2);
    REQUIRE(png.at(0, 0) == 255);    // border (pad_value 1)
    REQUIRE(png.at(7, 3) == 255);    // padding between columns
    REQUIRE(png.at(2, 2) == 26);     // 0.1 * 255 = 25.5 -> 26
    REQUIRE(png.at(9, 5) == 51);     // 0.2 * 255 = 51
    REQUIRE(png.at(2, 8) == 77);     // 0.3 * 255 = 76.5 -> 77
    REQUIRE(png.at(10, 10) == 255);  // the empty fourth cell
    REQUIRE_FALSE(fs::exists(path + ".tmp"));
    REQUIRE(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  }
  SECTION("RGB image: channels stay in place and halves round up") {
    const std::string path = dir.file("rgb.png");
    // One pixel row of two pixels: R plane, G plane, B plane.
    io::save_png(path, tensor32({1.0f, 0.5f, 0.25f, 0.0f, 0.0f, 2.0f}, {3, 1, 2}));
    const Png png = read_png(path);
    REQUIRE(png.channels == 3);
    REQUIRE(png.width == 2);
    REQUIRE(png.height == 1);
    REQUIRE(png.at(0, 0, 0) == 255);
    REQUIRE(png.at(0, 0, 1) == 64);  // 63.75 rounds to 64, truncation would give 63
    REQUIRE(png.at(0, 0, 2) == 0);
    REQUIRE(png.at(1, 0, 0) == 128);  // 127.5 rounds half up
    REQUIRE(png.at(1, 0, 1) == 0);
    REQUIRE(png.at(1, 0, 2) == 255);  // 2.0 clamped
  }
  SECTION("[H, W] is a grey image and an existing file is replaced") {
    const std::string path = dir.file("hw.png");
    io::save_png(path, ones({2, 3}));
    io::save_png(path, zeros({3, 2}, {DType::Float64}));
    const Png png = read_png(path);
    REQUIRE(png.channels == 1);
    REQUIRE(png.width == 2);
    REQUIRE(png.height == 3);
    REQUIRE(png.at(1, 2) == 0);
  }
}

TEST_CASE("save_png rejects bad images and unwritable paths", "[image]") {
  TempDir dir("errors");
  const std::string path = dir.file("x.png");
  require_error([&] { io::save_png(path, zeros({2, 2, 2})); }, {"save_png", "1 or 3 channels", "[2, 2, 2]"});
  require_error(
      [&] {
        io::save_png(path, zeros({1, 1, 2, 2}));
      },
      {"save_png", "[C, H, W] or [H, W]", "[1, 1, 2, 2]"});
  require_error([&] { io::save_png(path, zeros({0, 3})); }, {"save_png", "no pixels"});
  require_error([&] { io::save_png(path, tensor32({NAN}, {1, 1})); }, {"save_png", "NaN"});
  require_error([&] { io::save_png(path, zeros({2, 2}, {DType::Bool})); }, {"save_png", "bool"});
  const std::string missing = dir.file("no/such/dir/x.png");
  require_error([&] { io::save_png(missing, zeros({2, 2})); }, {"save_png", "cannot write", missing});
  REQUIRE(fs::is_empty(dir.path));
}
