#include "training/curves.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string_view>

#include "core/error.h"
#include "engine/io/atomic_file.h"

namespace strata::training {

namespace {

// Matplotlib's "tab10": distinct, colour-blind-friendlier than pure primaries.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// Tolerance for "is this already a round value" after floating-point division.
constexpr double kEps = 1e-9;

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string fmt_fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// An XML comment may not contain "--".
std::string comment_safe(std::string s) {
  for (size_t i; (i = s.find("--")) != std::string::npos;) s.replace(i, 2, "- -");
  return s;
}

void check_colour(const std::string& colour, const std::string& series) {
  const bool ok = std::all_of(colour.begin(), colour.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("#(),.% ").find(c) != std::string_view::npos;
  });
  STRATA_CHECK(ok, "write_loss_curves_svg: series '", series, "' has colour '", colour,
               "', which is not an SVG colour (use a name, #rrggbb or rgb(r, g, b))");
}

// Labels with as many decimals as the step between ticks needs, so 0.2 reads "0.2", not "0.200000".
std::vector<std::string> linear_labels(const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  const double biggest = std::max(std::fabs(ticks.front()), std::fabs(ticks.back()));
  std::vector<std::string> labels;
  for (double t : ticks) {
    if (biggest >= 1e7 || step < 1e-5)
      labels.push_back(fmt("%g", t));
    else
      labels.push_back(fmt_fixed(t, std::max(0, static_cast<int>(-std::floor(std::log10(step) + kEps)))));
  }
  return labels;
}

std::vector<std::string> log_labels(const std::vector<double>& ticks) {
  std::vector<std::string> labels;
  for (double t : ticks) labels.push_back(fmt("%g", t));
  return labels;
}

// m * 10^e computed so that round values come out as the nearest double (0.3, not 0.30000000000000004).
double scaled(double m, int e) { return e >= 0 ? m * std::pow(10.0, e) : m / std::pow(10.0, -e); }

// The candidates from the largest <= lo to the smallest >= hi (candidates sorted ascending).
std::vector<double> bracket(const std::vector<double>& candidates, double lo, double hi) {
  size_t first = 0, last = candidates.size() - 1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i] <= lo * (1 + kEps)) first = i;
  }
  for (size_t i = candidates.size(); i-- > 0;) {
    if (candidates[i] >= hi * (1 - kEps)) last = i;
  }
  return std::vector<double>(candidates.begin() + static_cast<std::ptrdiff_t>(first),
                             candidates.begin() + static_cast<std::ptrdiff_t>(last) + 1);
}

struct Axis {
  std::vector<double> ticks;
  std::vector<std::string> labels;
  bool log = false;
  double lo = 0, hi = 1;  // in plotted units (log10 of the value on a log axis)

  double unit(double v) const { return log ? std::log10(v) : v; }
  // Position of v in [0, 1] along the axis.
  double frac(double v) const { return (unit(v) - lo) / (hi - lo); }
};

Axis make_axis(double lo, double hi, bool log, int target) {
  Axis a;
  a.log = log;
  a.ticks = log ? log_ticks(lo, hi) : nice_ticks(lo, hi, target);
  a.labels = log ? log_labels(a.ticks) : linear_labels(a.ticks);
  a.lo = a.unit(a.ticks.front());
  a.hi = a.unit(a.ticks.back());
  return a;
}

struct Drawable {
  std::vector<std::pair<double, double>> points;
  size_t non_finite = 0, non_positive = 0;
};

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  STRATA_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "nice_ticks: the range ", lo, "..", hi,
               " is not a finite interval");
  STRATA_CHECK(target >= 2, "nice_ticks: target must be at least 2, got ", target);
  if (lo == hi) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const int e = static_cast<int>(std::floor(std::log10(raw)));
  const double norm = raw / std::pow(10.0, e);
  const double m = norm <= 1 + kEps ? 1 : norm <= 2 + kEps ? 2 : norm <= 5 + kEps ? 5 : 10;
  const double step = scaled(m, e);
  const auto k0 = static_cast<int64_t>(std::floor(lo / step + kEps));
  const auto k1 = static_cast<int64_t>(std::ceil(hi / step - kEps));
  std::vector<double> ticks;
  for (int64_t k = k0; k <= k1; ++k) ticks.push_back(scaled(static_cast<double>(k) * m, e));
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  STRATA_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi, "log_ticks: the range ", lo,
               "..", hi, " is not a finite interval of positive values");
  if (lo == hi) {
    lo /= 2;
    hi *= 2;
  }
  const int d0 = static_cast<int>(std::floor(std::log10(lo) + kEps));
  const int d1 = std::max(d0 + 1, static_cast<int>(std::ceil(std::log10(hi) - kEps)));
  const int decades = d1 - d0;
  std::vector<double> candidates;
  if (decades >= 3) {
    // Every stride-th power of ten, at most about eight labels.
    const int stride = (decades + 6) / 7;
    const int e0 = static_cast<int>(std::floor(static_cast<double>(d0) / stride)) * stride;
    for (int e = e0; e < d1 + stride; e += stride) candidates.push_back(scaled(1, e));
  } else {
    const std::vector<double> mantissas =
        decades == 2 ? std::vector<double>{1, 2, 5} : std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9};
    for (int e = d0; e < d1; ++e)
      for (double m : mantissas) candidates.push_back(scaled(m, e));
    candidates.push_back(scaled(1, d1));
  }
  return bracket(candidates, lo, hi);
}

