#include "engine/data/image_shift.h"

#include <string>

#include "core/error.h"
#include "engine/creation.h"
#include "engine/dispatch.h"
#include "engine/shape.h"

namespace strata {

namespace {

template <typename T>
void shift_all(const T* in, T* out, int64_t n, int64_t channels, int64_t height, int64_t width,
               const std::vector<int64_t>& dx, const std::vector<int64_t>& dy) {
  const int64_t plane = height * width;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < channels; ++c) {
      const T* src = in + (i * channels + c) * plane;
      T* dst = out + (i * channels + c) * plane;
      for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) {
          const int64_t sy = y - dy[i], sx = x - dx[i];
          dst[y * width + x] = (sy >= 0 && sy < height && sx >= 0 && sx < width) ? src[sy * width + sx] : T(0);
        }
    }
}

}  // namespace

Tensor shift_images(const Tensor& images, int64_t height, int64_t width, const std::vector<int64_t>& dx,
                    const std::vector<int64_t>& dy) {
  STRATA_CHECK(images.defined() && images.dim() >= 2 && images.device().is_cpu() &&
                   (images.dtype() == DType::Float32 || images.dtype() == DType::Float64),
               "shift_images: expects float32 or float64 images [N, ...] on the CPU, got ",
               images.defined() ? shape_str(images.shape()) : "an undefined tensor");
  STRATA_CHECK(height >= 1 && width >= 1, "shift_images: height and width must be >= 1, got ", height, " and ", width);
  const int64_t n = images.size(0), features = images.numel() / (n > 0 ? n : 1);
  STRATA_CHECK(n == 0 || features % (height * width) == 0, "shift_images: ", features,
               " values per image are not a whole number of ", height, " x ", width, " planes");
  STRATA_CHECK(static_cast<int64_t>(dx.size()) == n && static_cast<int64_t>(dy.size()) == n,
               "shift_images: needs one dx and one dy per image (", n, "), got ", dx.size(), " and ", dy.size());
  Tensor in = images.detach();
  if (!in.is_contiguous()) {
    Tensor copy = Tensor::empty(in.shape(), in.dtype(), in.device());
    backend_for(in.device()).copy(in.view(), copy.view());
    in = copy;
  }
  Tensor out = Tensor::empty(images.shape(), images.dtype(), images.device());
  if (n == 0) return out;
  const int64_t channels = features / (height * width);
  if (images.dtype() == DType::Float32)
    shift_all(in.data_ptr<float>(), out.data_ptr<float>(), n, channels, height, width, dx, dy);
  else
    shift_all(in.data_ptr<double>(), out.data_ptr<double>(), n, channels, height, width, dx, dy);
  return out;
}

Tensor random_shift_images(const Tensor& images, int64_t height, int64_t width, int64_t max_shift, Generator* gen) {
  STRATA_CHECK(max_shift >= 0, "random_shift_images: max_shift must be >= 0, got ", max_shift);
  STRATA_CHECK(images.defined() && images.dim() >= 1, "random_shift_images: expects images [N, ...]");
  const int64_t n = images.size(0);
  const std::vector<int64_t> d =
      n > 0 ? randint(-max_shift, max_shift + 1, {2 * n}, {DType::Int64}, gen).to_vector<int64_t>()
            : std::vector<int64_t>{};
  const std::vector<int64_t> dx(d.begin(), d.begin() + n), dy(d.begin() + n, d.end());
  return shift_images(images, height, width, dx, dy);
}

}  // namespace strata
