// A procedural, flat stand-in for DeepMind's 3D Shapes (Burgess & Kim 2018), so that
// disentanglement results do not hinge on dSprites alone: 64 x 64 RGB images with 3D Shapes' six
// factors and their sizes, 10 * 10 * 10 * 8 * 4 * 15 = 480,000 images, each rendered on demand.
// It is NOT the 3D Shapes dataset (no 3-D scene, no lighting): it keeps its factor structure, colour
// and more factors than dSprites, and says how each factor is drawn:
//   floor_hue    10  hue linspace(0, 0.9, 10) of the floor (the part below the horizon)
//   wall_hue     10  hue of the wall (above the horizon)
//   object_hue   10  hue of the object
//   scale         8  linspace(0.75, 1.25, 8): the object's size
//   shape         4  cube (a square), cylinder (a rectangle with elliptical ends), sphere (a disc),
//                    capsule (a rectangle with semicircular ends)
//   orientation  15  linspace(-30, 30, 15) degrees: the horizon's tilt (the stand-in for 3D Shapes'
//                    camera azimuth), and the object turns with it
// Colours are HSV(hue, 1, 1) for the object, HSV(hue, 0.5, 1) for the wall and HSV(hue, 1, 0.6) for
// the floor, so the three still differ where they share a hue. The horizon passes through (32, 38) (pixel
// (row i, column j) has its centre at (j + 0.5, i + 0.5), y down) at angle `orientation`, counter-clockwise
// on screen; the object stands on it at that point, turned with it. In the object's frame (u along
// the horizon, v up from it, in units of w = 10 * scale pixels): cube |u| <= 1, 0 <= v <= 2;
// cylinder |u| <= 1, 0.3 <= v <= 2.1 with ellipses of semi-axes (1, 0.3) at both ends; sphere
// u^2 + (v - 1)^2 <= 1; capsule |u| <= 0.6, 0.6 <= v <= 1.8 with discs of radius 0.6 at both ends. The
// object is drawn over the wall and floor. A pixel takes the colour at its centre (no anti-aliasing). Images
// are given flat as channel-major C x H x W = 3 x 64 x 64 values in [0, 1], as the conv architecture reads
// them.
#pragma once

#include "engine/data/factor_dataset.h"

namespace strata {

class Shapes3d final : public FactorDataset {
 public:
  enum Factor { FloorHue = 0, WallHue, ObjectHue, Scale, Shape, Orientation };
  enum ShapeKind { Cube = 0, Cylinder, Sphere, Capsule };

  std::string name() const override { return "shapes3d"; }
  std::vector<std::string> factor_names() const override {
    return {"floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"};
  }
  std::vector<int64_t> factor_sizes() const override { return {10, 10, 10, 8, 4, 15}; }
  int64_t channels() const override { return 3; }
  int64_t image_size() const override { return 64; }
  Tensor render(const Tensor& factor_classes) const override;

  // Hue in [0, 0.9] for the hue factors, scale in [0.75, 1.25], orientation in degrees [-30, 30].
  static double factor_value(Factor factor, int64_t cls);
  // HSV (h in [0, 1), s, v in [0, 1]) to RGB in [0, 1].
  static void hsv_to_rgb(double h, double s, double v, float rgb[3]);
  // Whether the point (u, v) of the object's own frame (u right, v up from its base, in units of its
  // half-width) is inside the shape's silhouette.
  static bool inside(ShapeKind shape, double u, double v);
};

}  // namespace strata
