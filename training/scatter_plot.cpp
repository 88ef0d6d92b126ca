#include "training/scatter_plot.h"

#include <algorithm>
#include <cmath>

#include "engine/creation.h"
#include "engine/io/image.h"

namespace strata::training {

void save_scatter_png(const std::string& path, const std::vector<Tensor>& point_sets, int64_t size) {
  STRATA_CHECK(!point_sets.empty(), "scatter plot: no point sets");
  STRATA_CHECK(size >= 16 && size <= 4096, "scatter plot: size must be in 16..4096, got ", size);
  for (const Tensor& p : point_sets)
    STRATA_CHECK(p.defined() && p.dim() == 2 && p.size(1) == 2 && p.size(0) >= 1,
                 "scatter plot: point sets must be [N, 2], got ", p.defined() ? shape_str(p.shape()) : "undefined");
  const std::vector<double> first = point_sets[0].to_vector<double>();
  double lo_x = first[0], hi_x = first[0], lo_y = first[1], hi_y = first[1];
  for (size_t i = 0; i < first.size(); i += 2) {
    lo_x = std::min(lo_x, first[i]), hi_x = std::max(hi_x, first[i]);
    lo_y = std::min(lo_y, first[i + 1]), hi_y = std::max(hi_y, first[i + 1]);
  }
  // One scale for both axes, centred on the box, so shapes are not distorted.
  const double half = 0.6 * std::max({hi_x - lo_x, hi_y - lo_y, 1e-6});
  const double cx = (lo_x + hi_x) / 2, cy = (lo_y + hi_y) / 2;
  constexpr int64_t gap = 4;
  const int64_t panels = static_cast<int64_t>(point_sets.size());
  const int64_t width = panels * size + (panels - 1) * gap;
  std::vector<double> pixels(static_cast<size_t>(size * width), 1.0);
  for (int64_t k = 0; k < panels; ++k) {
    std::vector<double> counts(static_cast<size_t>(size * size), 0.0);
    const std::vector<double> p = point_sets[k].to_vector<double>();
    for (size_t i = 0; i < p.size(); i += 2) {
      if (!std::isfinite(p[i]) || !std::isfinite(p[i + 1])) continue;
      const double u = (p[i] - (cx - half)) / (2 * half), v = ((cy + half) - p[i + 1]) / (2 * half);  // y up
      if (u < 0 || u >= 1 || v < 0 || v >= 1) continue;
      counts[static_cast<size_t>(static_cast<int64_t>(v * size) * size + static_cast<int64_t>(u * size))] += 1;
    }
    const double top = std::log1p(*std::max_element(counts.begin(), counts.end()));
    for (int64_t r = 0; r < size; ++r)
      for (int64_t c = 0; c < size; ++c) {
        const double n = counts[r * size + c];
        pixels[r * width + k * (size + gap) + c] = n == 0 ? 1.0 : 0.6 * (1.0 - std::log1p(n) / top);
      }
  }
  io::save_png(path, from_vector(pixels, {1, size, width}));
}

}  // namespace strata::training
