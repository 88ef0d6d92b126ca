// Flat / tabular data: the CSV and .npy readers (engine/data/csv.h, npy.h) on small files written
// here byte by byte, including malformed headers and truncated data, the seeded validation split,
// and `strata train --data csv:FILE / npy:FILE`.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "engine/data/csv.h"
#include "engine/data/npy.h"
#include "engine/data/split.h"
#include "test_helpers.h"
#include "training/metrics_log.h"
#include "training/run_config.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_tabular_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// The bytes of a .npy file as numpy writes it: magic, version, little-endian header length, the
// header dict padded with spaces to a multiple of 64 and ended by '\n', then the data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const size_t prefix = 8 + (major == 1 ? 2 : 4);
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const uint32_t n = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::memcpy(s.data(), values.data(), s.size());
  return s;
}

std::string dict(const std::string& descr, const std::string& shape, const std::string& order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

}  // namespace

TEST_CASE("read_csv_matrix reads numbers, skips a header line and blank lines", "[data][csv]") {
  const fs::path dir = fresh_dir("csv_ok");
  const std::string plain = write_file(dir / "plain.csv", "1,2,3\n4.5,-6e-1, +7\r\n\n8,9,10");
  const Tensor a = read_csv_matrix(plain);
  REQUIRE(a.shape() == Shape{3, 3});
  REQUIRE(a.dtype() == DType::Float32);
  require_values(a, {1, 2, 3, 4.5, -0.6, 7, 8, 9, 10});
  const Tensor b = read_csv_matrix(write_file(dir / "header.csv", "x, y\n0.25,1\n\n0.5,2\n"));
  REQUIRE(b.shape() == Shape{2, 2});
  require_values(b, {0.25, 1, 0.5, 2});
  // A single column, no trailing newline.
  require_values(read_csv_matrix(write_file(dir / "column.csv", "3\n4")), {3, 4});
}

TEST_CASE("read_csv_matrix names the file, line and column of what is wrong", "[data][csv][errors]") {
  const fs::path dir = fresh_dir("csv_bad");
  const auto bad = [&](const std::string& name, const std::string& text, const std::vector<std::string>& fragments) {
    const std::string path = write_file(dir / name, text);
    std::vector<std::string> expected{path};
    expected.insert(expected.end(), fragments.begin(), fragments.end());
    require_error([&] { read_csv_matrix(path); }, expected);
  };
  bad("ragged.csv", "1,2,3\n4,5\n", {"line 2 has 2 values", "line 1 (the first row) has 3"});
  bad("word.csv", "a,b\n1,2\n3,x\n", {"line 3, column 2", "\"x\" is not a number"});
  // A first line mixing numbers and words is not taken for a header.
  bad("mixed_first.csv", "1,oops\n2,3\n", {"line 1, column 2", "\"oops\""});
  bad("empty_field.csv", "1,2\n3,\n", {"line 2, column 2", "empty field"});
  bad("nan.csv", "1,2\n\n3,nan\n", {"line 3, column 2", "not finite"});
  bad("inf.csv", "-inf,2\n", {"line 1, column 1", "not finite"});
  bad("huge.csv", "1,1e39\n", {"line 1, column 2", "float32 range"});
  bad("only_header.csv", "a,b\n", {"no rows of numbers"});
  bad("empty.csv", "", {"no rows of numbers"});
  require_error([&] { read_csv_matrix((dir / "missing.csv").string()); }, {"cannot open", "missing.csv"});
}

