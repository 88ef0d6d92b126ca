#include "engine/data/shapes3d.h"

#include <cmath>
#include <numbers>

#include <tbb/parallel_for.h>

#include "engine/creation.h"

namespace strata {

double Shapes3d::factor_value(Factor factor, int64_t cls) {
  const double c = static_cast<double>(cls);
  switch (factor) {
    case FloorHue:
    case WallHue:
    case ObjectHue:
      return 0.1 * c;  // linspace(0, 0.9, 10)
    case Scale:
      return 0.75 + 0.5 * c / 7;  // linspace(0.75, 1.25, 8)
    case Shape:
      return c;
    case Orientation:
      return -30 + 60 * c / 14;  // linspace(-30, 30, 15), degrees
  }
  return 0;
}

void Shapes3d::hsv_to_rgb(double h, double s, double v, float rgb[3]) {
  const double h6 = 6 * (h - std::floor(h));
  const int sector = static_cast<int>(h6) % 6;
  const double f = h6 - std::floor(h6);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  for (int k = 0; k < 3; ++k) rgb[k] = static_cast<float>(table[sector][k]);
}

bool Shapes3d::inside(ShapeKind shape, double u, double v) {
  auto in_ellipse = [](double du, double dv, double a, double b) {
    return (du / a) * (du / a) + (dv / b) * (dv / b) <= 1;
  };
  switch (shape) {
    case Cube:
      return std::fabs(u) <= 1 && v >= 0 && v <= 2;
    case Cylinder:
      return (std::fabs(u) <= 1 && v >= 0.3 && v <= 2.1) || in_ellipse(u, v - 0.3, 1, 0.3) ||
             in_ellipse(u, v - 2.1, 1, 0.3);
    case Sphere:
      return in_ellipse(u, v - 1, 1, 1);
    case Capsule:
      return (std::fabs(u) <= 0.6 && v >= 0.6 && v <= 1.8) || in_ellipse(u, v - 0.6, 0.6, 0.6) ||
             in_ellipse(u, v - 1.8, 0.6, 0.6);
  }
  return false;
}

Tensor Shapes3d::render(const Tensor& factor_classes) const {
  (void)indices_of(factor_classes);  // checks dtype, shape and every class's range by name
  const int64_t n = factor_classes.size(0), side = image_size(), plane = side * side;
  const std::vector<int64_t> classes = factor_classes.to_vector<int64_t>();
  Tensor images = empty({n, 3 * plane});
  float* out = images.data_ptr<float>();
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) {
    const int64_t* c = classes.data() + i * 6;
    float floor_rgb[3], wall_rgb[3], object_rgb[3];
    hsv_to_rgb(factor_value(FloorHue, c[FloorHue]), 1, 0.6, floor_rgb);
    hsv_to_rgb(factor_value(WallHue, c[WallHue]), 0.5, 1, wall_rgb);
    hsv_to_rgb(factor_value(ObjectHue, c[ObjectHue]), 1, 1, object_rgb);
    const auto shape = static_cast<ShapeKind>(c[Shape]);
    const double w = 10 * factor_value(Scale, c[Scale]);
    const double theta = factor_value(Orientation, c[Orientation]) * std::numbers::pi / 180;
    // Along the horizon (counter-clockwise on screen, y down) and up from it.
    const double along_x = std::cos(theta), along_y = -std::sin(theta);
    const double up_x = -std::sin(theta), up_y = -std::cos(theta);
    float* image = out + i * 3 * plane;
    for (int64_t row = 0; row < side; ++row)
      for (int64_t col = 0; col < side; ++col) {
        const double dx = col + 0.5 - 32, dy = row + 0.5 - 38;
        const double u = (dx * along_x + dy * along_y) / w, v = (dx * up_x + dy * up_y) / w;
        const float* rgb = inside(shape, u, v) ? object_rgb : v > 0 ? wall_rgb : floor_rgb;
        for (int k = 0; k < 3; ++k) image[k * plane + row * side + col] = rgb[k];
      }
  });
  return images;
}

}  // namespace strata
