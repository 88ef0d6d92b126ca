#include "engine/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <vector>

#include "engine/dispatch.h"
#include "engine/io/atomic_file.h"

namespace strata::io {

// The format stores little-endian data and strata writes its memory as it is.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

constexpr const char* kMetadataKey = "__metadata__";
constexpr int kMaxHeaderDepth = 8;

const char* format_name(DType t) {
  switch (t) {
    case DType::Float32:
      return "F32";
    case DType::Float64:
      return "F64";
    case DType::Int64:
      return "I64";
    case DType::Bool:
      return "BOOL";
  }
  return "?";
}

bool parse_format_name(const std::string& s, DType& out) {
  for (DType t : {DType::Float32, DType::Float64, DType::Int64, DType::Bool})
    if (s == format_name(t)) {
      out = t;
      return true;
    }
  return false;
}

// The Python library orders tensors by descending dtype (its enum lists dtypes by increasing
// alignment: BOOL < F32 < F64 < I64), then by name, so every tensor starts aligned to its item size.
int layout_rank(DType t) {
  switch (t) {
    case DType::Bool:
      return 0;
    case DType::Float32:
      return 1;
    case DType::Float64:
      return 2;
    case DType::Int64:
      return 3;
  }
  return -1;
}

// A contiguous tensor with t's logical contents on t's device (t itself when it already is one,
// or holds nothing to copy).
Tensor contiguous_copy(const Tensor& t) {
  if (t.is_contiguous() || t.numel() == 0) return t;
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  backend_for(t.device()).copy(t.view(), out.view());
  return out;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const Metadata& metadata) {
  const std::string where = "save_safetensors: '" + path.string() + "': ";
  std::vector<std::pair<std::string, Tensor>> entries(tensors.begin(), tensors.end());
  for (const auto& [name, t] : entries) {
    STRATA_CHECK(t.defined(), where, "tensor '", name, "' is undefined");
    STRATA_CHECK(name != kMetadataKey, where, "'", kMetadataKey,
                 "' is reserved for the metadata and cannot name a tensor");
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return layout_rank(a.second.dtype()) > layout_rank(b.second.dtype());
  });

  // ordered_json keeps the Python library's key order (metadata first; dtype, shape, data_offsets).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : entries) {
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    nlohmann::ordered_json info;
    info["dtype"] = format_name(t.dtype());
    info["shape"] = t.shape();
    info["data_offsets"] = {offset, offset + nbytes};
    header[name] = std::move(info);
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + "a tensor name or metadata string is not valid UTF-8 (" + e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  AtomicFileWriter out(path);
  const uint64_t header_len = text.size();
  out.write(&header_len, sizeof header_len);
  out.write(text.data(), text.size());
  // Copy to the host in bounded chunks: a tensor on another device is never duplicated whole.
  constexpr size_t kChunk = size_t{1} << 24;
  std::vector<char> buffer;
  for (const auto& [name, t] : entries) {
    const Tensor c = contiguous_copy(t);
    const size_t nbytes = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
    const char* src = static_cast<const char*>(c.raw_data());
    Backend& backend = backend_for(c.device());
    for (size_t done = 0; done < nbytes; done += kChunk) {
      const size_t n = std::min(kChunk, nbytes - done);
      buffer.resize(n);
      backend.copy_to_host(src + done, buffer.data(), n);
      out.write(buffer.data(), n);
    }
  }
  out.commit();
}

namespace {

// One tensor entry of a header, validated on its own (the layout is checked once all are known).
struct Entry {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

class Reader {
 public:
  explicit Reader(const std::filesystem::path& path) : path_(path) {}

  SafetensorsFile read() {
    open();
    const uint64_t header_len = read_header_length();
    const nlohmann::json header = parse_header(header_len);
    data_start_ = 8 + header_len;
    data_len_ = file_size_ - data_start_;

    SafetensorsFile out;
    std::vector<Entry> entries;
    for (const auto& [key, value] : header.items()) {
      if (key == kMetadataKey)
        out.metadata = parse_metadata(value);
      else
        entries.push_back(parse_entry(key, value));
    }
    check_layout(entries);
    for (const Entry& e : entries) out.tensors.emplace(e.name, read_tensor(e));
    return out;
  }

 private:
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw Error(detail::concat("load_safetensors: '", path_.string(), "': ", parts...));
  }

  void open() {
    std::error_code ec;
    file_size_ = std::filesystem::file_size(path_, ec);
    if (ec) fail("cannot read it: ", ec.message());
    in_.open(path_, std::ios::binary);
    if (!in_) fail("cannot open it for reading");
  }

  void read_exact(uint64_t at, void* dst, uint64_t n, const std::string& what) {
    in_.seekg(static_cast<std::streamoff>(at));
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!in_ || static_cast<uint64_t>(in_.gcount()) != n)
      fail("the file ended while reading ", what, " (", n, " bytes at offset ", at,
           "); was it changed while being read?");
  }

  uint64_t read_header_length() {
    if (file_size_ < 8)
      fail("the file is ", file_size_, " bytes, too short for the 8-byte header length (truncated?)");
    uint64_t n = 0;
    read_exact(0, &n, 8, "the header length");
    if (n > file_size_ - 8)
      fail("the header length is ", n, " bytes but only ", file_size_ - 8,
           " bytes follow it (truncated, or not a safetensors file)");
    return n;
  }

