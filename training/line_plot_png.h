// Line plots (and grouped bar charts, below) as PNG pictures (the reports' figures; curves.h draws
// the same series as SVG): a title, a legend under it, axes with ticks at round values (nice_ticks /
// log_ticks of curves.h), light grid lines, axis titles; text through stb_easy_font. Series are
// curves.h's CurveSeries (Line, Markers or Points style; colour "#rrggbb" or empty for the next of
// the tab10 palette).
// Non-finite points (and x <= 0 on a log x axis) are skipped.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"
#include "training/curves.h"

namespace strata::training {

struct LinePlotOptions {
  std::string x_label = "step";
  std::string y_label = "loss";
  bool log_x = false;
  int width = 760, height = 460;  // pixels; at least 200 x 160
};

// The picture as a float32 CPU tensor [3, height, width] with values in [0, 1].
Tensor render_line_plot(const std::string& title, const std::vector<CurveSeries>& series,
                        const LinePlotOptions& options = {});
// Writes render_line_plot(...) to `path` as PNG (replaced atomically, io::save_png).
void write_line_plot_png(const std::string& path, const std::string& title, const std::vector<CurveSeries>& series,
                         const LinePlotOptions& options = {});

// Grouped bar charts in the same frame: one slot per group along x (its name under it), in each slot
// one bar per name of `bars` (legend colours from the palette unless `colours` gives one per bar),
// heights from 0 on a linear y axis. Values must be >= 0; non-finite ones are left out (no bar).
struct BarGroup {
  std::string name;
  std::vector<double> values;  // one per bar
};
struct BarChartOptions {
  std::string y_label;
  std::vector<std::string> colours = {};  // "#rrggbb" per bar, or empty
  int width = 760, height = 460;
};
Tensor render_bar_chart(const std::string& title, const std::vector<std::string>& bars,
                        const std::vector<BarGroup>& groups, const BarChartOptions& options = {});
void write_bar_chart_png(const std::string& path, const std::string& title,
                         const std::vector<std::string>& bars, const std::vector<BarGroup>& groups,
                         const BarChartOptions& options = {});

}  // namespace strata::training
