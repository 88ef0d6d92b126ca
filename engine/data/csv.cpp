#include "engine/data/csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "engine/creation.h"

namespace strata {

namespace {

std::string_view trimmed(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(trimmed(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// The whole field as a number, or nothing. std::from_chars is locale-independent (strtod would read
// "1,5" differently under a German locale) and takes no leading '+', which CSV writers do emit.
std::optional<double> parse_number(std::string_view field) {
  if (field.size() > 1 && field.front() == '+' && field[1] != '-' && field[1] != '+') field.remove_prefix(1);
  if (field.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  // result_out_of_range: beyond double, which the float32 check below would refuse anyway.
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<double>::infinity();
  if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return value;
}

std::string excerpt(std::string_view field) {
  std::string s(field.substr(0, 40));
  if (field.size() > 40) s += "...";
  return s;
}

}  // namespace

Tensor read_csv_matrix(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  STRATA_CHECK(in, "read_csv: cannot open '", path, "'", errno ? std::string(": ") + std::strerror(errno) : std::string());
  std::vector<float> values;
  int64_t width = -1, rows = 0, line_number = 0, first_data_line = 0;
  bool header_possible = true;  // until the first non-blank line
  std::string line;
  while (std::getline(in, line)) {
    ++line_number;
    std::string_view text = line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (trimmed(text).empty()) continue;
    const std::vector<std::string_view> fields = fields_of(text);
    if (header_possible) {
      header_possible = false;
      bool any_number = false;
      for (std::string_view f : fields) any_number = any_number || parse_number(f).has_value();
      if (!any_number) continue;  // a header: names, not numbers
    }
    const int64_t n = static_cast<int64_t>(fields.size());
    if (width < 0) {
      width = n;
      first_data_line = line_number;
    }
    STRATA_CHECK(n == width, "read_csv: '", path, "' line ", line_number, " has ", n, " values, but line ",
                 first_data_line, " (the first row) has ", width);
    for (int64_t c = 0; c < n; ++c) {
      const std::string_view f = fields[static_cast<size_t>(c)];
      const std::optional<double> v = parse_number(f);
      STRATA_CHECK(v.has_value(), "read_csv: '", path, "' line ", line_number, ", column ", c + 1, ": ",
                   f.empty() ? std::string("empty field") : "\"" + excerpt(f) + "\" is not a number");
      STRATA_CHECK(std::isfinite(*v), "read_csv: '", path, "' line ", line_number, ", column ", c + 1, ": \"",
                   excerpt(f), "\" is not finite (NaN and infinities cannot be trained on)");
      STRATA_CHECK(std::fabs(*v) <= std::numeric_limits<float>::max(), "read_csv: '", path, "' line ",
                   line_number, ", column ", c + 1, ": ", excerpt(f), " is outside the float32 range");
      values.push_back(static_cast<float>(*v));
    }
    ++rows;
  }
  STRATA_CHECK(!in.bad(), "read_csv: reading '", path, "' failed at line ", line_number + 1);
  STRATA_CHECK(rows > 0, "read_csv: '", path, "' holds no rows of numbers (", line_number, " lines read)");
  return from_vector(values, {rows, width});
}

}  // namespace strata
