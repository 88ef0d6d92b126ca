// What a training run writes for people: the metrics CSV (round trip, resume, errors), the progress
// reporter in both modes on a string stream with an injected clock, and the loss-curve SVG
// (tick computation, structure of the document, skipped values, errors).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "test_helpers.h"
#include "training/curves.h"
#include "training/metrics_log.h"
#include "training/progress.h"

using namespace strata;
using namespace strata::test;
using namespace strata::training;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("strata_test_training_io_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path file(const std::string& name) const { return path / name; }
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

const std::vector<std::string> kColumns = {"step", "epoch", "wall_time_s", "loss",
                                           "rec",  "kl",    "lr",          "val_loss"};

void require_ticks(const std::vector<double>& got, const std::vector<double>& expected) {
  INFO("got " << got.size() << " ticks");
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(expected[i]).epsilon(1e-12));
}

// A clock the test moves by hand.
struct FakeClock {
  double now = 100.0;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};

}  // namespace

// --- metrics log -------------------------------------------------------------------------------

TEST_CASE("MetricsLog writes a CSV that reads back exactly", "[metrics]") {
  TempDir dir("roundtrip");
  const fs::path path = dir.file("metrics.csv");
  {
    MetricsLog log(path, kColumns);
    log.append({{"step", 50},
                {"epoch", 1},
                {"wall_time_s", 3.25},
                {"loss", 301.2},
                {"rec", 280.1},
                {"kl", 0.1 + 0.2},
                {"lr", 1e-3}});
    // Flushed per row: the file has the row while the log is still open.
    REQUIRE(read_file(path) ==
            "step,epoch,wall_time_s,loss,rec,kl,lr,val_loss\n"
            "50,1,3.25,301.2,280.1,0.30000000000000004,0.001,\n");
    log.append({{"step", 100}, {"val_loss", 290.5}, {"loss", NAN}});
  }
  const MetricsTable t = read_metrics_csv(path);
  REQUIRE(t.columns == kColumns);
  REQUIRE(t.rows() == 2);
  REQUIRE(t.column("step") == std::vector<double>{50, 100});
  REQUIRE(t.column("kl")[0] == 0.1 + 0.2);  // shortest round-trip formatting loses nothing
  REQUIRE(std::isnan(t.column("val_loss")[0]));
  REQUIRE(t.column("val_loss")[1] == 290.5);
  REQUIRE(std::isnan(t.column("loss")[1]));
  REQUIRE(t.has("lr"));
  REQUIRE_FALSE(t.has("accuracy"));
  require_error([&] { t.column("accuracy"); }, {"MetricsTable::column", "accuracy", "step, epoch"});

  // A new log replaces an old file.
  MetricsLog fresh(path, {"step", "loss"});
  REQUIRE(read_file(path) == "step,loss\n");
}

TEST_CASE("MetricsLog rejects unknown names and bad columns", "[metrics]") {
  TempDir dir("errors");
  const fs::path path = dir.file("metrics.csv");
  MetricsLog log(path, {"step", "loss"});
  require_error(
      [&] {
        log.append({{"step", 1}, {"kl", 2}});
      },
      {"MetricsLog::append", "'kl'", "[step, loss]"});
  REQUIRE(read_file(path) == "step,loss\n");  // nothing half-written
  require_error([&] { MetricsLog(path, {"step", "step"}); }, {"MetricsLog", "'step' appears twice"});
  require_error([&] { MetricsLog(path, {"step", "a,b"}); }, {"MetricsLog", "'a,b'", "comma"});
  require_error([&] { MetricsLog(path, {}); }, {"MetricsLog", "at least one column"});
  require_error([&] { MetricsLog(dir.file("no/such/dir.csv"), {"step"}); }, {"MetricsLog", "cannot open"});
  require_error([&] { read_metrics_csv(dir.file("missing.csv")); }, {"read_metrics_csv", "cannot open"});
  write_file(dir.file("bad.csv"), "step,loss\n1,2\n3\n");
  require_error([&] { read_metrics_csv(dir.file("bad.csv")); }, {"read_metrics_csv", "line 3", "1 fields"});
  write_file(dir.file("text.csv"), "step,loss\n1,abc\n");
  require_error([&] { read_metrics_csv(dir.file("text.csv")); }, {"read_metrics_csv", "line 2", "'abc'"});
}

