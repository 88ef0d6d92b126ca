#include "engine/io/image.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/creation.h"
#include "engine/io/atomic_file.h"

namespace strata::io {

namespace {

void check_floating(const Tensor& t, const char* op, const char* what) {
  STRATA_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
  STRATA_CHECK(is_floating(t.dtype()), op, ": ", what, " must be float32 or float64, got ",
               dtype_name(t.dtype()));
}

// Values as doubles, with NaN rejected: std::clamp would pass it through and the PNG would show a
// black pixel where the model actually produced garbage.
std::vector<double> values_without_nan(const Tensor& t, const char* op) {
  std::vector<double> v = t.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    STRATA_CHECK(!std::isnan(v[i]), op, ": element ", i, " of the ", shape_str(t.shape()), " image is NaN");
  return v;
}

Tensor from_doubles(std::vector<double> values, const Shape& shape, DType dtype) {
  if (dtype == DType::Float64) return from_vector(values, shape);
  return from_vector(std::vector<float>(values.begin(), values.end()), shape);
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<unsigned char>*>(context);
  const auto* p = static_cast<const unsigned char*>(data);
  out->insert(out->end(), p, p + size);
}

}  // namespace

Tensor make_grid(const Tensor& images, int64_t nrow, int64_t padding, double pad_value) {
  check_floating(images, "make_grid", "images");
  STRATA_CHECK(images.dim() == 4, "make_grid: images must be [N, C, H, W], got ", shape_str(images.shape()),
               " (reshape flat [N, H*W] batches to [N, 1, H, W] first)");
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  STRATA_CHECK(c == 1 || c == 3, "make_grid: images must have 1 or 3 channels, got ",
               shape_str(images.shape()));
  STRATA_CHECK(n > 0 && h > 0 && w > 0, "make_grid: no pixels in images of shape ",
               shape_str(images.shape()));
  STRATA_CHECK(nrow > 0, "make_grid: nrow must be positive, got ", nrow);
  STRATA_CHECK(padding >= 0, "make_grid: padding must be non-negative, got ", padding);
  STRATA_CHECK(pad_value >= 0.0 && pad_value <= 1.0, "make_grid: pad_value must be in [0, 1], got ",
               pad_value);

  const std::vector<double> src = values_without_nan(images, "make_grid");
  const int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  const int64_t cell_h = h + padding, cell_w = w + padding;
  const int64_t out_h = rows * cell_h + padding, out_w = cols * cell_w + padding;

  std::vector<double> grid(static_cast<size_t>(c * out_h * out_w), pad_value);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t top = (k / cols) * cell_h + padding, left = (k % cols) * cell_w + padding;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const double v = src[static_cast<size_t>(((k * c + ch) * h + y) * w + x)];
          grid[static_cast<size_t>((ch * out_h + top + y) * out_w + left + x)] = std::clamp(v, 0.0, 1.0);
        }
  }
  return from_doubles(std::move(grid), {c, out_h, out_w}, images.dtype());
}

void save_png(const std::string& path, const Tensor& image) {
  check_floating(image, "save_png", "image");
  const bool planar = image.dim() == 3;
  STRATA_CHECK(image.dim() == 2 || planar, "save_png: image must be [C, H, W] or [H, W], got ",
               shape_str(image.shape()));
  const int64_t c = planar ? image.size(0) : 1;
  const int64_t h = image.size(-2), w = image.size(-1);
  STRATA_CHECK(c == 1 || c == 3, "save_png: image must have 1 or 3 channels, got ", shape_str(image.shape()));
  STRATA_CHECK(h > 0 && w > 0, "save_png: image of shape ", shape_str(image.shape()), " has no pixels");
  // stb takes int sizes and PNG rows beyond this are unusual enough to be a caller's mistake.
  constexpr int64_t kMaxSide = 1 << 15;
  STRATA_CHECK(h <= kMaxSide && w <= kMaxSide, "save_png: image of shape ", shape_str(image.shape()),
               " is larger than ", kMaxSide, " pixels on a side");

  const std::vector<double> v = values_without_nan(image, "save_png");
  // PNG stores pixels interleaved (RGBRGB...), the tensor stores planes (RRR...GGG...BBB...).
  std::vector<unsigned char> pixels(static_cast<size_t>(c * h * w));
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h * w; ++i) {
      // Round half up, as torchvision's save_image does (x * 255 + 0.5, truncated).
      const double scaled = std::clamp(v[static_cast<size_t>(ch * h * w + i)], 0.0, 1.0) * 255.0 + 0.5;
      pixels[static_cast<size_t>(i * c + ch)] = static_cast<unsigned char>(scaled);
    }

  std::vector<unsigned char> png;
  const int ok = stbi_write_png_to_func(append_bytes, &png, static_cast<int>(w), static_cast<int>(h),
                                        static_cast<int>(c), pixels.data(), static_cast<int>(w * c));
  STRATA_CHECK(ok != 0 && !png.empty(), "save_png: encoding the ", shape_str(image.shape()), " image for '",
               path, "' failed");
  try {
    AtomicFileWriter out(path);
    out.write(png.data(), png.size());
    out.commit();
  } catch (const Error& e) {
    throw Error("save_png: cannot write '" + path + "': " + e.what());
  }
}

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow) {
  save_png(path, make_grid(images, nrow));
}

}  // namespace strata::io
