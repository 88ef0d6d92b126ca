// dSprites (Matthey, Higgins, Hassabis & Lerchner 2017), regenerated procedurally from its published
// definition rather than loaded: 64 x 64 binary images of one white sprite on black, with the five
// factors
//   shape        3  square, ellipse, heart
//   scale        6  linspace(0.5, 1)
//   orientation 40  linspace(0, 2 pi)   (both ends included, as the original: 0 and 2 pi look alike)
//   position x  32  linspace(0, 1)
//   position y  32  linspace(0, 1)
// 3 * 6 * 40 * 32 * 32 = 737,280 images, numbered as the original's latents_classes (the last factor
// fastest). The original's colour factor has one value and is left out.
//
// The geometry the published definition leaves open is ours, fixed here:
//  - the sprite is drawn in its own frame (u, v) in [-1, 1]^2 and scaled to R = 8 * scale pixels,
//    so at scale 1 the square is 16 x 16 pixels;
//  - its centre is at pixel coordinates (8 + 48 x, 8 + 48 y) (pixel (row i, column j) has its centre
//    at (j + 0.5, i + 0.5); y grows downwards), so the centres span the middle 48 pixels and sprites
//    near the border may be clipped;
//  - orientation theta rotates the sprite counter-clockwise on screen about its centre;
//  - square: |u|, |v| <= 1; ellipse: u^2 + (v / 0.5)^2 <= 1 (semi-axes 1 and 1/2, long axis
//    horizontal at theta = 0); heart: the curve (a^2 + b^2 - 1)^3 - a^2 b^3 <= 0 with
//    (a, b) = (1.14 u, 0.118 - 1.14 v), which centres its extent a in [-1.138, 1.138],
//    b in [-1, 1.236] on the frame: |u| <= 0.998, |v| <= 0.981, lobes up and point down at theta = 0;
//  - rasterised without anti-aliasing, as the original: a pixel is 1 when its centre is inside the
//    shape, else 0.
#pragma once

#include "engine/data/factor_dataset.h"

namespace strata {

class DSprites final : public FactorDataset {
 public:
  enum Factor { Shape = 0, Scale, Orientation, PositionX, PositionY };
  enum ShapeKind { Square = 0, Ellipse, Heart };

  std::string name() const override { return "dsprites"; }
  std::vector<std::string> factor_names() const override {
    return {"shape", "scale", "orientation", "position_x", "position_y"};
  }
  std::vector<int64_t> factor_sizes() const override { return {3, 6, 40, 32, 32}; }
  int64_t channels() const override { return 1; }
  int64_t image_size() const override { return 64; }
  Tensor render(const Tensor& factor_classes) const override;

  // The factor's value for a class: scale 0.5 + 0.1 c, orientation 2 pi c / 39, positions c / 31.
  static double factor_value(Factor factor, int64_t cls);
  // Whether the point (u, v) of the sprite's own frame is inside the shape.
  static bool inside(ShapeKind shape, double u, double v);
};

}  // namespace strata