TEST_CASE("MetricsLog::resume keeps rows up to the checkpoint and appends after them", "[metrics]") {
  TempDir dir("resume");
  const fs::path path = dir.file("metrics.csv");
  {
    MetricsLog log(path, {"step", "loss"});
    for (int step = 10; step <= 50; step += 10) log.append({{"step", step}, {"loss", 100.0 - step}});
  }
  SECTION("rows after the checkpoint step go, new rows follow the kept ones") {
    MetricsLog log = MetricsLog::resume(path, {"step", "loss"}, 30);
    REQUIRE(read_file(path) == "step,loss\n10,90\n20,80\n30,70\n");
    log.append({{"step", 40}, {"loss", 55}});
    const MetricsTable t = read_metrics_csv(path);
    REQUIRE(t.column("step") == std::vector<double>{10, 20, 30, 40});
    REQUIRE(t.column("loss") == std::vector<double>{90, 80, 70, 55});
  }
  SECTION("a row cut off mid-write is dropped, by the reader and by resume") {
    { std::ofstream(path, std::ios::app) << "60,4"; }
    REQUIRE(read_metrics_csv(path).rows() == 5);
    MetricsLog log = MetricsLog::resume(path, {"step", "loss"}, 100);
    log.append({{"step", 60}, {"loss", 40}});
    REQUIRE(read_file(path) == "step,loss\n10,90\n20,80\n30,70\n40,60\n50,50\n60,40\n");
  }
  SECTION("a missing file starts a new log") {
    MetricsLog log = MetricsLog::resume(dir.file("new.csv"), {"step", "loss"}, 30);
    log.append({{"step", 40}});
    REQUIRE(read_file(dir.file("new.csv")) == "step,loss\n40,\n");
  }
  SECTION("a different header is an error that names both") {
    require_error(
        [&] {
          MetricsLog::resume(path, {"step", "loss", "kl"}, 30);
        },
        {"MetricsLog::resume", "[step, loss]", "[step, loss, kl]"});
    require_error([&] { MetricsLog::resume(path, {"loss"}, 30); },
                  {"MetricsLog::resume", "no 'step' column"});
    REQUIRE(read_metrics_csv(path).rows() == 5);  // untouched
  }
}

// --- progress -------------------------------------------------------------------------------

TEST_CASE("format_duration and format_metric", "[progress]") {
  REQUIRE(format_duration(0) == "0:00");
  REQUIRE(format_duration(41.4) == "0:41");
  REQUIRE(format_duration(59.6) == "1:00");
  REQUIRE(format_duration(725) == "12:05");
  REQUIRE(format_duration(3723) == "1:02:03");
  REQUIRE(format_duration(-1) == "--:--");
  REQUIRE(format_duration(NAN) == "--:--");
  REQUIRE(format_duration(INFINITY) == "--:--");
  REQUIRE(format_metric(301.234) == "301.2");
  REQUIRE(format_metric(21.1) == "21.1");
  REQUIRE(format_metric(0.0123456) == "0.01235");
  REQUIRE(format_metric(8450.4) == "8450");
  REQUIRE(format_metric(123456.7) == "123457");
  REQUIRE(format_metric(2.5e10) == "2.500e+10");
  REQUIRE(format_metric(NAN) == "nan");
  REQUIRE(format_metric(-INFINITY) == "-inf");
}

