// Runs one worker process and collects what the driver needs from it: its stdout and its peak
// resident memory. Each workload runs in a fresh process so that "peak RSS of the whole process"
// (WORKLOADS.md) belongs to that workload alone; wait4() gives the child's ru_maxrss.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace strata::bench {

struct ChildResult {
  int exit_code = -1;         // the exit status, or 128 + signal number
  std::string output;         // stdout
  double peak_rss_mib = 0.0;  // ru_maxrss of the child
};

// argv[0] is looked up on PATH when it has no '/'. `env` entries are set in the child on top of
// this process's environment. Throws strata::Error when the program cannot be started.
ChildResult run_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);

}  // namespace strata::bench
