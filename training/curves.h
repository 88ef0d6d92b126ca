// Loss curves as an SVG picture that opens in any browser: axes with ticks at round values, light
// grid lines, axis titles, a legend, optionally a logarithmic y axis. Training losses (one value per
// logged step, noisy) are drawn as thin lines; validation losses (a few points, one per epoch) as
// markers joined by a line, so each measured point stays visible.
//
// Non-finite values (a diverged step) and, on a log axis, values <= 0 cannot be drawn; they are
// skipped and an XML comment in the file says how many, rather than failing a run's last picture.
#pragma once

#include <string>
#include <vector>

namespace strata::training {

// Line: joined points; Markers: markers joined by a line; Points: markers alone (a scatter plot).
enum class CurveStyle { Line, Markers, Points };

struct CurveSeries {
  std::string name;
  std::vector<double> x, y;
  std::string colour = {};  // any SVG colour ("#1f77b4", "crimson"); empty: the next of a default palette
  CurveStyle style = CurveStyle::Line;
};

struct CurveOptions {
  std::string x_label = "step";
  std::string y_label = "loss";
  bool log_y = false;
  int width = 760, height = 460;  // pixels
};

// The SVG document. Throws when there are no series, a series is empty or its x and y sizes
// differ, or no point at all can be drawn.
std::string render_loss_curves_svg(const std::string& title, const std::vector<CurveSeries>& series,
                                   const CurveOptions& options = {});
// Writes render_loss_curves_svg(...) to `path`, replacing the file atomically (a browser showing the
// curves of a running job never reads half a file).
void write_loss_curves_svg(const std::string& path, const std::string& title,
                           const std::vector<CurveSeries>& series, const CurveOptions& options = {});

// Tick values for a linear axis: steps of 1, 2 or 5 times a power of ten, about `target` of them,
// from the largest tick <= lo to the smallest tick >= hi (the axis spans exactly these). A range of
// one value is widened around it. 0..1 -> 0, 0.2, ..., 1; 237..1013 -> 200, 400, ..., 1200.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Tick values for a log axis (lo > 0): powers of ten over a wide range (every second or third one
// when there are many), 1-2-5 over two decades, 1..9 times a power of ten within one; again from
// the largest tick <= lo to the smallest >= hi.
std::vector<double> log_ticks(double lo, double hi);

}  // namespace strata::training
