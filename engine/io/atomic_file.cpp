#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "core/error.h"

namespace strata::io {

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
  STRATA_CHECK(!target_.empty() && target_.has_filename(), "atomic write: '", target_.string(),
               "' does not name a file");
  temporary_ = target_;
  temporary_ += ".tmp-" + std::to_string(::getpid());
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  const int err = errno;
  STRATA_CHECK(fd_ >= 0, "atomic write of '", target_.string(), "': cannot create '", temporary_.string(),
               "': ", errno_text(err));
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_) ::unlink(temporary_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t nbytes) {
  STRATA_CHECK(fd_ >= 0, "atomic write of '", target_.string(), "': write after commit");
  const char* p = static_cast<const char*>(data);
  while (nbytes > 0) {
    const ssize_t n = ::write(fd_, p, nbytes);
    if (n < 0 && errno == EINTR) continue;
    const int err = errno;
    STRATA_CHECK(n > 0, "atomic write of '", target_.string(), "': writing '", temporary_.string(),
                 "' failed: ", n == 0 ? "no progress" : errno_text(err));
    p += n;
    nbytes -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  STRATA_CHECK(fd_ >= 0, "atomic write of '", target_.string(), "': commit called twice");
  // Without the fsync the rename could reach the disk before the data: after a power loss the
  // target would exist with missing contents, which is exactly what this class prevents.
  int rc = ::fsync(fd_);
  int err = errno;
  STRATA_CHECK(rc == 0, "atomic write of '", target_.string(), "': fsync of '", temporary_.string(),
               "' failed: ", errno_text(err));
  rc = ::close(fd_);
  err = errno;
  fd_ = -1;
  STRATA_CHECK(rc == 0, "atomic write of '", target_.string(), "': closing '", temporary_.string(),
               "' failed: ", errno_text(err));
  rc = ::rename(temporary_.c_str(), target_.c_str());
  err = errno;
  STRATA_CHECK(rc == 0, "atomic write of '", target_.string(), "': renaming '", temporary_.string(),
               "' over it failed: ", errno_text(err));
  committed_ = true;

  const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  err = errno;
  STRATA_CHECK(dir_fd >= 0, "atomic write of '", target_.string(), "': cannot open its directory '",
               dir.string(), "' to flush the rename: ", errno_text(err));
  rc = ::fsync(dir_fd);
  err = errno;
  ::close(dir_fd);
  STRATA_CHECK(rc == 0, "atomic write of '", target_.string(), "': fsync of the directory '", dir.string(),
               "' failed: ", errno_text(err));
}

void write_file_atomically(const std::filesystem::path& target, const std::string& text) {
  AtomicFileWriter out(target);
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace strata::io
