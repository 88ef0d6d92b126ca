// The readers under fuzz take a path (they stream from disk and check sizes against the file's
// length), so each input is written to a per-process temporary file first.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace strata::fuzz {

class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size, const char* suffix)
      : path_(std::filesystem::temp_directory_path() /
              ("strata_fuzz_" + std::to_string(::getpid()) + suffix)) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace strata::fuzz
