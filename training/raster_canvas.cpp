#include "training/raster_canvas.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "engine/creation.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace strata::training {

RasterCanvas::RasterCanvas(int64_t width, int64_t height)
    : w_(width), h_(height), pixels_(static_cast<size_t>(3 * width * height), 1.f) {
  STRATA_CHECK(width >= 1 && height >= 1, "RasterCanvas: needs at least 1 x 1 pixels, got ", width, " x ", height);
}

void RasterCanvas::set(int64_t x, int64_t y, const Rgb& c) {
  if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
  for (int64_t k = 0; k < 3; ++k) pixels_[static_cast<size_t>((k * h_ + y) * w_ + x)] = c[k];
}

void RasterCanvas::fill_rect(double x0, double y0, double x1, double y1, const Rgb& c) {
  for (int64_t y = std::lround(y0); y < std::lround(y1); ++y)
    for (int64_t x = std::lround(x0); x < std::lround(x1); ++x) set(x, y, c);
}

void RasterCanvas::line(double x0, double y0, double x1, double y1, double thickness, const Rgb& c, double cx0,
                        double cy0, double cx1, double cy1) {
  const double len = std::hypot(x1 - x0, y1 - y0);
  const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(len * 2)));
  const double r = thickness / 2;
  for (int64_t s = 0; s <= steps; ++s) {
    const double x = x0 + (x1 - x0) * s / steps, y = y0 + (y1 - y0) * s / steps;
    for (int64_t py = static_cast<int64_t>(std::floor(y - r)); py <= static_cast<int64_t>(std::ceil(y + r)); ++py)
      for (int64_t px = static_cast<int64_t>(std::floor(x - r)); px <= static_cast<int64_t>(std::ceil(x + r)); ++px)
        if (px >= cx0 && px <= cx1 && py >= cy0 && py <= cy1 &&
            (px + 0.5 - x) * (px + 0.5 - x) + (py + 0.5 - y) * (py + 0.5 - y) <= r * r + 0.25)
          set(px, py, c);
  }
}

void RasterCanvas::text(double x, double y, const std::string& s, double scale, const Rgb& c) {
  std::vector<char> str(s.begin(), s.end());
  str.push_back('\0');
  // 64 bytes a quad; a glyph such as '8' or 'W' takes up to about 20 quads, and stb_easy_font
  // silently drops the quads that do not fit (a short buffer turns 8s into 3s).
  std::vector<char> buffer(s.size() * 64 * 24 + 64);
  const int quads = stb_easy_font_print(0, 0, str.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  for (int q = 0; q < quads; ++q) {
    float v[4][4];
    std::memcpy(v, buffer.data() + static_cast<size_t>(q) * 64, sizeof v);
    fill_rect(x + v[0][0] * scale, y + v[0][1] * scale, x + v[2][0] * scale, y + v[2][1] * scale, c);
  }
}

double RasterCanvas::text_width(const std::string& s, double scale) {
  std::vector<char> str(s.begin(), s.end());
  str.push_back('\0');
  return stb_easy_font_width(str.data()) * scale;
}

Tensor RasterCanvas::tensor() const { return from_vector(pixels_, {3, h_, w_}); }

Rgb parse_hex_colour(const std::string& hex, const std::string& what) {
  unsigned r = 0, g = 0, b = 0;
  STRATA_CHECK(hex.size() == 7 && hex[0] == '#' && std::sscanf(hex.c_str() + 1, "%2x%2x%2x", &r, &g, &b) == 3, what,
               ": colour \"", hex, "\" is not of the form #rrggbb");
  return {r / 255.f, g / 255.f, b / 255.f};
}

}  // namespace strata::training
