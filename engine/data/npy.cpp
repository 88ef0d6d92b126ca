#include "engine/data/npy.h"

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace strata {

namespace {

// The elements are read as stored; a big-endian host would need byte swaps nobody can test here.
static_assert(std::endian::native == std::endian::little, "read_npy assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
// numpy itself refuses headers above 10000 bytes by default (max_header_size); a matrix header is
// under 128. The cap keeps a lying length field from allocating before the header is read.
constexpr uint32_t kMaxHeaderBytes = 65536;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// The header dict, parsed as the Python literal numpy writes: no expressions, no escapes.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        once(seen_descr, key);
        STRATA_CHECK(peek() == '\'' || peek() == '"', where(), "'descr' must be a string such as '<f4', not a structured type");
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        once(seen_order, key);
        h.fortran_order = boolean();
      } else if (key == "shape") {
        once(seen_shape, key);
        h.shape = tuple_of_sizes();
      } else {
        fail("unexpected key '" + key + "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      STRATA_CHECK(peek() == '}', where(), "expected ',' or '}'");
    }
    expect('}');
    STRATA_CHECK(seen_descr && seen_order && seen_shape, "read_npy: '", path_, "': the header lacks ",
                 !seen_descr ? "'descr'" : !seen_order ? "'fortran_order'" : "'shape'");
    // After the dict only the padding: spaces, and the '\n' the caller already checked is last.
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    STRATA_CHECK(pos_ + 1 == s_.size(), where(), "unexpected text after the header dict");
    return h;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  std::string where() const {
    return detail::concat("read_npy: '", path_, "': malformed header at byte ", pos_, " of ", s_.size(), ": ");
  }
  [[noreturn]] void fail(const std::string& what) const { throw Error(where() + what); }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  void once(bool& seen, const std::string& key) {
    if (seen) fail("key '" + key + "' appears twice");
    seen = true;
  }
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted key or string");
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' || s_[pos_] == '\n') fail("escapes and line breaks are not allowed in header strings");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    return std::string(s_.substr(start, pos_++ - start));
  }
  bool boolean() {
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}})
      if (s_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    fail("'fortran_order' must be True or False");
  }
  int64_t size() {
    if (peek() < '0' || peek() > '9') fail("expected a non-negative integer size");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("a size does not fit in 64 bits");
      v = v * 10 + digit;
      ++pos_;
    }
    return v;
  }
  std::vector<int64_t> tuple_of_sizes() {
    expect('(');
    std::vector<int64_t> sizes;
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      sizes.push_back(size());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    expect(')');
    return sizes;
  }

  std::string_view s_;
  const std::string& path_;
  size_t pos_ = 0;
};

uint32_t little_endian(const unsigned char* b, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

template <class T>
void convert_rows(const std::vector<char>& raw, int64_t cols, float* out, const std::string& path) {
  const size_t n = raw.size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
    const int64_t row = static_cast<int64_t>(i) / cols, col = static_cast<int64_t>(i) % cols;
    STRATA_CHECK(std::isfinite(v), "read_npy: '", path, "' row ", row, ", column ", col, " is ", static_cast<double>(v),
                 " (NaN and infinities cannot be trained on)");
    STRATA_CHECK(std::fabs(static_cast<double>(v)) <= std::numeric_limits<float>::max(), "read_npy: '", path, "' row ",
                 row, ", column ", col, " is ", static_cast<double>(v), ", outside the float32 range");
    out[i] = static_cast<float>(v);
  }
}

}  // namespace

