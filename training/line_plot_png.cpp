#include "training/line_plot_png.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <vector>

#include "core/error.h"
#include "engine/io/image.h"
#include "training/raster_canvas.h"

namespace strata::training {

namespace {

// Matplotlib's "tab10", as curves.cpp's default palette.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

Rgb series_colour(const std::string& hex, size_t index) {
  return parse_hex_colour(hex.empty() ? std::string(kPalette[index % std::size(kPalette)]) : hex, "line plot");
}

std::string tick_label(double v) {
  char buf[32];
  if (v != 0 && (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-3)) std::snprintf(buf, sizeof buf, "%.0e", v);
  else std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Legend entries under the title, laid out left to right and wrapping: the top-left corner of
// each entry, and the y of the last row.
std::pair<std::vector<std::pair<double, double>>, double> legend_layout(const std::vector<std::string>& names,
                                                                        double left, double right) {
  std::vector<std::pair<double, double>> at;
  double lx = left, ly = 30;
  for (const std::string& name : names) {
    const double w = 28 + RasterCanvas::text_width(name, 1.5) + 28;
    if (lx + w > right && lx > left) lx = left, ly += 20;
    at.push_back({lx, ly});
    lx += w;
  }
  return {at, ly};
}

// The y axis of a plot area [left, right] x [top, bottom] whose ticks yt span it: grid lines and
// tick labels, both axis lines, and the axis title above the area.
void draw_y_axis(RasterCanvas& c, const std::vector<double>& yt, double left, double right, double top,
                 double bottom, const std::string& y_label) {
  const Rgb black{0, 0, 0}, grid{0.88f, 0.88f, 0.88f}, grey{0.3f, 0.3f, 0.3f};
  for (double t : yt) {
    const double y = bottom - (t - yt.front()) / (yt.back() - yt.front()) * (bottom - top);
    c.line(left, y, right, y, 1, grid, 0, 0, c.width(), c.height());
    const std::string label = tick_label(t);
    c.text(left - 6 - RasterCanvas::text_width(label, 1.5), y - 5, label, 1.5, grey);
  }
  c.line(left, bottom, right, bottom, 1.2, black, 0, 0, c.width(), c.height());
  c.line(left, top, left, bottom, 1.2, black, 0, 0, c.width(), c.height());
  c.text(8, top - 18, y_label, 1.5, black);
}

}  // namespace

Tensor render_line_plot(const std::string& title, const std::vector<CurveSeries>& series, const LinePlotOptions& o) {
  STRATA_CHECK(!series.empty(), "line plot \"", title, "\": no series to draw");
  STRATA_CHECK(o.width >= 200 && o.height >= 160, "line plot \"", title, "\": needs at least 200 x 160 pixels, got ",
               o.width, " x ", o.height);
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  auto drawable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!o.log_x || x > 0); };
  for (const CurveSeries& s : series) {
    STRATA_CHECK(s.x.size() == s.y.size(), "line plot \"", title, "\": series \"", s.name, "\" has ", s.x.size(),
                 " x values but ", s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i])) {
        const double x = o.log_x ? std::log10(s.x[i]) : s.x[i];
        xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      }
  }
  STRATA_CHECK(std::isfinite(xlo), "line plot \"", title, "\": no finite point to draw");
  std::vector<double> xt, yt = nice_ticks(ylo, yhi, 6);
  if (o.log_x) {
    for (double t : log_ticks(std::pow(10.0, xlo), std::pow(10.0, xhi))) xt.push_back(std::log10(t));
  } else {
    xt = nice_ticks(xlo, xhi, 7);
  }
  const double ax0 = xt.front(), ax1 = xt.back(), ay0 = yt.front(), ay1 = yt.back();

  RasterCanvas c(o.width, o.height);
  const Rgb black{0, 0, 0}, grid{0.88f, 0.88f, 0.88f}, grey{0.3f, 0.3f, 0.3f};
  // Legend rows under the title: entries laid out left to right, wrapping.
  const double left = 78, right = o.width - 30.0, top_title = 8;
  std::vector<std::string> names;
  for (const CurveSeries& s : series) names.push_back(s.name);
  const auto [legend_at, ly] = legend_layout(names, left, right);
  const double top = ly + 40, bottom = o.height - 48.0;
  STRATA_CHECK(bottom - top >= 40, "line plot \"", title, "\": ", series.size(),
               " legend entries leave no room for the plot at this size");
  auto px = [&](double x) { return left + (x - ax0) / (ax1 - ax0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ay0) / (ay1 - ay0) * (bottom - top); };

  c.text(left, top_title, title, 2.0, black);
  for (double t : xt) {
    c.line(px(t), top, px(t), bottom, 1, grid, 0, 0, o.width, o.height);
    const std::string label = tick_label(o.log_x ? std::pow(10.0, t) : t);
    c.text(px(t) - RasterCanvas::text_width(label, 1.5) / 2, bottom + 6, label, 1.5, grey);
  }
  draw_y_axis(c, yt, left, right, top, bottom, o.y_label);
  c.text((left + right) / 2 - RasterCanvas::text_width(o.x_label, 1.5) / 2, bottom + 26, o.x_label, 1.5, black);

  for (size_t k = 0; k < series.size(); ++k) {
    const CurveSeries& s = series[k];
    const Rgb colour = series_colour(s.colour, k);
    const bool markers = s.style != CurveStyle::Line, joined = s.style != CurveStyle::Points;
    bool have_prev = false;
    double qx = 0, qy = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!drawable(s.x[i], s.y[i])) {
        have_prev = false;
        continue;
      }
      const double x = px(o.log_x ? std::log10(s.x[i]) : s.x[i]), y = py(s.y[i]);
      if (have_prev && joined) c.line(qx, qy, x, y, markers ? 1.5 : 2.0, colour, left, top, right, bottom);
      if (markers) c.fill_rect(x - 3, y - 3, x + 4, y + 4, colour);
      qx = x, qy = y, have_prev = true;
    }
    const auto [ex, ey] = legend_at[k];
    if (joined) c.line(ex, ey + 5, ex + 20, ey + 5, 2.0, colour, 0, 0, o.width, o.height);
    if (markers) c.fill_rect(ex + 7, ey + 2, ex + 14, ey + 9, colour);
    c.text(ex + 26, ey, s.name, 1.5, black);
  }
  return c.tensor();
}

