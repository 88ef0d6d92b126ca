// safetensors I/O: bit-exact round trips, the byte layout against files written by hand (and the
// reference library's own test vector), corrupt files that must be refused with a clear message,
// and the atomic writer underneath.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numbers>

#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;
using namespace strata::io;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test (ctest may run tests in parallel), removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("strata_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A file with this header (length prefixed, unpadded: readers must not need the padding) and data.
std::string file_of(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * dtype_size(a.dtype());
  if (n == 0) return true;
  return a.is_contiguous() && b.is_contiguous() && std::memcmp(a.raw_data(), b.raw_data(), n) == 0;
}

Tensor bool_tensor(const std::vector<uint8_t>& bytes, const Shape& shape) {
  return from_blob(bytes.data(), shape, DType::Bool);
}

// The golden file: three dtypes (written I64, F32, BOOL: descending alignment), metadata, and a
// 193-byte header padded with 7 spaces to 200.
const std::string kGoldenHeader =
    R"({"__metadata__":{"epoch":"12"},"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
    R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"b":{"dtype":"BOOL","shape":[2],"data_offsets":[16,18]}})";
const std::string kGoldenData = std::string("\x05\0\0\0\0\0\0\0", 8) +  // int64 5
                                std::string("\0\0\x80\x3f", 4) +        // float 1.0
                                std::string("\0\0\0\xc0", 4) +          // float -2.0
                                std::string("\x01\x00", 2);             // true, false

TensorMap golden_tensors() {
  return {{"b", bool_tensor({1, 0}, {2})},
          {"n", from_vector(std::vector<int64_t>{5}, {})},
          {"w", tensor32({1.0f, -2.0f}, {2})}};
}

}  // namespace

TEST_CASE("safetensors: round trip is bit-exact for every dtype, 0-dim, empty and strided tensors", "[io]") {
  TempDir dir;
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  const float denorm = std::numeric_limits<float>::denorm_min();
  TensorMap tensors = {
      {"f32", tensor32({0.0f, -0.0f, fnan, std::numeric_limits<float>::infinity(), denorm, 1e38f}, {2, 3})},
      {"f64", tensor64({std::numbers::pi, -1e-300, std::numeric_limits<double>::lowest()}, {3, 1})},
      {"i64", from_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -1, 0,
                                               std::numeric_limits<int64_t>::max()},
                          {2, 2})},
      {"flag", bool_tensor({1, 0, 0, 1, 1}, {5})},
      {"scalar", scalar_tensor(2.5)},
      {"empty", zeros({0, 3}, {DType::Float64})},
      {"empty_bool", bool_tensor({}, {4, 0})},
      {"layers.0.weight", tensor32({1, 2, 3, 4}, {1, 4})},
  };
  const Metadata metadata = {{"config", R"({"lr": 0.001, "name": "zürich \"run\""})"}, {"epoch", "3"}};
  const fs::path path = dir / "all.safetensors";
  save_safetensors(path, tensors, metadata);

  const SafetensorsFile loaded = load_safetensors(path);
  REQUIRE(loaded.metadata == metadata);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(loaded.tensors.count(name));
    REQUIRE(loaded.tensors.at(name).device() == Device::cpu());
    REQUIRE(same_bits(loaded.tensors.at(name), t));
  }
  // Nothing is left behind next to the target.
  REQUIRE(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  // A transposed view is written in its logical order.
  Tensor base = tensor32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor transposed = Tensor::make_view(base, {3, 2}, {1, 3}, 0);
  REQUIRE_FALSE(transposed.is_contiguous());
  save_safetensors(path, {{"t", transposed}});
  const Tensor t = load_safetensors(path).tensors.at("t");
  REQUIRE(t.shape() == Shape{3, 2});
  require_values(t, {1, 4, 2, 5, 3, 6}, 0.0);
  REQUIRE(load_safetensors(path).metadata.empty());
}