TEST_CASE("ProgressReporter on a terminal keeps one throttled live line", "[progress]") {
  std::ostringstream out;
  FakeClock clock;
  ProgressReporter p(10, 468, {.out = &out, .terminal = true, .clock = clock.fn()});
  REQUIRE(p.terminal());

  clock.now += 0.5;  // 64 images in 0.5 s: 128 img/s; 4679 steps left at 0.5 s each
  p.update(1, 1, 64, {{"loss", 301.2}, {"rec", 280.1}, {"kl", 21.1}});
  const std::string first = "epoch 1/10  step 1/468  128 img/s  ETA 39:00  loss 301.2 rec 280.1 kl 21.1";
  REQUIRE(out.str() == "\r" + first);

  out.str("");
  clock.now += 0.0625;  // within 0.1 s of the last redraw: skipped
  p.update(1, 2, 64, {{"loss", 300}});
  REQUIRE(out.str().empty());

  clock.now += 0.4375;  // 3 steps, 192 images in 1 s; 4677 steps left at 1/3 s each
  p.update(1, 3, 64, {{"loss", 299}});
  // The shorter line is padded with spaces over the rest of the previous one.
  const std::string line = "epoch 1/10  step 3/468  192 img/s  ETA 25:59  loss 299";
  const std::string rest(first.size() - line.size(), ' ');
  REQUIRE(out.str() == "\r" + line + rest);

  out.str("");
  p.message("validation loss 290.1");
  const std::string blank(line.size(), ' ');
  REQUIRE(out.str() == "\r" + blank + "\rvalidation loss 290.1\n");

  out.str("");
  clock.now += 0.01;  // throttled, but the line was cleared by message(): drawn again
  p.update(1, 4, 64, {{"loss", 298}});
  REQUIRE(out.str().rfind("\repoch 1/10  step 4/468", 0) == 0);

  out.str("");
  clock.now += 0.01;  // throttled, but the last step of an epoch always shows, and ends its line
  p.update(1, 468, 64, {});
  REQUIRE(out.str().rfind("\repoch 1/10  step 468/468", 0) == 0);
  REQUIRE(out.str().back() == '\n');

  out.str("");
  clock.now += 1;
  p.update(2, 1, 64, {});
  p.finish();
  REQUIRE(out.str().back() == '\n');
  out.str("");
  p.finish();  // nothing showing: nothing to end
  REQUIRE(out.str().empty());
}

TEST_CASE("ProgressReporter off a terminal prints plain lines every N steps or M seconds", "[progress]") {
  std::ostringstream out;
  FakeClock clock;
  {
    ProgressReporter p(
        2, 10, {.out = &out, .terminal = false, .log_every = 4, .log_seconds = 30, .clock = clock.fn()});
    REQUIRE_FALSE(p.terminal());
    for (int64_t step = 1; step <= 10; ++step) {
      clock.now += 1;
      p.update(1, step, 100, {{"loss", 1.0 / static_cast<double>(step)}});
    }
    clock.now += 40;  // a slow step: the time limit forces a line before 4 steps have passed
    p.update(2, 1, 100, {{"loss", 0.05}});
    p.message("done");
  }
  const std::string expected =
      "epoch 1/2  step 1/10  100 img/s  ETA 0:19  loss 1\n"    // first step
      "epoch 1/2  step 5/10  100 img/s  ETA 0:15  loss 0.2\n"  // 4 steps later
      "epoch 1/2  step 9/10  100 img/s  ETA 0:11  loss 0.1111\n"
      "epoch 1/2  step 10/10  100 img/s  ETA 0:10  loss 0.1\n"  // end of the epoch
      "epoch 2/2  step 1/10  22 img/s  ETA 0:41  loss 0.05\n"   // 30 s passed; 1100 images in 50 s
      "done\n";
  REQUIRE(out.str() == expected);
  REQUIRE(out.str().find('\r') == std::string::npos);
}