void write_line_plot_png(const std::string& path, const std::string& title, const std::vector<CurveSeries>& series,
                         const LinePlotOptions& options) {
  io::save_png(path, render_line_plot(title, series, options));
}

Tensor render_bar_chart(const std::string& title, const std::vector<std::string>& bars,
                        const std::vector<BarGroup>& groups, const BarChartOptions& o) {
  STRATA_CHECK(!bars.empty() && !groups.empty(), "bar chart \"", title, "\": needs bars and groups");
  STRATA_CHECK(o.width >= 200 && o.height >= 160, "bar chart \"", title,
               "\": needs at least 200 x 160 pixels, got ", o.width, " x ", o.height);
  STRATA_CHECK(o.colours.empty() || o.colours.size() == bars.size(), "bar chart \"", title,
               "\": ", o.colours.size(), " colours for ", bars.size(), " bars");
  double hi = 0;
  for (const BarGroup& g : groups) {
    STRATA_CHECK(g.values.size() == bars.size(), "bar chart \"", title, "\": group \"", g.name, "\" has ",
                 g.values.size(), " values for ", bars.size(), " bars");
    for (double v : g.values) {
      STRATA_CHECK(!std::isfinite(v) || v >= 0, "bar chart \"", title, "\": values must be >= 0, got ", v);
      if (std::isfinite(v)) hi = std::max(hi, v);
    }
  }
  const std::vector<double> yt = nice_ticks(0, hi > 0 ? hi : 1, 6);
  const double ay0 = yt.front(), ay1 = yt.back();
  RasterCanvas c(o.width, o.height);
  const Rgb black{0, 0, 0};
  const double left = 78, right = o.width - 30.0;
  const auto [legend_at, ly] = legend_layout(bars, left, right);
  const double top = ly + 40, bottom = o.height - 48.0;
  STRATA_CHECK(bottom - top >= 40, "bar chart \"", title, "\": ", bars.size(),
               " legend entries leave no room");
  auto py = [&](double y) { return bottom - (y - ay0) / (ay1 - ay0) * (bottom - top); };
  c.text(left, 8, title, 2.0, black);
  draw_y_axis(c, yt, left, right, top, bottom, o.y_label);
  // Each group a slot of equal width; its bars fill 80% of it, side by side.
  const double slot = (right - left) / static_cast<double>(groups.size());
  const double bar = 0.8 * slot / static_cast<double>(bars.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const double x0 = left + slot * static_cast<double>(g) + 0.1 * slot;
    for (size_t b = 0; b < bars.size(); ++b) {
      const double v = groups[g].values[b];
      if (!std::isfinite(v)) continue;
      const Rgb colour = series_colour(o.colours.empty() ? std::string() : o.colours[b], b);
      c.fill_rect(x0 + bar * static_cast<double>(b), py(v), x0 + bar * static_cast<double>(b + 1) - 1, bottom,
                  colour);
    }
    const std::string& name = groups[g].name;
    c.text(left + slot * (static_cast<double>(g) + 0.5) - RasterCanvas::text_width(name, 1.5) / 2, bottom + 8,
           name, 1.5, black);
  }
  for (size_t b = 0; b < bars.size(); ++b) {
    const auto [ex, ey] = legend_at[b];
    c.fill_rect(ex + 4, ey, ex + 18, ey + 10,
                series_colour(o.colours.empty() ? std::string() : o.colours[b], b));
    c.text(ex + 26, ey, bars[b], 1.5, black);
  }
  return c.tensor();
}

void write_bar_chart_png(const std::string& path, const std::string& title,
                         const std::vector<std::string>& bars, const std::vector<BarGroup>& groups,
                         const BarChartOptions& options) {
  io::save_png(path, render_bar_chart(title, bars, groups, options));
}

}  // namespace strata::training
