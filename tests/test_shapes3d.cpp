// The procedural 3D Shapes stand-in (engine/data/shapes3d.h): its six factors, colours and pixels
// worked out by hand from the geometry the header fixes, and training on its RGB images.
#include <filesystem>

#include <stb/stb_image.h>

#include "engine/data/shapes3d.h"
#include "models/autoencoders/autoencoder.h"
#include "test_helpers.h"
#include "training/registry.h"
#include "training/run_config.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

// Pixel (row, col) of one image as {r, g, b} (channel-major storage).
std::vector<float> rgb_at(const std::vector<float>& image, int row, int col) {
  return {image[row * 64 + col], image[4096 + row * 64 + col], image[2 * 4096 + row * 64 + col]};
}

void require_rgb(const std::vector<float>& image, int row, int col, std::vector<float> expected) {
  const std::vector<float> got = rgb_at(image, row, col);
  INFO("pixel (" << row << ", " << col << "): " << got[0] << " " << got[1] << " " << got[2]);
  for (int k = 0; k < 3; ++k) REQUIRE(got[k] == Approx(expected[k]).margin(1e-6));
}

std::vector<float> image_of(const std::vector<int64_t>& classes) {
  return Shapes3d().render(from_vector(classes, {1, 6})).to_vector<float>();
}

}  // namespace

TEST_CASE("shapes3d: six factors, 480,000 images, HSV colours", "[shapes3d]") {
  const Shapes3d d;
  REQUIRE(d.factor_sizes() == std::vector<int64_t>{10, 10, 10, 8, 4, 15});
  REQUIRE(d.size() == 480000);
  REQUIRE(d.channels() == 3);
  REQUIRE(d.observation_dim() == 3 * 64 * 64);
  REQUIRE(d.index_of(d.factors_of(123457)) == 123457);
  REQUIRE(Shapes3d::factor_value(Shapes3d::Orientation, 7) == Approx(0.0).margin(1e-12));
  REQUIRE(Shapes3d::factor_value(Shapes3d::Scale, 7) == Approx(1.25));
  float rgb[3];
  Shapes3d::hsv_to_rgb(0, 1, 1, rgb);  // red
  REQUIRE(std::vector<float>(rgb, rgb + 3) == std::vector<float>{1, 0, 0});
  Shapes3d::hsv_to_rgb(1.0 / 3, 1, 1, rgb);  // green
  REQUIRE(rgb[0] == Approx(0).margin(1e-6));
  REQUIRE(rgb[1] == Approx(1));
  Shapes3d::hsv_to_rgb(0.3, 1, 1, rgb);  // sector 1, f = 0.8: (1 - 0.8, 1, 0)
  REQUIRE(rgb[0] == Approx(0.2));
  REQUIRE(rgb[2] == Approx(0).margin(1e-6));
  require_error(
      [&] {
        d.render(from_vector(std::vector<int64_t>{0, 0, 0, 0, 4, 0}, {1, 6}));
      },
      {"shapes3d", "shape", "0..3", "got 4"});
}

TEST_CASE("shapes3d: wall, floor, object and horizon pixels by hand", "[shapes3d]") {
  // Orientation class 7 = 0 degrees: the horizon is the line y = 38, so rows 0..37 (centres up to
  // 37.5) are wall and rows 38..63 floor. Wall hue 0: HSV(0, 0.5, 1) = (1, 0.5, 0.5); floor hue 0:
  // HSV(0, 1, 0.6) = (0.6, 0, 0).
  // Cube, scale class 0 (w = 7.5 px), object hue 3 (HSV(0.3, 1, 1) = (0.2, 1, 0)): |col + 0.5 - 32| <= 7.5
  // gives columns 24..39, 0 <= 38 - (row + 0.5) <= 15 gives rows 23..37.
  const std::vector<float> cube = image_of({0, 0, 3, 0, Shapes3d::Cube, 7});
  require_rgb(cube, 0, 0, {1, 0.5, 0.5});
  require_rgb(cube, 37, 0, {1, 0.5, 0.5});
  require_rgb(cube, 38, 0, {0.6, 0, 0});
  require_rgb(cube, 63, 63, {0.6, 0, 0});
  require_rgb(cube, 30, 30, {0.2, 1, 0});
  require_rgb(cube, 23, 24, {0.2, 1, 0});
  require_rgb(cube, 37, 39, {0.2, 1, 0});
  require_rgb(cube, 22, 30, {1, 0.5, 0.5});
  require_rgb(cube, 30, 23, {1, 0.5, 0.5});
  require_rgb(cube, 30, 40, {1, 0.5, 0.5});
  require_rgb(cube, 38, 30, {0.6, 0, 0});
  // Orientation class 14 = 30 degrees, counter-clockwise: at column 63 (dx = 31) the height above the
  // horizon of row 25 (dy = -12.5) is -31 sin 30 + 12.5 cos 30 = -4.67 < 0: floor, where it was wall.
  const std::vector<float> tilted = image_of({0, 0, 3, 0, Shapes3d::Cube, 14});
  require_rgb(cube, 25, 63, {1, 0.5, 0.5});
  require_rgb(tilted, 25, 63, {0.6, 0, 0});
  // ... and at column 0 (dx = -31.5), row 50 (dy = 12.5): 15.75 - 10.83 > 0, wall where it was floor.
  require_rgb(cube, 50, 0, {0.6, 0, 0});
  require_rgb(tilted, 50, 0, {1, 0.5, 0.5});
  // The four shapes differ, and a larger scale covers more of the picture.
  std::vector<std::vector<float>> shapes;
  for (int64_t s = 0; s < 4; ++s) shapes.push_back(image_of({0, 0, 3, 4, s, 7}));
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) REQUIRE(shapes[a] != shapes[b]);
  auto object_pixels = [](const std::vector<float>& image) {
    int n = 0;
    for (int p = 0; p < 4096; ++p) n += image[p] == Approx(0.2f) && image[4096 + p] == 1.0f;
    return n;
  };
  REQUIRE(object_pixels(cube) == 16 * 15);
  REQUIRE(object_pixels(image_of({0, 0, 3, 7, Shapes3d::Cube, 7})) > object_pixels(cube));
}

TEST_CASE("strata train --data shapes3d: RGB images through the conv architecture and the picture grids",
          "[shapes3d][trainer]") {
  // The conv pair reads 3 x 64 x 64.
  training::RunConfig conv;
  conv.model = "vae";
  conv.arch = "conv";
  conv.latent = 6;
  manual_seed(0);
  const auto model = training::make_model(conv, 3 * 64 * 64, 0, 3);
  const Tensor x = Shapes3d().render_indices(from_vector(std::vector<int64_t>{0, 99999}, {2}));
  REQUIRE(model->autoencoder()->decode(model->autoencoder()->encode(x).mean).shape() ==
          Shape{2, 3 * 64 * 64});

  // A small MLP run: samples and reconstructions are written as RGB PNGs.
  const fs::path dir = fs::temp_directory_path() / "strata_test_shapes3d";
  fs::remove_all(dir);
  training::RunConfig c;
  c.model = "vae";
  c.data = "shapes3d";
  c.hidden = {16};
  c.latent = 3;
  c.limit_train = 128;
  c.batch_size = 64;
  c.samples = 4;
  c.out = (dir / "vae").string();
  std::ostringstream log;
  training::train_run(c, {.log = &log});
  int w = 0, h = 0, channels = 0;
  const std::string path = (dir / "vae" / "samples" / "epoch_001.png").string();
  REQUIRE(stbi_info(path.c_str(), &w, &h, &channels) == 1);
  REQUIRE(channels == 3);
}
