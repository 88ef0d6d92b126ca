// Point clouds in the plane as a picture, for 2-D flows: each set drawn as a density (a 2-D
// histogram, darker where more points fall, on a log scale so sparse tails stay visible), the
// panels side by side on the axes of the first set (the data), so samples read against data.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata::training {

// point_sets: [N_k, 2] each (any floating dtype); panels of size x size pixels, 4 white pixels apart.
// The axes span the first set's bounding box plus 10% on each side, the same scale on both axes.
void save_scatter_png(const std::string& path, const std::vector<Tensor>& point_sets, int64_t size = 256);

}  // namespace strata::training