TEST_CASE("ProgressReporter rejects impossible positions", "[progress]") {
  std::ostringstream out;
  ProgressReporter p(2, 10, {.out = &out, .terminal = false});
  require_error([&] { p.update(3, 1, 1, {}); }, {"ProgressReporter::update", "epoch 3", "1..2"});
  require_error([&] { p.update(1, 0, 1, {}); }, {"ProgressReporter::update", "step 0", "1..10"});
  require_error([&] { p.update(1, 1, -1, {}); }, {"ProgressReporter::update", "images"});
  require_error([] { ProgressReporter(0, 10); }, {"ProgressReporter", "positive"});
}

// --- loss curves -------------------------------------------------------------------------------

TEST_CASE("nice_ticks picks 1-2-5 steps covering the range", "[curves]") {
  require_ticks(nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  require_ticks(nice_ticks(237, 1013), {200, 400, 600, 800, 1000, 1200});
  require_ticks(nice_ticks(0, 4680, 6), {0, 1000, 2000, 3000, 4000, 5000});
  require_ticks(nice_ticks(-3, 7), {-4, -2, 0, 2, 4, 6, 8});
  require_ticks(nice_ticks(0.0012, 0.0031), {0.001, 0.0015, 0.002, 0.0025, 0.003, 0.0035});
  require_ticks(nice_ticks(5, 5), {4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6});
  require_ticks(nice_ticks(0, 0), {-1, -0.5, 0, 0.5, 1});
  REQUIRE(nice_ticks(0, 1)[3] == 0.6);  // the nearest double, not 0.6000000000000001
  require_error([] { nice_ticks(1, 0); }, {"nice_ticks", "1..0"});
  require_error([] { nice_ticks(0, INFINITY); }, {"nice_ticks", "finite"});
}

TEST_CASE("log_ticks chooses decades, 1-2-5 or 1..9 by the span", "[curves]") {
  require_ticks(log_ticks(1, 1000), {1, 10, 100, 1000});
  require_ticks(log_ticks(0.5, 700), {0.1, 1, 10, 100, 1000});
  require_ticks(log_ticks(1e-3, 1e6), {1e-4, 1e-2, 1, 1e2, 1e4, 1e6});
  require_ticks(log_ticks(30, 700), {20, 50, 100, 200, 500, 1000});
  require_ticks(log_ticks(280, 320), {200, 300, 400});
  require_ticks(log_ticks(10, 10), {5, 10, 20});
  require_error([] { log_ticks(0, 10); }, {"log_ticks", "positive"});
}

TEST_CASE("render_loss_curves_svg draws axes, curves and a legend", "[curves]") {
  std::vector<double> steps, train, epochs, val;
  for (int i = 0; i <= 100; ++i) {
    steps.push_back(i * 10);
    train.push_back(300.0 * std::exp(-i / 30.0) + 100 + 5 * std::sin(i));
  }
  for (int e = 1; e <= 5; ++e) {
    epochs.push_back(e * 200);
    val.push_back(300.0 * std::exp(-e * 20 / 30.0) + 110);
  }
  train[7] = NAN;
  train[8] = INFINITY;
  const std::vector<CurveSeries> series = {{"train <loss>", steps, train, "", CurveStyle::Line},
                                           {"validation", epochs, val, "crimson", CurveStyle::Markers}};
  const std::string svg = render_loss_curves_svg("MLP VAE & Fashion-MNIST", series);

  REQUIRE(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  REQUIRE(svg.substr(svg.size() - 7) == "</svg>\n");
  REQUIRE(svg.find("viewBox=\"0 0 760.0 460.0\"") != std::string::npos);
  REQUIRE(svg.find("MLP VAE &amp; Fashion-MNIST") != std::string::npos);
  REQUIRE(svg.find(">train &lt;loss&gt;</text>") != std::string::npos);
  REQUIRE(svg.find(">validation</text>") != std::string::npos);
  REQUIRE(svg.find(">step</text>") != std::string::npos);
  REQUIRE(svg.find(">loss</text>") != std::string::npos);
  REQUIRE(svg.find("<!-- 'train <loss>': 2 of 101 points skipped (NaN or infinite) -->") !=
          std::string::npos);
  REQUIRE(svg.find("stroke=\"crimson\"") != std::string::npos);
  REQUIRE(svg.find("stroke=\"#1f77b4\"") != std::string::npos);  // the palette's first colour
  // Tick labels at round values: x 0..1000 by 200, y 100..400 by 100.
  for (const char* label : {">0</text>", ">200</text>", ">1000</text>", ">100</text>", ">400</text>"})
    REQUIRE(svg.find(label) != std::string::npos);

  // Both polylines lie inside the viewBox; the training one lost its two non-finite points.
  const std::regex polyline("<polyline[^>]* points=\"([^\"]*)\"");
  std::vector<size_t> counts;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline); it != std::sregex_iterator(); ++it) {
    std::istringstream points((*it)[1].str());
    std::string pair;
    size_t n = 0;
    while (points >> pair) {
      const size_t comma = pair.find(',');
      REQUIRE(comma != std::string::npos);
      const double x = std::stod(pair.substr(0, comma)), y = std::stod(pair.substr(comma + 1));
      REQUIRE(x >= 0);
      REQUIRE(x <= 760);
      REQUIRE(y >= 0);
      REQUIRE(y <= 460);
      ++n;
    }
    counts.push_back(n);
  }
  REQUIRE(counts == std::vector<size_t>{99, 5});
  // Validation points carry markers (5), plus one in its legend entry.
  size_t circles = 0;
  for (size_t at = 0; (at = svg.find("<circle", at)) != std::string::npos; ++at) ++circles;
  REQUIRE(circles == 6);
}

