// libFuzzer target: the strata command line. The input is split at NUL bytes into arguments after
// "strata"; parsing (and resolving a train command into a validated RunConfig) must succeed or
// throw CLI::ParseError (the flag parser's rejection, --help included) or strata::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"strata"};
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  args.push_back(current);
  // Reading a named config file is the config fuzzer's job; here a file argument could name a
  // device or FIFO that never ends, which says nothing about the parser.
  for (const std::string& a : args)
    if (a.rfind("/dev", 0) == 0 || a.rfind("/proc", 0) == 0 || a.rfind("/sys", 0) == 0) return 0;
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    strata::cli::CommandLine command_line;
    command_line.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
  } catch (const strata::Error&) {
  }
  return 0;
}
