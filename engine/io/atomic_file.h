// Replacing a file so that a crash, a kill or a full disk during the write never leaves a corrupt or
// half-written target: the bytes go to "<path>.tmp-<pid>" in the same directory (a rename is only
// atomic within one file system), are flushed to disk, and only then renamed over the target. The
// directory is flushed too, or a power loss could forget the rename itself.
//
//   AtomicFileWriter out(path);
//   out.write(header.data(), header.size());
//   ...
//   out.commit();  // until here the old file (if any) is what readers see
//
// A writer destroyed without commit() (an exception on the way) removes its temporary file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace strata::io {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t nbytes);
  // Flushes the data, renames it over the target and flushes the directory. Call once.
  void commit();

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temporary() const { return temporary_; }

 private:
  void discard() noexcept;

  std::filesystem::path target_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole of `text` as the new content of `target`, through an AtomicFileWriter.
void write_file_atomically(const std::filesystem::path& target, const std::string& text);

}  // namespace strata::io