TEST_CASE("render_loss_curves_svg: log scale, single points, errors", "[curves]") {
  SECTION("log scale skips values <= 0 and labels decades") {
    const std::string svg = render_loss_curves_svg(
        "log", {{"train", {1, 2, 3, 4}, {1000, 10, 0, 0.5}, "", CurveStyle::Line}}, {.log_y = true});
    REQUIRE(svg.find("1 of 4 points skipped (<= 0 on the log scale)") != std::string::npos);
    REQUIRE(svg.find("loss (log scale)") != std::string::npos);
    for (const char* label : {">0.1</text>", ">1</text>", ">10</text>", ">100</text>", ">1000</text>"})
      REQUIRE(svg.find(label) != std::string::npos);
  }
  SECTION("a single point is drawn as a marker, with axes around it") {
    const std::string svg = render_loss_curves_svg("one", {{"val", {3}, {42}, "", CurveStyle::Line}});
    REQUIRE(svg.find("<polyline") == std::string::npos);
    REQUIRE(svg.find("<circle") != std::string::npos);
    REQUIRE(svg.find(">42</text>") != std::string::npos);
  }
  SECTION("errors") {
    require_error([] { render_loss_curves_svg("t", {}); }, {"write_loss_curves_svg", "no series"});
    require_error([] { render_loss_curves_svg("t", {{"train", {}, {}}}); }, {"'train'", "no points"});
    require_error(
        [] {
          render_loss_curves_svg("t", {{"train", {1, 2}, {1}}});
        },
        {"'train'", "2 x values", "1 y"});
    require_error([] { render_loss_curves_svg("t", {{"train", {1}, {NAN}}}); }, {"no series has a point"});
    require_error(
        [] {
          render_loss_curves_svg("t", {{"train", {1}, {1}, "red\"/><script"}});
        },
        {"'train'", "not an SVG colour"});
  }
}

TEST_CASE("write_loss_curves_svg writes the document atomically", "[curves]") {
  TempDir dir("svg");
  const fs::path path = dir.file("loss.svg");
  const std::vector<CurveSeries> series = {{"train", {0, 1, 2}, {3, 2, 1}}};
  write_loss_curves_svg(path.string(), "loss", series);
  REQUIRE(read_file(path) == render_loss_curves_svg("loss", series));
  REQUIRE(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  require_error([&] { write_loss_curves_svg(dir.file("no/dir.svg").string(), "loss", series); },
                {"write_loss_curves_svg", "cannot write"});
}
