// What a training run tells the person watching it, step by step:
//
//   epoch 1/10  step 120/468  8450 img/s  ETA 0:41  loss 301.2 rec 280.1 kl 21.1
//
// On a terminal this is one live line, redrawn in place ('\r') at most every `live_interval_s`
// (redrawing every step would cost more than a small model's step). Anywhere else (a log file, CI)
// carriage returns make a mess, so it prints plain lines every `log_every` steps or `log_seconds`,
// whichever comes first, and at the end of each epoch.
//
// The rate counts images since the reporter was created; the ETA assumes the remaining steps go
// at the average pace so far. The stream, the terminal decision and the clock are options, so the
// output can be tested without a terminal or a wait.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace strata::training {

using ScalarTerms = std::vector<std::pair<std::string, double>>;

struct ProgressOptions {
  std::ostream* out = nullptr;         // null: std::cout
  std::optional<bool> terminal;        // unset: whether stdout is a terminal
  int64_t log_every = 50;              // plain mode: steps between lines
  double log_seconds = 30.0;           // plain mode: longest silence
  double live_interval_s = 0.1;        // terminal mode: shortest time between redraws
  std::function<double()> clock = {};  // seconds on any fixed origin; unset: std::chrono::steady_clock
};

class ProgressReporter {
 public:
  // `epochs` and `steps_per_epoch` are the run's totals, for "e/E", "s/S" and the ETA.
  ProgressReporter(int64_t epochs, int64_t steps_per_epoch, ProgressOptions options = {});
  // Ends a live line, so whatever is printed next starts on a line of its own.
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Reports that step `step` (1-based) of epoch `epoch` (1-based) finished on `images` images with
  // these loss terms. Whether anything is printed depends on the mode and the time since the last print.
  void update(int64_t epoch, int64_t step, int64_t images, const ScalarTerms& terms);
  // Prints a line of its own (an epoch summary, a validation result) without breaking the live line:
  // the live line is cleared first and redrawn by the next update.
  void message(const std::string& line);
  // Ends the live line if one is showing (called by the destructor too).
  void finish();

  bool terminal() const { return terminal_; }

 private:
  std::string status_line(int64_t epoch, int64_t step, double now, const ScalarTerms& terms) const;
  void clear_live_line();

  int64_t epochs_, steps_per_epoch_;
  ProgressOptions options_;
  std::ostream* out_;
  bool terminal_;
  double start_ = 0, last_print_ = 0;
  bool printed_ = false;
  int64_t steps_done_ = 0, images_done_ = 0, steps_since_print_ = 0;
  size_t live_width_ = 0;  // characters of the live line on screen, 0 when none is showing
};

// "0:41", "12:05", "1:02:03": minutes and seconds, hours when there are any. Negative or
// non-finite durations (nothing measured yet) give "--:--".
std::string format_duration(double seconds);
// Compact numbers for a status line: 4 significant digits ("301.2", "0.01234", "21.1"), whole
// numbers from 10000 up ("12345"), scientific beyond 1e9.
std::string format_metric(double v);

}  // namespace strata::training
