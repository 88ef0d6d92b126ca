#include "training/latent_geometry_figures.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "engine/creation.h"
#include "engine/io/image.h"
#include "training/curves.h"
#include "training/raster_canvas.h"

namespace strata::training {

namespace {

// raster_canvas.h with the canvas itself as the clip rectangle.
class Canvas : public RasterCanvas {
 public:
  using RasterCanvas::RasterCanvas;
  void fill(double x0, double y0, double x1, double y1, const Rgb& c) { fill_rect(x0, y0, x1, y1, c); }
  void line(double x0, double y0, double x1, double y1, double width, const Rgb& c) {
    RasterCanvas::line(x0, y0, x1, y1, width, c, 0, 0, static_cast<double>(this->width()),
                       static_cast<double>(height()));
  }
};

std::string tick_label(double v) {
  char buf[32];
  if (std::fabs(v) < 1e-12) v = 0;
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

void draw_panel(Canvas& c, const Panel& p, double ox, double w, double h) {
  STRATA_CHECK(!p.series.empty(), "latent-geometry figure \"", p.title, "\": no series to draw");
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const PanelSeries& s : p.series) {
    STRATA_CHECK(s.x.size() == s.y.size() && (s.spread.empty() || s.spread.size() == s.y.size()),
                 "latent-geometry figure \"", p.title, "\": series \"", s.name, "\" has ", s.x.size(), " x, ",
                 s.y.size(), " y and ", s.spread.size(), " spread values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double e = s.spread.empty() || !std::isfinite(s.spread[i]) ? 0 : std::fabs(s.spread[i]);
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i] - e), yhi = std::max(yhi, s.y[i] + e);
    }
  }
  STRATA_CHECK(std::isfinite(xlo), "latent-geometry figure \"", p.title, "\": no finite point to draw");
  if (p.y_from_zero) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);
  // A flat series (a rank that never changes) gets a y axis of +-1 around it, not one of rounding noise.
  if (yhi - ylo < 1e-6 * std::max(1.0, std::fabs(yhi))) {
    ylo = p.y_from_zero && ylo == 0 ? 0 : ylo - 1;
    yhi += 1;
  }
  const std::vector<double> xt = nice_ticks(xlo, xhi, 6), yt = nice_ticks(ylo, yhi, 6);
  const double ax0 = xt.front(), ax1 = xt.back(), ay0 = yt.front(), ay1 = yt.back();
  const Rgb black{0, 0, 0}, grid{0.88f, 0.88f, 0.88f}, grey{0.3f, 0.3f, 0.3f};

  const double left = ox + 62, right = ox + w - 14;
  // The legend under the title, entries left to right, wrapping.
  std::vector<std::pair<double, double>> legend;
  double lx = left, ly = 28;
  for (const PanelSeries& s : p.series) {
    const double ew = 26 + Canvas::text_width(s.name, 1.5) + 16;
    if (lx + ew > right && lx > left) lx = left, ly += 16;
    legend.push_back({lx, ly});
    lx += ew;
  }
  const double top = ly + 34, bottom = h - 46;
  STRATA_CHECK(bottom - top >= 40, "latent-geometry figure \"", p.title, "\": no room for the plot at ", w, " x ", h);
  auto px = [&](double x) { return left + (x - ax0) / (ax1 - ax0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ay0) / (ay1 - ay0) * (bottom - top); };

  c.text(ox + 8, 8, p.title, 1.8, black);
  for (double t : xt) {
    c.line(px(t), top, px(t), bottom, 1, grid);
    const std::string label = tick_label(t);
    c.text(px(t) - Canvas::text_width(label, 1.4) / 2, bottom + 6, label, 1.4, grey);
  }
  for (double t : yt) {
    c.line(left, py(t), right, py(t), 1, grid);
    const std::string label = tick_label(t);
    c.text(left - 6 - Canvas::text_width(label, 1.4), py(t) - 5, label, 1.4, grey);
  }
  c.line(left, bottom, right, bottom, 1.2, black);
  c.line(left, top, left, bottom, 1.2, black);
  c.text((left + right) / 2 - Canvas::text_width(p.x_label, 1.5) / 2, bottom + 24, p.x_label, 1.5, black);
  c.text(ox + 8, top - 18, p.y_label, 1.5, black);

  for (size_t k = 0; k < p.series.size(); ++k) {
    const PanelSeries& s = p.series[k];
    const Rgb colour = parse_hex_colour(s.colour, "latent-geometry figure series \"" + s.name + "\"");
    bool have_prev = false;
    double qx = 0, qy = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        have_prev = false;
        continue;
      }
      const double x = px(s.x[i]), y = py(s.y[i]);
      if (have_prev) c.line(qx, qy, x, y, 1.6, colour);
      if (!s.spread.empty() && std::isfinite(s.spread[i]) && s.spread[i] > 0) {
        const double e = std::fabs(s.spread[i]);
        c.line(x, py(s.y[i] - e), x, py(s.y[i] + e), 1.2, colour);
        c.line(x - 3, py(s.y[i] - e), x + 3, py(s.y[i] - e), 1.2, colour);
        c.line(x - 3, py(s.y[i] + e), x + 3, py(s.y[i] + e), 1.2, colour);
      }
      c.fill(x - 3, y - 3, x + 4, y + 4, colour);
      qx = x, qy = y, have_prev = true;
    }
    const auto [ex, ey] = legend[k];
    c.line(ex, ey + 5, ex + 20, ey + 5, 2.0, colour);
    c.fill(ex + 7, ey + 2, ex + 14, ey + 9, colour);
    c.text(ex + 26, ey, s.name, 1.5, black);
  }
}

}  // namespace

Tensor render_panels(const std::vector<Panel>& panels, int64_t panel_width, int64_t panel_height) {
  STRATA_CHECK(!panels.empty(), "latent-geometry figure: no panels to draw");
  STRATA_CHECK(panel_width >= 200 && panel_height >= 160, "latent-geometry figure: panels need at least 200 x 160 pixels, got ",
               panel_width, " x ", panel_height);
  Canvas c(panel_width * static_cast<int64_t>(panels.size()), panel_height);
  for (size_t i = 0; i < panels.size(); ++i)
    draw_panel(c, panels[i], static_cast<double>(panel_width) * static_cast<double>(i), static_cast<double>(panel_width),
               static_cast<double>(panel_height));
  return c.tensor();
}

void save_panels_png(const std::string& path, const std::vector<Panel>& panels, int64_t panel_width,
                     int64_t panel_height) {
  io::save_png(path, render_panels(panels, panel_width, panel_height));
}

}  // namespace strata::training
