// Inputs that once got through (or would have, per review during fuzzing) the readers of outside
// bytes: each must now be rejected with a strata::Error naming the problem. The fuzz targets in
// fuzz/ run the same readers on generated inputs (docs/reliability.md).
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/command_line.h"
#include "engine/data/idx.h"
#include "engine/io/safetensors.h"
#include "test_helpers.h"
#include "training/run_config.h"

using namespace strata;
using namespace strata::test;
using namespace strata::training;
namespace fs = std::filesystem;

namespace {

fs::path write_file(const std::string& name, const std::string& bytes) {
  const fs::path path = fs::temp_directory_path() / ("strata_test_reader_" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string safetensors_bytes(const std::string& header) {
  std::string padded = header;
  padded.append((8 - padded.size() % 8) % 8, ' ');
  const uint64_t n = padded.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + padded;
}

cli::Command parse(std::vector<std::string> args) {
  args.insert(args.begin(), "strata");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  cli::CommandLine command_line;
  return command_line.parse(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("config values out of their type's range are errors, not conversions", "[config][fuzz]") {
  // nlohmann's get<int64_t>() of 1e300 is undefined behaviour (UBSan: float-cast-overflow); of 2.5
  // it truncates; of -1 into an unsigned seed it wraps. Each is now a type error naming the key.
  for (const char* text : {R"({"epochs": 1e300})", R"({"epochs": 2.5})", R"({"seed": -1})",
                           R"({"threads": 4294967296})", R"({"hidden": [8, 1e20]})", R"({"detect_anomaly": 1})",
                           R"({"batch_size": 9223372036854775808})"}) {
    INFO(text);
    require_error([&] { load_config(write_file("range.json", text).string()); }, {"wrong type or range"});
  }
  // Whole floats are still numbers for lr and clip_grad_norm, and integers for them are fine too.
  const RunConfig c = load_config(write_file("ok.json", R"({"lr": 1, "clip_grad_norm": 0.5, "seed": 7})").string());
  REQUIRE(c.lr == 1.0);
  REQUIRE(c.clip_grad_norm == 0.5);
  REQUIRE(c.seed == 7u);
}

TEST_CASE("deeply nested JSON is refused before anything recurses over it", "[config][safetensors][fuzz]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  require_error([&] { load_config(write_file("deep.json", "{\"hidden\": " + deep + "}").string()); },
                {"nested deeper than"});
  require_error([&] { io::load_safetensors(write_file("deep.safetensors", safetensors_bytes("{\"a\": " + deep + "}"))); },
                {"nests deeper than"});
  // The error for a wrongly typed value quotes it shortened.
  try {
    std::string list = "1";
    for (int i = 0; i < 300; ++i) list += ",1";
    load_config(write_file("long.json", "{\"model\": [" + list + "]}").string());
    FAIL("expected an error");
  } catch (const Error& e) {
    REQUIRE(std::string(e.what()).size() < 400);
  }
}

TEST_CASE("the command-line parser rejects bad input with CLI or strata errors", "[cli][fuzz]") {
  const cli::Command train = parse({"train", "--epochs", "3", "--hidden", "16,8", "--detect-anomaly",
                                    "--clip-grad-norm", "0.5", "--checkpoint-every", "10"});
  REQUIRE(train.action == cli::Action::Train);
  REQUIRE(train.config.epochs == 3);
  REQUIRE(train.config.hidden == std::vector<int64_t>{16, 8});
  REQUIRE(train.config.detect_anomaly);
  REQUIRE(train.config.clip_grad_norm == 0.5);
  REQUIRE(train.config.checkpoint_every == 10);
  REQUIRE(train.config.out == "runs/vae");
  const cli::Command resume = parse({"train", "--resume", "runs/x", "--epochs", "4"});
  REQUIRE(resume.action == cli::Action::Resume);
  REQUIRE(resume.epochs == 4);

  require_error([] { parse({"train", "--hidden", "16,,8x"}); }, {"--hidden", "comma-separated"});
  require_error([] { parse({"train", "--resume", "runs/x", "--epochs", "0"}); }, {"epochs must be at least 1"});
  require_error([] { parse({"train", "--clip-grad-norm=-1"}); }, {"clip_grad_norm"});
  REQUIRE_THROWS_AS(parse({"train", "--epochs", "ten"}), CLI::ParseError);
  REQUIRE_THROWS_AS(parse({"train", "--threads", "99999999999"}), CLI::ParseError);
  REQUIRE_THROWS_AS(parse({"eval", "--run", "x", "--checkpoint", "worst"}), CLI::ParseError);
  REQUIRE_THROWS_AS(parse({}), CLI::ParseError);
}

TEST_CASE("an IDX header with a zero dim and huge others is an error, not an overflow", "[data][fuzz]") {
  // Found by fuzz_idx (UBSan: signed integer overflow in rows * cols): sizes [0, 4160749567,
  // 4294967041] hold no data, so the byte count checked out, but flattening multiplied the others.
  const std::string header("\x00\x00\x08\x03\x00\x00\x00\x00\xf7\xff\xff\xff\xff\xff\xff\x01", 16);
  const fs::path path = write_file("zero_dim.idx", header);
  require_error([&] { read_idx_images(path.string(), true); }, {"product overflows"});
  require_error([&] { read_idx_images(path.string(), false); }, {"product overflows"});
  // A zero dim with modest others is a valid empty dataset.
  const std::string empty("\x00\x00\x08\x03\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);
  REQUIRE(read_idx_images(write_file("empty.idx", empty).string(), true).shape() == Shape{0, 784});
}
