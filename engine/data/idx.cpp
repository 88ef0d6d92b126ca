#include "engine/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"

namespace strata {

namespace {

constexpr int kUnsignedByte = 0x08;
// Reading in pieces of this size bounds what a header can make us allocate ahead of the data.
constexpr size_t kChunkBytes = size_t{1} << 20;

const char* idx_type_name(int code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

std::string hex_byte(unsigned v) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[(v >> 4) & 0xF] + digits[v & 0xF];
}

// A gzip or plain file opened through zlib, closed on scope exit.
class ZFile {
 public:
  explicit ZFile(const std::string& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    STRATA_CHECK(file_ != nullptr, "read_idx: cannot open '", path, "'",
                 errno ? std::string(": ") + std::strerror(errno) : std::string());
    gzbuffer(file_, 1 << 17);
  }
  ~ZFile() { gzclose(file_); }
  ZFile(const ZFile&) = delete;
  ZFile& operator=(const ZFile&) = delete;

  // Reads up to n bytes and returns how many arrived: fewer only at the end of the data. Corrupt
  // compressed data throws; a compressed stream cut short reads as an early end (the callers then
  // report the file as truncated, which is what it is).
  size_t read(void* dst, size_t n) {
    size_t total = 0;
    char* out = static_cast<char*>(dst);
    while (total < n) {
      const unsigned want = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
      const int got = gzread(file_, out + total, want);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(file_, &code);
        throw Error(
            detail::concat("read_idx: '", path_, "' cannot be decompressed: ", msg ? msg : "zlib error"));
      }
      if (got == 0) break;
      total += static_cast<size_t>(got);
    }
    return total;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

struct IdxData {
  Shape dims;
  std::vector<std::vector<uint8_t>> chunks;  // the elements, in order, exactly as many as dims say
};

// Reads and validates a whole unsigned-byte IDX file with `expected_dims` dimensions.
IdxData read_idx_bytes(const std::string& path, int expected_dims, const char* what) {
  ZFile file(path);
  uint8_t magic[4];
  const size_t got_magic = file.read(magic, 4);
  STRATA_CHECK(got_magic == 4, "read_idx: '", path, "' is too short to be an IDX file (", got_magic,
               " bytes; the header alone has at least 8)");
  STRATA_CHECK(magic[0] == 0 && magic[1] == 0, "read_idx: '", path,
               "' is not an IDX file: its magic number starts ", hex_byte(magic[0]), " ", hex_byte(magic[1]),
               " instead of 0x00 0x00");
  const int type = magic[2], ndims = magic[3];
  STRATA_CHECK(type == kUnsignedByte, "read_idx: '", path, "' holds elements of type ", hex_byte(type), " (",
               idx_type_name(type),
               "); only 0x08 (unsigned byte), the type of the MNIST-style datasets, is supported");
  STRATA_CHECK(ndims == expected_dims, "read_idx: '", path, "' has ", ndims, " dims but ", what, " need ",
               expected_dims);

  std::vector<uint8_t> header(static_cast<size_t>(ndims) * 4);
  const size_t got_header = file.read(header.data(), header.size());
  STRATA_CHECK(got_header == header.size(), "read_idx: '", path, "' is truncated inside its header (", ndims,
               " dims need ", header.size(), " bytes of sizes, found ", got_header, ")");
  IdxData data;
  // The product of the non-zero sizes must fit too: a zero dim makes the total 0, but the shape
  // (rows * cols when flattened) and its strides still multiply the others (found by fuzz_idx).
  int64_t nonzero_product = 1;
  bool has_zero = false;
  for (int d = 0; d < ndims; ++d) {
    const uint8_t* b = header.data() + 4 * d;
    const int64_t size = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
    // Each dim is below 2^32, so only the running product can overflow.
    if (size == 0) has_zero = true;
    STRATA_CHECK(size == 0 || nonzero_product <= std::numeric_limits<int64_t>::max() / size, "read_idx: '", path,
                 "' declares sizes ", shape_str(data.dims), " and ", size,
                 " whose product overflows");
    if (size != 0) nonzero_product *= size;
    data.dims.push_back(size);
  }
  const int64_t total = has_zero ? 0 : nonzero_product;

  int64_t remaining = total;
  while (remaining > 0) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(remaining, static_cast<int64_t>(kChunkBytes)));
    std::vector<uint8_t> chunk(want);
    const size_t got = file.read(chunk.data(), want);
    remaining -= static_cast<int64_t>(got);
    STRATA_CHECK(got == want, "read_idx: '", path, "' is truncated: its header declares sizes ",
                 shape_str(data.dims), " = ", total, " bytes of data, but the file holds only ",
                 total - remaining);
    data.chunks.push_back(std::move(chunk));
  }
  uint8_t extra;
  STRATA_CHECK(file.read(&extra, 1) == 0, "read_idx: '", path, "' holds more data than the ", total,
               " bytes its header declares (sizes ", shape_str(data.dims), ")");
  return data;
}

template <class T, class F>
void convert(const IdxData& data, T* out, F f) {
  for (const std::vector<uint8_t>& chunk : data.chunks)
    for (uint8_t v : chunk) *out++ = f(v);
}

}  // namespace

Tensor read_idx_images(const std::string& path, bool flatten) {
  const IdxData data = read_idx_bytes(path, 3, "images");
  const int64_t n = data.dims[0], rows = data.dims[1], cols = data.dims[2];
  Tensor images = Tensor::empty(flatten ? Shape{n, rows * cols} : Shape{n, rows, cols}, DType::Float32);
  convert(data, images.data_ptr<float>(), [](uint8_t v) { return static_cast<float>(v) / 255.0f; });
  return images;
}

Tensor read_idx_labels(const std::string& path) {
  const IdxData data = read_idx_bytes(path, 1, "labels");
  Tensor labels = Tensor::empty({data.dims[0]}, DType::Int64);
  convert(data, labels.data_ptr<int64_t>(), [](uint8_t v) { return static_cast<int64_t>(v); });
  return labels;
}

}  // namespace strata