std::string render_loss_curves_svg(const std::string& title, const std::vector<CurveSeries>& series,
                                   const CurveOptions& options) {
  constexpr const char* op = "write_loss_curves_svg";
  STRATA_CHECK(!series.empty(), op, ": no series to draw");
  STRATA_CHECK(options.width >= 200 && options.height >= 150, op, ": a ", options.width, " x ",
               options.height, " picture is too small for axes and a legend (at least 200 x 150)");

  std::vector<Drawable> drawn(series.size());
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (size_t s = 0; s < series.size(); ++s) {
    const CurveSeries& c = series[s];
    STRATA_CHECK(!c.x.empty(), op, ": series '", c.name, "' has no points");
    STRATA_CHECK(c.x.size() == c.y.size(), op, ": series '", c.name, "' has ", c.x.size(), " x values but ",
                 c.y.size(), " y values");
    check_colour(c.colour, c.name);
    for (size_t i = 0; i < c.x.size(); ++i) {
      if (!std::isfinite(c.x[i]) || !std::isfinite(c.y[i])) {
        ++drawn[s].non_finite;
      } else if (options.log_y && c.y[i] <= 0) {
        ++drawn[s].non_positive;
      } else {
        drawn[s].points.emplace_back(c.x[i], c.y[i]);
        x_lo = std::min(x_lo, c.x[i]);
        x_hi = std::max(x_hi, c.x[i]);
        y_lo = std::min(y_lo, c.y[i]);
        y_hi = std::max(y_hi, c.y[i]);
      }
    }
  }
  STRATA_CHECK(x_lo <= x_hi, op, ": no series has a point that can be drawn (every value is NaN or infinite",
               options.log_y ? ", or <= 0 on the log scale)" : ")");

  const Axis ax = make_axis(x_lo, x_hi, false, 6);
  const Axis ay = make_axis(y_lo, y_hi, options.log_y, 5);
  const double W = options.width, H = options.height;
  const double left = 72, right = W - 24, top = 44, bottom = H - 56;
  auto px = [&](double x) { return left + ax.frac(x) * (right - left); };
  auto py = [&](double y) { return bottom - ay.frac(y) * (bottom - top); };
  auto num = [](double v) { return fmt("%.1f", v); };

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "\" height=\"" + num(H) +
         "\" viewBox=\"0 0 " + num(W) + " " + num(H) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
         "font-size=\"12\">\n";
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string name = comment_safe(series[s].name);
    if (drawn[s].non_finite)
      svg += "<!-- '" + name + "': " + std::to_string(drawn[s].non_finite) + " of " +
             std::to_string(series[s].x.size()) + " points skipped (NaN or infinite) -->\n";
    if (drawn[s].non_positive)
      svg += "<!-- '" + name + "': " + std::to_string(drawn[s].non_positive) + " of " +
             std::to_string(series[s].x.size()) + " points skipped (<= 0 on the log scale) -->\n";
  }
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(W / 2) +
         "\" y=\"26\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" + xml_escape(title) +
         "</text>\n";

  // Grid lines and tick labels.
  svg += "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  for (double t : ax.ticks)
    svg += "<line x1=\"" + num(px(t)) + "\" y1=\"" + num(top) + "\" x2=\"" + num(px(t)) + "\" y2=\"" +
           num(bottom) + "\"/>\n";
  for (double t : ay.ticks)
    svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(py(t)) + "\" x2=\"" + num(right) + "\" y2=\"" +
           num(py(t)) + "\"/>\n";
  svg += "</g>\n<g fill=\"#444\">\n";
  for (size_t i = 0; i < ax.ticks.size(); ++i)
    svg += "<text x=\"" + num(px(ax.ticks[i])) + "\" y=\"" + num(bottom + 18) + "\" text-anchor=\"middle\">" +
           ax.labels[i] + "</text>\n";
  for (size_t i = 0; i < ay.ticks.size(); ++i)
    svg += "<text x=\"" + num(left - 8) + "\" y=\"" + num(py(ay.ticks[i]) + 4) + "\" text-anchor=\"end\">" +
           ay.labels[i] + "</text>\n";
  svg += "</g>\n";
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(right - left) +
         "\" height=\"" + num(bottom - top) + "\" fill=\"none\" stroke=\"#999\"/>\n";
  svg += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num(H - 16) + "\" text-anchor=\"middle\">" +
         xml_escape(options.x_label) + "</text>\n";
  svg += "<text transform=\"translate(18 " + num((top + bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(options.y_label) +
         (options.log_y ? " (log scale)" : "") + "</text>\n";

  // The curves, in order, so a later series (validation) is drawn over an earlier one (training).
  std::vector<std::string> colours;
  for (size_t s = 0; s < series.size(); ++s) {
    const CurveSeries& c = series[s];
    colours.push_back(c.colour.empty() ? kPalette[s % std::size(kPalette)] : c.colour);
    const std::string& colour = colours.back();
    const bool markers = c.style != CurveStyle::Line;
    const std::vector<std::pair<double, double>>& pts = drawn[s].points;
    if (pts.size() > 1 && c.style != CurveStyle::Points) {
      std::string points;
      for (const auto& [x, y] : pts) {
        if (!points.empty()) points += ' ';
        points += num(px(x));
        points += ',';
        points += num(py(y));
      }
      svg += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"" + (markers ? "1.8" : "1.2") +
             "\" stroke-linejoin=\"round\" points=\"" + points + "\"/>\n";
    }
    // A lone point of a line would be invisible, so it gets a marker too.
    if (markers || pts.size() == 1) {
      svg += "<g fill=\"" + colour + "\" stroke=\"white\" stroke-width=\"1\">\n";
      for (const auto& [x, y] : pts)
        svg += "<circle cx=\"" + num(px(x)) + "\" cy=\"" + num(py(y)) + "\" r=\"3.5\"/>\n";
      svg += "</g>\n";
    }
  }

  // Legend in the top right corner, where falling loss curves leave room.
  size_t longest = 0;
  for (const CurveSeries& c : series) longest = std::max(longest, c.name.size());
  const double row = 18, legend_w = 46 + 7.0 * static_cast<double>(longest);
  const double legend_h = 8 + row * static_cast<double>(series.size());
  const double lx = std::max(left + 10, right - legend_w - 10), ly = top + 10;
  svg += "<g>\n<rect x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" width=\"" + num(legend_w) + "\" height=\"" +
         num(legend_h) + "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#ccc\" rx=\"3\"/>\n";
  for (size_t s = 0; s < series.size(); ++s) {
    const double cy = ly + 4 + row * (static_cast<double>(s) + 0.5);
    const bool markers = series[s].style != CurveStyle::Line;
    svg += "<line x1=\"" + num(lx + 8) + "\" y1=\"" + num(cy) + "\" x2=\"" + num(lx + 32) + "\" y2=\"" +
           num(cy) + "\" stroke=\"" + colours[s] + "\" stroke-width=\"" + (markers ? "1.8" : "1.5") +
           "\"/>\n";
    if (markers)
      svg += "<circle cx=\"" + num(lx + 20) + "\" cy=\"" + num(cy) + "\" r=\"3.5\" fill=\"" + colours[s] +
             "\" stroke=\"white\"/>\n";
    svg += "<text x=\"" + num(lx + 38) + "\" y=\"" + num(cy + 4) + "\">" + xml_escape(series[s].name) +
           "</text>\n";
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

void write_loss_curves_svg(const std::string& path, const std::string& title,
                           const std::vector<CurveSeries>& series, const CurveOptions& options) {
  const std::string svg = render_loss_curves_svg(title, series, options);
  try {
    io::AtomicFileWriter out(path);
    out.write(svg.data(), svg.size());
    out.commit();
  } catch (const Error& e) {
    throw Error("write_loss_curves_svg: cannot write '" + path + "': " + e.what());
  }
}

}  // namespace strata::training
