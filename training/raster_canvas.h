// An RGB raster to draw figures into (line plots, panels): pixels, filled rectangles, thick
// segments clipped to a rectangle, and text in stb_easy_font's bitmap glyphs (about 7 px tall
// before scaling). No anti-aliasing; colours are float RGB in [0, 1]; the picture comes out as a
// float32 [3, height, width] tensor for io::save_png.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata::training {

using Rgb = std::array<float, 3>;

class RasterCanvas {
 public:
  RasterCanvas(int64_t width, int64_t height);  // white

  void set(int64_t x, int64_t y, const Rgb& c);  // ignored outside the canvas
  // Pixels [round(x0), round(x1)) x [round(y0), round(y1)).
  void fill_rect(double x0, double y0, double x1, double y1, const Rgb& c);
  // A segment of the given thickness, clipped to the rectangle [cx0, cx1] x [cy0, cy1].
  void line(double x0, double y0, double x1, double y1, double thickness, const Rgb& c, double cx0, double cy0,
            double cx1, double cy1);
  // Text with its top-left corner at (x, y), glyphs scaled by `scale`.
  void text(double x, double y, const std::string& s, double scale, const Rgb& c);
  static double text_width(const std::string& s, double scale);

  int64_t width() const { return w_; }
  int64_t height() const { return h_; }
  Tensor tensor() const;

 private:
  int64_t w_, h_;
  std::vector<float> pixels_;
};

// "#rrggbb" as Rgb; throws naming `what` for anything else.
Rgb parse_hex_colour(const std::string& hex, const std::string& what);

}  // namespace strata::training
