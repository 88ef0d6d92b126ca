// The metrics of a training run as a CSV file that any tool (a spreadsheet, pandas, gnuplot) reads:
//
//   step,epoch,wall_time_s,loss,rec,kl,lr,val_loss
//   50,1,3.25,301.2,280.1,21.1,0.001,
//   ...
//
// The columns are fixed when the log is created; each append() writes one row and flushes it, so a
// run that is killed keeps every row it logged. Values a row does not have (validation loss on a
// training step) stay empty and read back as NaN. Column names are plain: no commas, quotes or line
// breaks, so the file needs no CSV quoting.
//
// A resumed run reopens its log with MetricsLog::resume(path, columns, step): the header must match,
// and rows logged after the checkpoint's step are dropped, since the resumed run logs those steps again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace strata::training {

class MetricsLog {
 public:
  // Starts a new log at `path`, replacing any file there.
  MetricsLog(const std::filesystem::path& path, std::vector<std::string> columns);

  // Continues the log of an interrupted run. `columns` must equal the file's header and include
  // "step"; rows whose step is greater than `last_step` are removed (as is a last row cut off
  // mid-write). A missing file starts a new log, so a run whose log was deleted can still resume.
  static MetricsLog resume(const std::filesystem::path& path, std::vector<std::string> columns,
                           int64_t last_step);

  // Writes one row. Every name must be a column; columns not named are left empty.
  void append(const std::map<std::string, double>& values);

  const std::vector<std::string>& columns() const { return columns_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MetricsLog(std::filesystem::path path, std::vector<std::string> columns, bool append_to_existing);

  std::filesystem::path path_;
  std::vector<std::string> columns_;
  std::map<std::string, size_t> index_;
  std::ofstream out_;
};

// A metrics CSV read back column by column; empty cells are NaN.
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> values;  // values[c][row], one vector per column

  size_t rows() const { return values.empty() ? 0 : values.front().size(); }
  bool has(const std::string& column) const;
  // The named column's values; throws naming the available columns when there is none.
  const std::vector<double>& column(const std::string& name) const;
};

// Reads a file written by MetricsLog. A last line without its line break is a row cut off by a
// crash and is ignored; any other malformed row is an error naming its line.
MetricsTable read_metrics_csv(const std::filesystem::path& path);

}  // namespace strata::training