TEST_CASE("read_npy_matrix reads float32 and float64 matrices of format versions 1, 2 and 3", "[data][npy]") {
  const fs::path dir = fresh_dir("npy_ok");
  const std::string f4 = write_file(dir / "f4.npy", npy_bytes(dict("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, 5, 6.5f})));
  const Tensor a = read_npy_matrix(f4);
  REQUIRE(a.shape() == Shape{2, 3});
  REQUIRE(a.dtype() == DType::Float32);
  require_values(a, {1, 2, 3, 4, 5, 6.5});
  // float64 converted to float32; version 2 and 3 headers have a 4-byte length.
  const std::string f8 = write_file(dir / "f8.npy", npy_bytes(dict("<f8", "(3,2)"), raw<double>({0.1, -2, 3, 4, 5, 1e-3}), 2));
  const Tensor b = read_npy_matrix(f8);
  REQUIRE(b.shape() == Shape{3, 2});
  REQUIRE(b.dtype() == DType::Float32);
  require_values(b, {0.1, -2, 3, 4, 5, 1e-3}, 1e-7);
  // Keys in another order, double quotes, no trailing comma: still the Python literal numpy accepts.
  const std::string v3 = write_file(
      dir / "v3.npy", npy_bytes("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}", raw<float>({7, 8}), 3));
  require_values(read_npy_matrix(v3), {7, 8});
  // Zero rows is a valid (empty) matrix.
  REQUIRE(read_npy_matrix(write_file(dir / "empty.npy", npy_bytes(dict("<f4", "(0, 4)"), ""))).shape() == Shape{0, 4});
}

TEST_CASE("read_npy_matrix refuses malformed headers, other dtypes and shapes, and lying sizes", "[data][npy][errors]") {
  const fs::path dir = fresh_dir("npy_bad");
  const std::string six = raw<float>({1, 2, 3, 4, 5, 6});
  const auto bad = [&](const std::string& name, const std::string& bytes, const std::vector<std::string>& fragments) {
    const std::string path = write_file(dir / name, bytes);
    std::vector<std::string> expected{path};
    expected.insert(expected.end(), fragments.begin(), fragments.end());
    require_error([&] { read_npy_matrix(path); }, expected);
  };
  bad("short.npy", "\x93NUM", {"too short"});
  bad("magic.npy", std::string("PK\x03\x04") + std::string(60, 'x'), {"not a .npy file"});
  std::string v9 = npy_bytes(dict("<f4", "(2, 3)"), six);
  v9[6] = 9;
  bad("version.npy", v9, {"version 9.0", "1.0, 2.0, 3.0"});
  bad("big_endian.npy", npy_bytes(dict(">f4", "(2, 3)"), six), {"'>f4'", "big-endian"});
  bad("int.npy", npy_bytes(dict("<i8", "(2, 3)"), six), {"'<i8'", "'<f4'"});
  bad("fortran.npy", npy_bytes(dict("<f4", "(2, 3)", "True"), six), {"Fortran"});
  bad("rank3.npy", npy_bytes(dict("<f4", "(1, 2, 3)"), six), {"[1, 2, 3]", "2-D"});
  bad("rank1.npy", npy_bytes(dict("<f4", "(6,)"), six), {"[6]", "2-D"});
  bad("extra_key.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", six),
      {"malformed header", "unexpected key 'x'"});
  bad("twice.npy", npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", six),
      {"'descr' appears twice"});
  bad("missing_key.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False}", six), {"lacks 'shape'"});
  bad("structured.npy", npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", six),
      {"structured"});
  bad("negative.npy", npy_bytes(dict("<f4", "(-2, 3)"), six), {"non-negative integer"});
  bad("unterminated.npy", npy_bytes("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", six),
      {"malformed header"});
  bad("trailing_text.npy", npy_bytes(dict("<f4", "(2, 3)") + " junk", six), {"after the header dict"});
  std::string no_newline = npy_bytes(dict("<f4", "(2, 3)"), six);
  no_newline[no_newline.size() - six.size() - 1] = ' ';
  bad("no_newline.npy", no_newline, {"does not end with"});
  // Sizes checked against the file's length, both ways, before anything is allocated.
  bad("truncated.npy", npy_bytes(dict("<f4", "(2, 3)"), six.substr(0, 20)), {"[2, 3]", "24 bytes", "holds 20"});
  bad("extra_data.npy", npy_bytes(dict("<f4", "(2, 3)"), six + "xxxx"), {"24 bytes", "holds 28"});
  bad("lying.npy", npy_bytes(dict("<f4", "(1000000, 1000000)"), six), {"4000000000000 bytes", "holds 24"});
  bad("overflow.npy", npy_bytes(dict("<f8", "(9223372036854775807, 2)"), six), {"more than 2^63"});
  bad("size_too_big.npy", npy_bytes(dict("<f4", "(99999999999999999999, 1)"), six), {"64 bits"});
  std::string long_header = npy_bytes(dict("<f4", "(2, 3)"), six, 2);
  long_header[8] = '\xff', long_header[9] = '\xff', long_header[10] = '\xff', long_header[11] = '\x7f';
  bad("long_header.npy", long_header, {"declares a header of 2147483647 bytes"});
  std::string past_end = npy_bytes(dict("<f4", "(2, 3)"), "");
  past_end[8] = '\x00', past_end[9] = '\x10';  // 4096 bytes of header in a file of 128
  REQUIRE(past_end.size() == 128);
  bad("past_end.npy", past_end, {"declares a header of 4096 bytes", "has only 118 after the length field"});
  // Values training cannot use.
  bad("nan.npy", npy_bytes(dict("<f4", "(2, 3)"), raw<float>({1, 2, 3, 4, std::nanf(""), 6})), {"row 1, column 1", "NaN"});
  bad("out_of_range.npy", npy_bytes(dict("<f8", "(1, 2)"), raw<double>({1, 1e300})), {"row 0, column 1", "float32 range"});
}

TEST_CASE("random_split holds out round(fraction * N) rows drawn with the seed, keeping row order", "[data]") {
  std::vector<float> v(20);
  for (int i = 0; i < 20; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  const TensorDataset data(from_vector(v, {10, 2}));
  const TrainValidationSplit s = random_split(data, 0.3, 5);
  REQUIRE(s.train.size() == 7);
  REQUIRE(s.validation.size() == 3);
  // Every row lands in exactly one split, intact, in increasing order within each.
  std::set<int> seen;
  for (const TensorDataset* part : {&s.train, &s.validation}) {
    const std::vector<float> rows = part->inputs().to_vector<float>();
    int previous = -1;
    for (size_t r = 0; r < rows.size() / 2; ++r) {
      const int first = static_cast<int>(rows[2 * r]);
      REQUIRE(rows[2 * r + 1] == static_cast<float>(first + 1));
      REQUIRE(first % 2 == 0);
      REQUIRE(first > previous);
      previous = first;
      REQUIRE(seen.insert(first).second);
    }
  }
  REQUIRE(seen.size() == 10);
  // The same seed draws the same rows; another seed (here) draws others.
  REQUIRE(random_split(data, 0.3, 5).validation.inputs().to_vector<float>() == s.validation.inputs().to_vector<float>());
  REQUIRE(random_split(data, 0.3, 6).validation.inputs().to_vector<float>() != s.validation.inputs().to_vector<float>());
  // A small positive fraction still holds one row out; 0 holds none out.
  REQUIRE(random_split(data, 0.01, 1).validation.size() == 1);
  REQUIRE(random_split(data, 0, 1).validation.size() == 10);
  require_error([&] { random_split(data, 1.0, 1); }, {"[0, 1)", "1"});
  require_error([&] { random_split(TensorDataset(from_vector(std::vector<float>{1, 2}, {2, 1})), 0.9, 1); },
                {"holding out 2 of 2", "none to train on"});
}

TEST_CASE("strata train learns from csv and npy files, holding out --validation-fraction", "[data][trainer]") {
  const fs::path dir = fresh_dir("train");
  // 100 rows of 6 values in [0, 1], as CSV (with a header) and as float64 .npy.
  Generator gen(3);
  const std::vector<double> values = rand({100, 6}, {DType::Float64}, &gen).to_vector<double>();
  std::ostringstream csv;
  csv << "a,b,c,d,e,f\n";
  for (int r = 0; r < 100; ++r)
    for (int c = 0; c < 6; ++c) csv << values[static_cast<size_t>(r * 6 + c)] << (c == 5 ? "\n" : ",");
  const std::string csv_path = write_file(dir / "rows.csv", csv.str());
  const std::string npy_path = write_file(dir / "rows.npy", npy_bytes(dict("<f8", "(100, 6)"), raw(values)));
  for (const std::string& data : {"csv:" + csv_path, "npy:" + npy_path}) {
    training::RunConfig c;
    c.data = data;
    c.validation_fraction = 0.2;
    c.hidden = {8};
    c.latent = 2;
    c.batch_size = 16;  // 80 training rows: 5 steps per epoch
    c.lr = 1e-2;
    c.epochs = 3;
    c.out = (dir / (data.substr(0, 3) + "_run")).string();
    std::ostringstream log;
    const training::TrainResult r = training::train_run(c, {.log = &log});
    REQUIRE(r.global_step == 15);
    const training::MetricsTable t = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
    const std::vector<double>& val = t.column("val_loss");
    std::vector<double> per_epoch;
    for (double v : val)
      if (!std::isnan(v)) per_epoch.push_back(v);
    REQUIRE(per_epoch.size() == 3);
    REQUIRE(per_epoch.back() < per_epoch.front());
    REQUIRE(training::load_config(c.out + "/config.json").validation_fraction == 0.2);
  }
  training::RunConfig bad;
  bad.data = "csv:" + csv_path;
  bad.validation_fraction = 1.5;
  require_error([&] { training::validate(bad); }, {"validation_fraction", "[0, 1)", "1.5"});
  bad.validation_fraction = 0.1;
  bad.data = "npy:" + (dir / "missing.npy").string();
  bad.out = (dir / "missing_run").string();
  require_error([&] { training::train_run(bad, {}); }, {"read_npy", "cannot open", "missing.npy"});
}
