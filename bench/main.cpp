// strata-bench: runs the workloads of shared/bench/WORKLOADS.md and prints one table.
#include <sys/resource.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "bench/workloads.h"
#include "engine/threading.h"

namespace strata::bench {
double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}
}  // namespace strata::bench

int main(int argc, char** argv) {
  using namespace strata::bench;
  std::string only;
  int threads = 2;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else {
      std::fprintf(stderr, "usage: strata-bench [--only W1|W3|W4|W5|threads] [--threads N] [--quick]\n");
      return 2;
    }
  }
  strata::set_num_threads(threads);
  utsname u{};
  uname(&u);
  std::printf("strata-bench: %s %s, %d threads\n\n", u.sysname, u.machine, threads);
  std::printf("%-36s %14s  %-10s %s\n", "workload", "strata", "unit", "notes");
  auto show = [](const std::vector<Figure>& figures) {
    for (const Figure& f : figures)
      std::printf("%-36s %14.3f  %-10s %s\n", f.workload.c_str(), f.value, f.metric.c_str(), f.note.c_str());
    std::fflush(stdout);
  };
  if (only.empty() || only == "W5") show(run_w5_small_ops(20000));
  if (only.empty() || only == "W4") show(run_w4_gemm());
  if (only == "threads") show(run_blas_threading());
  if (only.empty() || only == "W1") show(run_w1_mlp_vae(!quick));
  if (only.empty() || only == "W3") show(run_w3_fm_2d());
  std::printf("\npeak resident memory: %.1f MiB\n", peak_rss_mib());
  return 0;
}
