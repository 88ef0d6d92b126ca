// The PNG figures of `strata analyze latent-geometry` (latent_geometry_report.h): a row of panels,
// each a small line plot of one quantity against the noise level for the three models, markers
// joined by lines with a vertical bar of +-1 standard deviation where one is given. Axes tick at
// round values (curves.h nice_ticks); text through stb_easy_font.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata::training {

struct PanelSeries {
  std::string name;
  std::vector<double> x, y;
  std::vector<double> spread;  // empty, or a half-height per point
  std::string colour;          // "#rrggbb"
};

struct Panel {
  std::string title, x_label, y_label;
  std::vector<PanelSeries> series;
  bool y_from_zero = false;  // the y axis includes 0
};

// float32 [3, H, W] in [0, 1]: the panels left to right, each panel_width x panel_height pixels.
// Throws when there are no panels, a panel has no series or no finite point, or sizes disagree.
Tensor render_panels(const std::vector<Panel>& panels, int64_t panel_width = 420, int64_t panel_height = 340);
// Writes render_panels(...) as PNG (io::save_png, replaced atomically).
void save_panels_png(const std::string& path, const std::vector<Panel>& panels, int64_t panel_width = 420,
                     int64_t panel_height = 340);

}  // namespace strata::training
