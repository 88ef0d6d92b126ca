#include "bench/child_process.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace strata::bench {

ChildResult run_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  STRATA_CHECK(!argv.empty(), "run_child: empty command");
  int out[2];
  STRATA_CHECK(pipe(out) == 0, "run_child: pipe failed: ", std::strerror(errno));
  const pid_t pid = fork();
  STRATA_CHECK(pid >= 0, "run_child: fork failed: ", std::strerror(errno));
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    // Only reached when exec failed; the driver sees exit code 127, as from a shell.
    std::fprintf(stderr, "strata-bench: cannot start %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out[1]);
  ChildResult result;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n > 0) result.output.append(buffer, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  close(out[0]);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  return result;
}

}  // namespace strata::bench
