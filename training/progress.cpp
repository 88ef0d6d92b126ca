#include "training/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include "core/error.h"

namespace strata::training {

namespace {

std::string printf_string(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0)
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(s));
  else
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
  return buf;
}

std::string format_metric(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  const double a = std::fabs(v);
  if (a >= 1e9) return printf_string("%.3e", v);
  if (a >= 1e4) return printf_string("%.0f", v);
  return printf_string("%.4g", v);
}

ProgressReporter::ProgressReporter(int64_t epochs, int64_t steps_per_epoch, ProgressOptions options)
    : epochs_(epochs), steps_per_epoch_(steps_per_epoch), options_(std::move(options)) {
  STRATA_CHECK(epochs > 0 && steps_per_epoch > 0,
               "ProgressReporter: epochs and steps_per_epoch must be "
               "positive, got ",
               epochs, " and ", steps_per_epoch);
  STRATA_CHECK(options_.log_every > 0, "ProgressReporter: log_every must be positive, got ",
               options_.log_every);
  STRATA_CHECK(options_.log_seconds > 0 && options_.live_interval_s >= 0,
               "ProgressReporter: log_seconds must "
               "be positive and live_interval_s non-negative, got ",
               options_.log_seconds, " and ", options_.live_interval_s);
  out_ = options_.out ? options_.out : &std::cout;
  terminal_ = options_.terminal ? *options_.terminal : ::isatty(::fileno(stdout)) != 0;
  if (!options_.clock) options_.clock = steady_seconds;
  start_ = options_.clock();
}

ProgressReporter::~ProgressReporter() {
  try {
    finish();
  } catch (...) {
    // A destructor must not throw; an unwritable stream has nothing left to show anyway.
  }
}

std::string ProgressReporter::status_line(int64_t epoch, int64_t step, double now,
                                          const ScalarTerms& terms) const {
  const double elapsed = now - start_;
  const int64_t remaining = (epochs_ - epoch) * steps_per_epoch_ + (steps_per_epoch_ - step);
  const bool measured = elapsed > 0;
  std::string line = "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs_) + "  step " +
                     std::to_string(step) + "/" + std::to_string(steps_per_epoch_) + "  ";
  line += measured ? format_metric(static_cast<double>(images_done_) / elapsed) : std::string("--");
  line += " img/s  ETA ";
  line +=
      format_duration(measured ? static_cast<double>(remaining) * elapsed / static_cast<double>(steps_done_)
                               : std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < terms.size(); ++i) {
    line += i ? " " : "  ";
    line += terms[i].first + " " + format_metric(terms[i].second);
  }
  return line;
}

void ProgressReporter::update(int64_t epoch, int64_t step, int64_t images, const ScalarTerms& terms) {
  STRATA_CHECK(epoch >= 1 && epoch <= epochs_, "ProgressReporter::update: epoch ", epoch, " is outside 1..",
               epochs_);
  STRATA_CHECK(step >= 1 && step <= steps_per_epoch_, "ProgressReporter::update: step ", step,
               " is outside 1..", steps_per_epoch_);
  STRATA_CHECK(images >= 0, "ProgressReporter::update: images must be non-negative, got ", images);
  ++steps_done_;
  ++steps_since_print_;
  images_done_ += images;
  const double now = options_.clock();
  const bool epoch_done = step == steps_per_epoch_;
  const double quiet = now - last_print_;

  const bool due = terminal_ ? quiet >= options_.live_interval_s
                             : steps_since_print_ >= options_.log_every || quiet >= options_.log_seconds;
  // The first step shows that the run is alive; the last one of an epoch shows its final numbers.
  if (printed_ && !due && !epoch_done) return;

  const std::string line = status_line(epoch, step, now, terms);
  if (terminal_) {
    // Spaces over the rest of a longer previous line: '\r' only moves the cursor.
    *out_ << '\r' << line;
    if (line.size() < live_width_) *out_ << std::string(live_width_ - line.size(), ' ');
    live_width_ = line.size();
    // A finished epoch keeps its line; the next epoch draws below it.
    if (epoch_done) {
      *out_ << '\n';
      live_width_ = 0;
    }
  } else {
    *out_ << line << '\n';
  }
  out_->flush();
  printed_ = true;
  last_print_ = now;
  steps_since_print_ = 0;
}

void ProgressReporter::clear_live_line() {
  if (live_width_ == 0) return;
  *out_ << '\r' << std::string(live_width_, ' ') << '\r';
  live_width_ = 0;
}

void ProgressReporter::message(const std::string& line) {
  clear_live_line();
  *out_ << line << '\n';
  out_->flush();
  // Redraw the live line at the next update instead of leaving the screen without one.
  if (terminal_) printed_ = false;
}

void ProgressReporter::finish() {
  if (live_width_ == 0) return;
  *out_ << '\n';
  out_->flush();
  live_width_ = 0;
}

}  // namespace strata::training
