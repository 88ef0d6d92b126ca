#include "training/metrics_log.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "engine/io/atomic_file.h"

namespace strata::training {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

std::string bracketed(const std::vector<std::string>& names) {
  std::string s = "[";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s + "]";
}

void check_columns(const std::vector<std::string>& columns, const char* op) {
  STRATA_CHECK(!columns.empty(), op, ": a metrics log needs at least one column");
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string& c = columns[i];
    STRATA_CHECK(!c.empty(), op, ": column ", i, " has an empty name");
    STRATA_CHECK(c.find_first_of(",\"\r\n") == std::string::npos, op, ": column name '", c,
                 "' contains a comma, quote or line break");
    for (size_t j = 0; j < i; ++j) STRATA_CHECK(columns[j] != c, op, ": column '", c, "' appears twice");
  }
}

std::string read_text(const std::filesystem::path& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  STRATA_CHECK(in.good(), op, ": cannot open '", path.string(), "'");
  std::ostringstream s;
  s << in.rdbuf();
  STRATA_CHECK(!in.bad(), op, ": reading '", path.string(), "' failed");
  return s.str();
}

// The complete lines of `text` (without their breaks). A final line without a break is a row that
// a crash cut short, so it is left out; `dropped_partial` tells whether there was one.
std::vector<std::string> complete_lines(const std::string& text, bool* dropped_partial) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (dropped_partial) *dropped_partial = start < text.size();
  return lines;
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
    fields.push_back(line.substr(start, comma - start));
  fields.push_back(line.substr(start));
  return fields;
}

double parse_cell(const std::string& cell, const std::filesystem::path& path, size_t line_no,
                  const char* op) {
  if (cell.empty()) return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  const char* end = cell.data() + cell.size();
  const auto [ptr, ec] = std::from_chars(cell.data(), end, v);
  STRATA_CHECK(ec == std::errc() && ptr == end, op, ": '", path.string(), "' line ", line_no, ": '", cell,
               "' is not a number");
  return v;
}

// Shortest text that reads back as the same double (std::to_chars), so a log loses no precision.
std::string format_value(double v) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("nan");
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& path, std::vector<std::string> columns)
    : MetricsLog(path, std::move(columns), false) {}

MetricsLog::MetricsLog(std::filesystem::path path, std::vector<std::string> columns, bool append_to_existing)
    : path_(std::move(path)), columns_(std::move(columns)) {
  check_columns(columns_, "MetricsLog");
  for (size_t i = 0; i < columns_.size(); ++i) index_[columns_[i]] = i;
  out_.open(path_, append_to_existing ? std::ios::app : std::ios::trunc);
  STRATA_CHECK(out_.is_open(), "MetricsLog: cannot open '", path_.string(), "' for writing");
  if (!append_to_existing) {
    out_ << join(columns_) << '\n' << std::flush;
    STRATA_CHECK(out_.good(), "MetricsLog: writing the header of '", path_.string(), "' failed");
  }
}

MetricsLog MetricsLog::resume(const std::filesystem::path& path, std::vector<std::string> columns,
                              int64_t last_step) {
  constexpr const char* op = "MetricsLog::resume";
  check_columns(columns, op);
  size_t step_col = columns.size();
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == "step") step_col = i;
  STRATA_CHECK(step_col < columns.size(), op, ": the columns ", bracketed(columns),
               " have no 'step' column to truncate by");
  if (!std::filesystem::exists(path) || std::filesystem::file_size(path) == 0)
    return MetricsLog(path, std::move(columns), false);

  bool partial = false;
  const std::vector<std::string> lines = complete_lines(read_text(path, op), &partial);
  STRATA_CHECK(!lines.empty(), op, ": '", path.string(), "' has no complete header line");
  const std::vector<std::string> header = split_fields(lines[0]);
  STRATA_CHECK(header == columns, op, ": '", path.string(), "' has the columns ", bracketed(header),
               " but this run logs ", bracketed(columns), "; use a new output folder or the same settings");

  std::string kept = lines[0] + '\n';
  bool dropped = partial;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split_fields(lines[i]);
    STRATA_CHECK(fields.size() == columns.size(), op, ": '", path.string(), "' line ", i + 1, " has ",
                 fields.size(), " fields, the header has ", columns.size());
    const double step = parse_cell(fields[step_col], path, i + 1, op);
    STRATA_CHECK(!std::isnan(step), op, ": '", path.string(), "' line ", i + 1, " has no step");
    if (step > static_cast<double>(last_step)) {
      dropped = true;
      continue;
    }
    kept += lines[i] + '\n';
  }
  // Rewriting only when something goes keeps an untouched log untouched; atomically, so a crash
  // now cannot lose the rows that stay.
  if (dropped) {
    io::AtomicFileWriter out(path);
    out.write(kept.data(), kept.size());
    out.commit();
  }
  return MetricsLog(path, std::move(columns), true);
}

void MetricsLog::append(const std::map<std::string, double>& values) {
  std::vector<std::string> cells(columns_.size());
  for (const auto& [name, value] : values) {
    const auto it = index_.find(name);
    STRATA_CHECK(it != index_.end(), "MetricsLog::append: '", name, "' is not a column of '", path_.string(),
                 "' (columns: ", bracketed(columns_), ")");
    cells[it->second] = format_value(value);
  }
  // One write and a flush per row: a killed run loses at most the row being written.
  out_ << join(cells) << '\n' << std::flush;
  STRATA_CHECK(out_.good(), "MetricsLog::append: writing to '", path_.string(), "' failed");
}

bool MetricsTable::has(const std::string& name) const {
  for (const std::string& c : columns)
    if (c == name) return true;
  return false;
}

const std::vector<double>& MetricsTable::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return values[i];
  throw Error("MetricsTable::column: no column '" + name + "' (columns: " + bracketed(columns) + ")");
}

MetricsTable read_metrics_csv(const std::filesystem::path& path) {
  constexpr const char* op = "read_metrics_csv";
  const std::vector<std::string> lines = complete_lines(read_text(path, op), nullptr);
  STRATA_CHECK(!lines.empty(), op, ": '", path.string(), "' has no header line");
  MetricsTable table;
  table.columns = split_fields(lines[0]);
  check_columns(table.columns, op);
  table.values.resize(table.columns.size());
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = split_fields(lines[i]);
    STRATA_CHECK(fields.size() == table.columns.size(), op, ": '", path.string(), "' line ", i + 1, " has ",
                 fields.size(), " fields, the header has ", table.columns.size());
    for (size_t c = 0; c < fields.size(); ++c)
      table.values[c].push_back(parse_cell(fields[c], path, i + 1, op));
  }
  return table;
}

}  // namespace strata::training