TEST_CASE("safetensors: the byte layout is the reference library's", "[io]") {
  TempDir dir;
  const fs::path path = dir / "golden.safetensors";

  SECTION("mixed dtypes with metadata, header padded with spaces") {
    save_safetensors(path, golden_tensors(), {{"epoch", "12"}});
    REQUIRE(kGoldenHeader.size() == 193);
    REQUIRE(read_bytes(path) == le64(200) + kGoldenHeader + std::string(7, ' ') + kGoldenData);
  }
  SECTION("no tensors and no metadata") {
    save_safetensors(path, {});
    REQUIRE(read_bytes(path) == le64(8) + "{}      ");
    REQUIRE(load_safetensors(path).tensors.empty());
  }
  SECTION("the reference library's test vector (safetensors/src/tensor.rs, test_serialization)") {
    save_safetensors(path, {{"attn.0", tensor32({0, 1, 2, 3, 4, 5}, {1, 2, 3})}});
    const std::string header = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
    std::string data;
    for (float f : {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f}) data.append(reinterpret_cast<const char*>(&f), 4);
    REQUIRE(read_bytes(path) == le64(64) + header + data);
  }
  SECTION("a file written by hand loads, whatever its key order") {
    // Offsets not in key order, fields in another order, no padding, whitespace in the JSON.
    const std::string header =
        R"({ "w": {"data_offsets": [8, 16], "shape": [2], "dtype": "F32"},)"
        R"( "b": {"shape": [2], "dtype": "BOOL", "data_offsets": [16, 18]},)"
        R"( "__metadata__": {"epoch": "12"}, "n": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]} })";
    write_bytes(path, file_of(header, kGoldenData));
    const SafetensorsFile f = load_safetensors(path);
    REQUIRE(f.metadata == Metadata{{"epoch", "12"}});
    for (const auto& [name, t] : golden_tensors()) {
      INFO(name);
      REQUIRE(same_bits(f.tensors.at(name), t));
    }
  }
}

TEST_CASE("safetensors: corrupt files are refused with the file and the fault named", "[io]") {
  TempDir dir;
  const fs::path path = dir / "bad.safetensors";
  const std::string p = path.string();
  const auto load = [&] { load_safetensors(path); };
  const std::string golden = le64(kGoldenHeader.size()) + kGoldenHeader + kGoldenData;

  SECTION("truncated anywhere") {
    const size_t header_end = 8 + kGoldenHeader.size();
    for (size_t cut : {size_t{0}, size_t{3}, size_t{7}, size_t{8}, size_t{50}, header_end - 1, header_end,
                       header_end + 5, golden.size() - 1}) {
      INFO("cut at " << cut);
      write_bytes(path, golden.substr(0, cut));
      require_error(load, {p, "truncated"});
    }
  }
  SECTION("a header length larger than the file, up to 2^64 - 1") {
    for (uint64_t n : {uint64_t{1} << 40, std::numeric_limits<uint64_t>::max()}) {
      write_bytes(path, le64(n) + golden.substr(8));
      require_error(load, {p, "header length is " + std::to_string(n)});
    }
  }
  SECTION("header JSON") {
    write_bytes(path, file_of(R"({"w": {"dtype": "F32", "shape": [2], )", ""));
    require_error(load, {p, "not valid JSON"});
    write_bytes(path, file_of("[1, 2]", ""));
    require_error(load, {p, "does not start with '{'"});
    write_bytes(path, file_of(std::string("{\"\xff\": 1}"), ""));
    require_error(load, {p, "not valid JSON"});
    write_bytes(path, file_of(R"({"w": 3})", ""));
    require_error(load, {p, "tensor 'w'", "not an object"});
    write_bytes(path, file_of(R"({"w": {"dtype": "F32", "shape": [0]}})", ""));
    require_error(load, {p, "tensor 'w'", "no 'data_offsets'"});
    write_bytes(path, file_of(R"({"__metadata__": {"epoch": 3}})", ""));
    require_error(load, {p, "metadata entry 'epoch'", "must be strings"});
    write_bytes(path, file_of(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},)"
                              R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                              "abcd"));
    require_error(load, {p, "names 'a' twice"});
  }
  SECTION("dtypes, shapes and offsets") {
    const auto with_w = [&](const std::string& w_entry, const std::string& data = "12345678") {
      write_bytes(path, file_of(R"({"w": )" + w_entry + "}", data));
    };
    with_w(R"({"dtype": "F16", "shape": [4], "data_offsets": [0, 8]})");
    require_error(load, {p, "tensor 'w'", "dtype 'F16'"});
    with_w(R"({"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]})");
    require_error(load, {p, "tensor 'w'", "not a size"});
    with_w(R"({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]})");
    require_error(load, {p, "tensor 'w'", "not a size"});
    with_w(R"({"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 8]})");
    require_error(load, {p, "tensor 'w'", "too large"});
    with_w(R"({"dtype": "F32", "shape": [0, 4611686018427387904, 4], "data_offsets": [0, 0]})");
    require_error(load, {p, "tensor 'w'", "too large"});
    with_w(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 100]})");
    require_error(load, {p, "tensor 'w'", "[0, 100] lie outside the data region of 8 bytes"});
    with_w(R"({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]})");
    require_error(load, {p, "tensor 'w'", "begin after end"});
    with_w(R"({"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]})");
    require_error(load, {p, "tensor 'w'", "not two byte offsets"});
    with_w(R"({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]})");
    require_error(load, {p, "tensor 'w'", "hold 8 bytes but F32 of shape [3] needs 12"});
    with_w(R"({"dtype": "F64", "shape": [2], "data_offsets": [0, 8]})");
    require_error(load, {p, "tensor 'w'", "needs 16"});
    with_w(R"({"dtype": "BOOL", "shape": [8], "data_offsets": [0, 8]})", std::string("\1\0\1\2\0\0\0\0", 8));
    require_error(load, {p, "tensor 'w'", "element 3 is the byte 2"});
  }
  SECTION("the layout: overlaps, gaps and leftover bytes") {
    write_bytes(path, file_of(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                              R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                              "123456789abc"));
    require_error(load, {p, "tensor 'b'", "overlaps tensor 'a'"});
    write_bytes(path, file_of(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                              R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                              "123456789abc"));
    require_error(load, {p, "bytes [4, 8)", "before tensor 'b'", "belong to no tensor"});
    write_bytes(path, golden + "xy");
    require_error(load, {p, "bytes [18, 20) at the end", "belong to no tensor"});
  }
  SECTION("not there at all") {
    require_error([&] { load_safetensors(dir / "missing.safetensors"); },
                  {"missing.safetensors", "cannot read"});
  }
}

