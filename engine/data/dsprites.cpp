#include "engine/data/dsprites.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <tbb/parallel_for.h>

#include "core/error.h"
#include "engine/creation.h"
#include "engine/shape.h"

namespace strata {

double DSprites::factor_value(Factor factor, int64_t cls) {
  switch (factor) {
    case Shape:
      return static_cast<double>(cls);
    case Scale:
      return 0.5 + 0.1 * static_cast<double>(cls);  // linspace(0.5, 1, 6)
    case Orientation:
      return 2 * std::numbers::pi * static_cast<double>(cls) / 39;
    case PositionX:
    case PositionY:
      return static_cast<double>(cls) / 31;
  }
  return 0;
}

bool DSprites::inside(ShapeKind shape, double u, double v) {
  switch (shape) {
    case Square:
      return std::fabs(u) <= 1 && std::fabs(v) <= 1;
    case Ellipse:
      return u * u + 4 * v * v <= 1;
    case Heart: {
      const double a = 1.14 * u, b = 0.118 - 1.14 * v;
      const double r = a * a + b * b - 1;
      return r * r * r - a * a * b * b * b <= 0;
    }
  }
  return false;
}

Tensor DSprites::render(const Tensor& factor_classes) const {
  // indices_of checks dtype, shape and every class's range, naming the factor at fault.
  (void)indices_of(factor_classes);
  const int64_t n = factor_classes.size(0), side = image_size();
  const std::vector<int64_t> classes = factor_classes.to_vector<int64_t>();
  Tensor images = zeros({n, side * side});
  float* out = images.data_ptr<float>();
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) {
    const int64_t* c = classes.data() + i * 5;
    const auto shape = static_cast<ShapeKind>(c[Shape]);
    const double radius = 8 * factor_value(Scale, c[Scale]);
    const double theta = factor_value(Orientation, c[Orientation]);
    const double cx = 8 + 48 * factor_value(PositionX, c[PositionX]);
    const double cy = 8 + 48 * factor_value(PositionY, c[PositionY]);
    // Each pixel is taken back into the sprite's frame: its offset from the centre in units of R
    // with y up, rotated by -theta (the sprite turns counter-clockwise by theta), is (u, -v).
    const double cos_t = std::cos(theta), sin_t = std::sin(theta);
    // Only pixels within the sprite's bounding circle (the heart and square reach sqrt(2) R).
    const double reach = radius * std::sqrt(2.0) + 1;
    const int64_t row0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(cy - reach)));
    const int64_t row1 = std::min<int64_t>(side - 1, static_cast<int64_t>(std::ceil(cy + reach)));
    const int64_t col0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(cx - reach)));
    const int64_t col1 = std::min<int64_t>(side - 1, static_cast<int64_t>(std::ceil(cx + reach)));
    float* image = out + i * side * side;
    for (int64_t row = row0; row <= row1; ++row)
      for (int64_t col = col0; col <= col1; ++col) {
        const double dx = (col + 0.5 - cx) / radius, dy = -(row + 0.5 - cy) / radius;
        const double u = cos_t * dx + sin_t * dy;
        const double v = -(-sin_t * dx + cos_t * dy);
        if (inside(shape, u, v)) image[row * side + col] = 1.0f;
      }
  });
  return images;
}

}  // namespace strata