Tensor read_npy_matrix(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  STRATA_CHECK(in, "read_npy: cannot open '", path, "'", errno ? std::string(": ") + std::strerror(errno) : std::string());
  in.seekg(0, std::ios::end);
  const std::streamoff file_bytes = in.tellg();
  in.seekg(0, std::ios::beg);
  STRATA_CHECK(file_bytes >= 0 && in, "read_npy: cannot determine the length of '", path, "'");

  unsigned char prefix[12];
  const auto read_exactly = [&](void* dst, size_t n) {
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    return static_cast<size_t>(in.gcount()) == n;
  };
  STRATA_CHECK(file_bytes >= 10 && read_exactly(prefix, 8), "read_npy: '", path, "' is too short to be a .npy file (",
               file_bytes, " bytes; the fixed prefix alone has 10)");
  STRATA_CHECK(std::memcmp(prefix, kMagic, kMagicBytes) == 0, "read_npy: '", path,
               "' is not a .npy file (it does not start with \"\\x93NUMPY\")");
  const int major = prefix[6], minor = prefix[7];
  STRATA_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, "read_npy: '", path, "' has format version ",
               major, ".", minor, "; supported: 1.0, 2.0, 3.0");
  const int length_bytes = major == 1 ? 2 : 4;
  STRATA_CHECK(read_exactly(prefix + 8, static_cast<size_t>(length_bytes)), "read_npy: '", path,
               "' is truncated inside its header length");
  const uint32_t header_bytes = little_endian(prefix + 8, length_bytes);
  const int64_t data_offset = 8 + length_bytes + static_cast<int64_t>(header_bytes);
  STRATA_CHECK(header_bytes <= kMaxHeaderBytes, "read_npy: '", path, "' declares a header of ", header_bytes,
               " bytes (at most ", kMaxHeaderBytes, " accepted)");
  STRATA_CHECK(data_offset <= file_bytes, "read_npy: '", path, "' declares a header of ", header_bytes,
               " bytes but the file has only ", file_bytes - (8 + length_bytes), " after the length field");

  std::string header(header_bytes, '\0');
  STRATA_CHECK(read_exactly(header.data(), header.size()), "read_npy: '", path, "': reading the header failed");
  STRATA_CHECK(!header.empty() && header.back() == '\n', "read_npy: '", path, "': the header does not end with '\\n'");
  const NpyHeader h = HeaderParser(header, path).parse();

  size_t item_bytes = 0;
  if (h.descr == "<f4") item_bytes = 4;
  else if (h.descr == "<f8") item_bytes = 8;
  STRATA_CHECK(item_bytes != 0, "read_npy: '", path, "' holds dtype '", h.descr, "'",
               h.descr == ">f4" || h.descr == ">f8" ? " (big-endian)" : "",
               "; supported: '<f4' (float32) and '<f8' (float64, converted to float32)");
  STRATA_CHECK(!h.fortran_order, "read_npy: '", path,
               "' is stored in Fortran (column-major) order; save it with numpy.ascontiguousarray first");
  STRATA_CHECK(h.shape.size() == 2, "read_npy: '", path, "' holds an array of shape ", shape_str(h.shape),
               "; expected a 2-D matrix [examples, features]");
  const int64_t rows = h.shape[0], cols = h.shape[1];
  const int64_t available = file_bytes - data_offset;
  // Checked division first: rows * cols * item_bytes may not fit in 64 bits.
  const bool fits = cols == 0 || rows <= std::numeric_limits<int64_t>::max() / cols / static_cast<int64_t>(item_bytes);
  STRATA_CHECK(fits && rows * cols * static_cast<int64_t>(item_bytes) == available, "read_npy: '", path,
               "' declares shape ", shape_str(h.shape), " of ", h.descr, " (",
               fits ? std::to_string(rows * cols * static_cast<int64_t>(item_bytes)) : std::string("more than 2^63"),
               " bytes of data), but the file holds ", available, " bytes after its header");

  std::vector<char> raw(static_cast<size_t>(available));
  STRATA_CHECK(read_exactly(raw.data(), raw.size()), "read_npy: '", path, "': reading the data failed");
  Tensor out = Tensor::empty({rows, cols}, DType::Float32);
  if (rows * cols > 0) {
    if (item_bytes == 4) convert_rows<float>(raw, cols, out.data_ptr<float>(), path);
    else convert_rows<double>(raw, cols, out.data_ptr<float>(), path);
  }
  return out;
}

}  // namespace strata