TEST_CASE("safetensors: saving refuses what the format cannot hold", "[io]") {
  TempDir dir;
  const fs::path path = dir / "out.safetensors";
  require_error(
      [&] {
        save_safetensors(path, {{"x", Tensor()}});
      },
      {path.string(), "tensor 'x' is undefined"});
  require_error([&] { save_safetensors(path, {{"__metadata__", zeros({1})}}); }, {"reserved"});
  require_error([&] { save_safetensors(path, {{"bad\xff", zeros({1})}}); }, {path.string(), "UTF-8"});
  require_error(
      [&] {
        save_safetensors(dir / "no" / "such" / "dir.safetensors", {{"x", zeros({1})}});
      },
      {"dir.safetensors", "cannot create", "No such file or directory"});
  REQUIRE_FALSE(fs::exists(path));
}

TEST_CASE("atomic file: the target changes only on commit", "[io]") {
  TempDir dir;
  const fs::path target = dir / "state.bin";
  write_bytes(target, "old contents");

  SECTION("abandoned (an exception on the way): old target intact, temporary removed") {
    {
      AtomicFileWriter out(target);
      REQUIRE(out.temporary() == fs::path(target.string() + ".tmp-" + std::to_string(::getpid())));
      out.write("new", 3);
      REQUIRE(fs::exists(out.temporary()));
      REQUIRE(read_bytes(target) == "old contents");
    }
    REQUIRE(read_bytes(target) == "old contents");
    REQUIRE(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  }
  SECTION("committed: replaced whole, temporary gone") {
    AtomicFileWriter out(target);
    out.write("new ", 4);
    out.write("contents", 8);
    out.commit();
    REQUIRE(read_bytes(target) == "new contents");
    REQUIRE_FALSE(fs::exists(out.temporary()));
    require_error([&] { out.write("x", 1); }, {target.string(), "after commit"});
    require_error([&] { out.commit(); }, {target.string(), "twice"});
  }
  SECTION("a relative path in the working directory") {
    struct InDirectory {
      fs::path previous = fs::current_path();
      explicit InDirectory(const fs::path& p) { fs::current_path(p); }
      ~InDirectory() { fs::current_path(previous); }
    } in_dir(dir.path);
    AtomicFileWriter out("relative.bin");
    out.write("r", 1);
    out.commit();
    REQUIRE(read_bytes(dir / "relative.bin") == "r");
  }
}