  nlohmann::json parse_header(uint64_t n) {
    std::string text(n, '\0');
    read_exact(8, text.data(), n, "the header");
    if (text.empty() || text[0] != '{') fail("the header does not start with '{' (not a safetensors file?)");
    // nlohmann keeps the last of two equal keys; a second entry of one name would hide the first.
    std::string duplicate;
    std::set<std::string> keys;
    const auto note_keys = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      // A valid header nests three levels (entry, field, offsets); printing a value for an error
      // message recurses once per level, so a crafted deep header could exhaust the stack.
      if (depth > kMaxHeaderDepth) fail("the header nests deeper than ", kMaxHeaderDepth, " levels");
      if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty() &&
          !keys.insert(parsed.get<std::string>()).second)
        duplicate = parsed.get<std::string>();
      return true;
    };
    nlohmann::json header;
    try {
      header = nlohmann::json::parse(text, note_keys);
    } catch (const nlohmann::json::exception& e) {
      fail("the header is not valid JSON: ", e.what());
    }
    if (!duplicate.empty()) fail("the header names '", duplicate, "' twice");
    return header;
  }

  Metadata parse_metadata(const nlohmann::json& value) {
    if (!value.is_object()) fail("'", kMetadataKey, "' is a JSON ", value.type_name(), ", not an object");
    Metadata out;
    for (const auto& [key, v] : value.items()) {
      if (!v.is_string())
        fail("metadata entry '", key, "' is a JSON ", v.type_name(), " (", json_text(v),
             "); metadata values must be strings");
      out.emplace(key, v.get<std::string>());
    }
    return out;
  }

  Entry parse_entry(const std::string& name, const nlohmann::json& value) {
    const auto bad = [&](const auto&... parts) { fail("tensor '", name, "': ", parts...); };
    if (!value.is_object()) bad("its entry is a JSON ", value.type_name(), ", not an object");
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!value.contains(field)) bad("its entry has no '", field, "'");
    Entry e;
    e.name = name;

    const nlohmann::json& dtype = value["dtype"];
    if (!dtype.is_string()) bad("'dtype' is ", json_text(dtype), ", not a string");
    if (!parse_format_name(dtype.get<std::string>(), e.dtype))
      bad("dtype '", dtype.get<std::string>(), "' is not one strata reads (F32, F64, I64, BOOL)");

    const nlohmann::json& shape = value["shape"];
    if (!shape.is_array()) bad("'shape' is ", json_text(shape), ", not an array");
    // Sizes stay below 2^63 in every product (numel, strides), whatever zero sizes hide.
    uint64_t nonzero_product = 1;
    bool has_zero = false;
    for (const nlohmann::json& d : shape) {
      if (!d.is_number_unsigned()) bad("shape ", json_text(shape), " holds ", json_text(d), ", not a size");
      const uint64_t size = d.get<uint64_t>();
      if (size == 0) has_zero = true;
      if (size != 0 && (__builtin_mul_overflow(nonzero_product, size, &nonzero_product) ||
                        nonzero_product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
        bad("shape ", json_text(shape), " is too large");
      e.shape.push_back(static_cast<int64_t>(size));
    }

    const nlohmann::json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      bad("'data_offsets' is ", json_text(offsets), ", not two byte offsets [begin, end]");
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_len_)
      bad("data_offsets [", e.begin, ", ", e.end, "] lie outside the data region of ", data_len_, " bytes",
          e.begin > e.end ? " (begin after end)" : " (truncated file?)");

    uint64_t nbytes = 0;
    if (!has_zero && __builtin_mul_overflow(nonzero_product, dtype_size(e.dtype), &nbytes))
      bad("shape ", json_text(shape), " is too large");
    if (e.end - e.begin != nbytes)
      bad("data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin, " bytes but ",
          dtype.get<std::string>(), " of shape ", json_text(shape), " needs ", nbytes);
    return e;
  }

  // The tensors must tile the data region exactly: no gaps, no overlaps, nothing left over.
  void check_layout(std::vector<Entry>& entries) const {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    uint64_t cursor = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < cursor)
        fail("tensor '", e.name, "' (bytes [", e.begin, ", ", e.end, ")) overlaps tensor '", previous->name,
             "' (bytes [", previous->begin, ", ", previous->end, "))");
      if (e.begin > cursor)
        fail("bytes [", cursor, ", ", e.begin, ") of the data region, before tensor '", e.name,
             "', belong to no tensor");
      cursor = e.end;
      previous = &e;
    }
    if (cursor != data_len_)
      fail("bytes [", cursor, ", ", data_len_, ") at the end of the data region belong to no tensor");
  }

  Tensor read_tensor(const Entry& e) {
    Tensor t = Tensor::empty(e.shape, e.dtype, Device::cpu());
    const uint64_t nbytes = e.end - e.begin;
    if (nbytes == 0) return t;
    read_exact(data_start_ + e.begin, t.raw_data(), nbytes, "tensor '" + e.name + "'");
    if (e.dtype == DType::Bool) {
      // Any byte but 0 and 1 is not a C++ bool; reading it as one would be undefined behaviour.
      const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < nbytes; ++i)
        if (bytes[i] > 1)
          fail("tensor '", e.name, "': BOOL element ", i, " is the byte ", int(bytes[i]), ", not 0 or 1");
    }
    return t;
  }

  std::filesystem::path path_;
  std::ifstream in_;
  uint64_t file_size_ = 0;
  uint64_t data_start_ = 0;
  uint64_t data_len_ = 0;
};

}  // namespace

SafetensorsFile load_safetensors(const std::filesystem::path& path) { return Reader(path).read(); }

}  // namespace strata::io
