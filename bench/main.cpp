// strata-bench: runs the workloads of shared/bench/WORKLOADS.md and prints one table, optionally
// beside a peer engine (libtorch through bench/peers/libtorch, or PyTorch through
// bench/peers/pytorch_workloads.py) run in the same process tree, alternating workload by workload
// so that both see the same machine conditions.
//
// Every workload runs in its own child process (this program with --worker ID), so the peak
// resident memory reported for it is that workload's alone. The driver also measures this
// machine's sgemm limit (a large cblas_sgemm) in the same run, for the sgemm fractions of W1-W3.
#include <cblas.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/child_process.h"
#include "bench/protocol.h"
#include "bench/targets.h"
#include "backends/cpu/cpu_isa.h"
#include "bench/workloads.h"
#include "core/error.h"
#include "engine/dispatch.h"
#include "engine/threading.h"

#ifndef STRATA_SOURCE_DIR
#define STRATA_SOURCE_DIR "."
#endif

namespace strata::bench {
namespace {

const std::vector<std::string> kWorkloads = {"W1", "W2", "W3", "W4", "W5"};

// W6 of WORKLOADS.md: W1, W2, W3 and W5 on the GPU, W1 and W2 at batch 1024, W3 at 65536.
const std::vector<std::string> kGpuWorkloads = {"W1", "W2", "W3", "W5"};

// Runs one workload in this process and prints its figure lines.
int run_worker(const std::string& id, bool quick, int threads, bool gpu) {
  set_num_threads(threads);
  const Device device = gpu ? Device::cuda() : Device::cpu();
  STRATA_CHECK(!gpu || id != "W4", "strata-bench --device cuda: W4 measures cblas_sgemm, a CPU figure");
  std::vector<Figure> figures;
  if (id == "W1") figures = {run_w1_mlp_vae(quick, device, gpu ? 1024 : 128)};
  else if (id == "W2") figures = {run_w2_conv_vae(quick, device, gpu ? 1024 : 128)};
  else if (id == "W3") figures = {run_w3_fm_2d(quick, device, gpu ? 65536 : 1024)};
  else if (id == "W4") figures = run_w4_gemm();
  else if (id == "W5") figures = {run_w5_small_ops(quick, device)};
  else if (id == "sgemm") figures = {{"sgemm", "GFLOP/s", measure_sgemm_gflops(), "1024^3 cblas_sgemm", 0},
                                     run_w1_bare_products(), run_w1_linear_layers()};
  else throw Error("strata-bench: unknown workload \"" + id + "\" (W1..W5, sgemm)");
  for (const Figure& f : figures) std::printf("%s\n", figure_line(f).c_str());
  return 0;
}

std::string self_path() {
  char buffer[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  STRATA_CHECK(n > 0, "strata-bench: cannot find its own executable");
  return std::string(buffer, static_cast<size_t>(n));
}

struct Peer {
  std::string engine;                      // "libtorch" or "pytorch"
  std::vector<std::string> command;        // the worker command, without "--worker ID ..."
  std::map<std::string, std::string> env;  // thread settings
};

Peer make_peer(const std::string& name, const std::string& python, int threads, bool default_threads) {
  Peer peer{name, {}, {}};
  if (name == "libtorch") {
    const std::filesystem::path exe = std::filesystem::path(self_path()).parent_path() / "strata-bench-libtorch";
    STRATA_CHECK(std::filesystem::exists(exe), "strata-bench --vs libtorch: ", exe.string(),
                 " was not built (CMake found no Torch; `bash scripts/install-deps.sh bench` installs libtorch-dev, "
                 "then configure again)");
    peer.command = {exe.string()};
  } else if (name == "pytorch") {
    peer.command = {python, std::string(STRATA_SOURCE_DIR) + "/bench/peers/pytorch_workloads.py"};
  } else {
    throw Error("strata-bench: unknown peer \"" + name + "\" (libtorch, pytorch)");
  }
  // On 2 cores, torch's intra-op OpenMP threads over a single-threaded BLAS was much faster than its
  // defaults (bench/RESULTS.md has both); --peer-threads default leaves the peer's defaults.
  if (!default_threads) {
    const std::string n = std::to_string(threads);
    peer.env = {{"OMP_NUM_THREADS", n}, {"OPENBLAS_NUM_THREADS", "1"}, {"MKL_NUM_THREADS", "1"}};
  }
  return peer;
}

// Runs a worker and adds its figures to `run` (keeping the better of repeated runs).
void collect(const std::vector<std::string>& command, const std::map<std::string, std::string>& env, EngineRun& run,
             const std::string& workload) {
  const ChildResult child = run_child(command, env);
  STRATA_CHECK(child.exit_code == 0, "strata-bench: the ", run.engine, " worker for ", workload, " failed (exit code ",
               child.exit_code, "); output:\n", child.output);
  std::istringstream lines(child.output);
  std::string line;
  bool any = false;
  while (std::getline(lines, line)) {
    const auto figure = parse_figure_line(line);
    if (!figure) continue;
    any = true;
    const bool lower_is_better = figure->metric == "us/step";
    const auto it = run.figures.find(figure->workload);
    const bool better = it == run.figures.end() ||
                        (lower_is_better ? figure->value < it->second.value : figure->value > it->second.value);
    if (better) {
      run.figures[figure->workload] = *figure;
      run.rss_mib[figure->workload] = child.peak_rss_mib;
    }
  }
  STRATA_CHECK(any, "strata-bench: the ", run.engine, " worker for ", workload, " printed no figure; output:\n",
               child.output);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) if (!item.empty()) out.push_back(item);
  return out;
}

void print_table(const EngineRun& strata, const EngineRun& peer, double sgemm) {
  const bool has_peer = !peer.figures.empty();
  std::printf("%-5s %-9s %12s %12s %8s %9s %9s  %s\n", "", "metric", "strata", has_peer ? peer.engine.c_str() : "-",
              "ratio", "RSS MiB", has_peer ? "peer RSS" : "-", "notes");
  for (const auto& [id, s] : strata.figures) {
    const auto p = peer.figures.find(id);
    std::string note = s.note;
    if (s.reference > 0) note += "; cblas_sgemm " + std::to_string(static_cast<int>(s.reference)) + " GFLOP/s";
    if (const double flops = flops_per_unit(id); flops > 0 && sgemm > 0) {
      char buffer[128];
      std::snprintf(buffer, sizeof buffer, "; strata %.1f%% of sgemm limit", 100 * s.value * flops / (sgemm * 1e9));
      note += buffer;
      if (p != peer.figures.end()) {
        std::snprintf(buffer, sizeof buffer, ", %s %.1f%%", peer.engine.c_str(),
                      100 * p->second.value * flops / (sgemm * 1e9));
        note += buffer;
      }
    }
    if (p != peer.figures.end()) {
      std::printf("%-5s %-9s %12.2f %12.2f %7.2fx %9.0f %9.0f  %s\n", id.c_str(), s.metric.c_str(), s.value,
                  p->second.value, s.value / p->second.value, strata.rss_mib.at(id), peer.rss_mib.at(id), note.c_str());
    } else {
      std::printf("%-5s %-9s %12.2f %12s %8s %9.0f %9s  %s\n", id.c_str(), s.metric.c_str(), s.value, "-", "-",
                  strata.rss_mib.at(id), "-", note.c_str());
    }
  }
}

int run_driver(const std::vector<std::string>& workloads, const std::string& vs, const std::string& python,
               int threads, bool quick, int repeats, bool peer_default_threads, bool gpu, double settle_seconds) {
  utsname u{};
  uname(&u);
  // OpenBLAS's kernels set the sgemm limit and most of W1-W4: name them (OPENBLAS_CORETYPE in the
  // environment overrides OpenBLAS's own pick, for strata and libtorch alike).
  std::printf("strata-bench: %s %s, %u hardware threads; strata with %d threads and %s CPU kernels, OpenBLAS %s "
              "kernels", u.sysname, u.machine, std::thread::hardware_concurrency(), threads,
              cpu::cpu_isa_name(cpu::cpu_isa()), openblas_get_corename());
  if (gpu) {
    STRATA_CHECK(cuda_is_available(), "strata-bench --device cuda: no usable GPU (", cuda_unavailable_reason(), ")");
    STRATA_CHECK(vs != "libtorch", "strata-bench --device cuda: Debian's libtorch is built without CUDA; use --vs pytorch");
    std::printf("; W6: the workloads on %s (%s)", Device::cuda().str().c_str(), backend_for(Device::cuda()).name());
  }
  std::optional<Peer> peer;
  if (!vs.empty()) {
    peer = make_peer(vs, python, threads, peer_default_threads);
    std::printf("; %s with %s", vs.c_str(),
                peer_default_threads ? "its default threads" : ("OMP_NUM_THREADS=" + std::to_string(threads) +
                                                                 " OPENBLAS_NUM_THREADS=1").c_str());
  }
  std::printf("%s\n\n", quick ? " (QUICK: shortened runs, not the workloads' figures)" : "");
  std::fflush(stdout);

  const std::string self = self_path();
  const std::string thread_arg = std::to_string(threads);
  auto worker = [&](const std::string& id) {
    std::vector<std::string> cmd{self, "--worker", id, "--threads", thread_arg};
    if (quick) cmd.push_back("--quick");
    if (gpu && id != "sgemm") cmd.insert(cmd.end(), {"--device", "cuda"});
    return cmd;
  };
  // Each worker process is followed by a pause before the next starts. On this project's machines
  // (Firecracker VMs with free page reporting, page_reporting_order=11 on the kernel command
  // line) the memory a process frees is reported to the host in the seconds after it exits, which
  // we take to be why whatever runs then is slowed: strata's W3 right after a PyTorch W3 (which
  // frees ~800 MB) ran 127-141 steps/s, after a 3 s pause 144-154 (three alternations each, AMD
  // EPYC Zen 3). Without the pause strata ran 5-10% slower in the PyTorch pairings than in the
  // libtorch ones.
  auto run_worker_process = [&](const std::vector<std::string>& command, const std::map<std::string, std::string>& env,
                                EngineRun& run, const std::string& id) {
    collect(command, env, run, id);
    std::this_thread::sleep_for(std::chrono::duration<double>(settle_seconds));
  };
  EngineRun strata_run{"strata", {}, {}};
  EngineRun peer_run{peer ? peer->engine : "", {}, {}};
  EngineRun sgemm_run{"sgemm", {}, {}};
  // The CPU's sgemm limit means nothing for GPU figures (W6 compares with the peer alone).
  if (!gpu) run_worker_process(worker("sgemm"), {}, sgemm_run, "sgemm");
  for (const std::string& id : workloads) {
    for (int r = 0; r < repeats; ++r) {
      run_worker_process(worker(id), {}, strata_run, id);
      if (peer) {
        std::vector<std::string> cmd = peer->command;
        cmd.insert(cmd.end(), {"--worker", id, "--threads", peer_default_threads ? "0" : thread_arg});
        if (quick) cmd.push_back("--quick");
        if (gpu) cmd.insert(cmd.end(), {"--device", "cuda"});
        run_worker_process(cmd, peer->env, peer_run, id);
      }
    }
  }
  double sgemm = 0, w1_products = 0, w1_layers = 0;
  if (!gpu) {
    collect(worker("sgemm"), {}, sgemm_run, "sgemm");  // the better of the start and the end of the run
    sgemm = sgemm_run.figures.at("sgemm").value;
    // W4a's direct call is the same 1024^3 cblas_sgemm on the same threads: the limit is the best
    // any of them reached, so that a slow moment at the start and end cannot lower it.
    if (const auto w4a = strata_run.figures.find("W4a"); w4a != strata_run.figures.end())
      sgemm = std::max(sgemm, w4a->second.reference);
    w1_products = sgemm_run.figures.at("W1-products").value;
    w1_layers = sgemm_run.figures.at("W1-layers").value;
  }

  print_table(strata_run, peer_run, sgemm);
  if (!gpu) {
    std::printf("\nsgemm limit: %.1f GFLOP/s (1024^3 cblas_sgemm, %d threads, best of the run's start, its end%s)\n",
                sgemm, threads, strata_run.figures.count("W4a") ? " and W4a's direct calls" : "");
    std::printf("W1's products alone: %.1f GFLOP/s = %.1f%% of the sgemm limit (the 20 cblas_sgemm calls of one step, "
                "nothing between them, on OpenBLAS's threads: a plain BLAS user's W1 stays below this)\n",
                w1_products, 100 * w1_products / sgemm);
    std::printf("W1's Linear layers alone: %.1f GFLOP/s = %.1f%% of the sgemm limit (strata's forward and backward of "
                "the seven layers, nothing between them: W1 would reach this if the rest of its step cost nothing)\n",
                w1_layers, 100 * w1_layers / sgemm);
  }
  std::printf("\n%-40s %-6s %s\n", "target", "holds", "measured");
  const std::vector<TargetRow> rows =
      gpu ? check_gpu_targets(strata_run, peer_run) : check_targets(strata_run, peer_run, sgemm, w1_products, w1_layers);
  for (const TargetRow& row : rows) {
    std::printf("%-40s %-6s %s\n", row.target.c_str(), !row.checked ? "-" : row.holds ? "yes" : "NO",
                row.measured.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  using namespace strata::bench;
  CLI::App app{"strata-bench: the workloads of shared/bench/WORKLOADS.md, optionally beside libtorch or PyTorch"};
  std::string only, vs, worker, python;
  int threads = 2, repeats = 1;
  double settle_seconds = 3;
  bool quick = false;
  std::string peer_threads = "tuned", device = "cpu";
  app.add_option("--only", only, "comma-separated workloads (W1,W2,W3,W4,W5; default all), or 'threads'");
  app.add_option("--vs", vs, "peer engine run alternately in the same run: libtorch or pytorch")
      ->check(CLI::IsMember({"libtorch", "pytorch"}));
  app.add_option("--threads", threads, "threads for every engine (default 2, as WORKLOADS.md)")->check(CLI::Range(1, 1024));
  app.add_option("--repeats", repeats, "runs of each workload per engine; the best is reported (default 1)")
      ->check(CLI::Range(1, 100));
  app.add_flag("--quick", quick, "shortened runs (smoke test), not the workloads' figures");
  app.add_option("--python", python, "python with torch for --vs pytorch (default $STRATA_BENCH_PYTHON or python3)");
  app.add_option("--peer-threads", peer_threads,
                 "tuned: OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=1 (default); default: the peer's own defaults")
      ->check(CLI::IsMember({"tuned", "default"}));
  app.add_option("--device", device, "cpu (default), or cuda: W6, the workloads W1 W2 W3 W5 on the GPU")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--settle", settle_seconds,
                 "seconds of pause after each worker process, so that the next starts on a settled machine (default 3)")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--worker", worker, "internal: run one workload in this process and print its figures");
  CLI11_PARSE(app, argc, argv);
  try {
    const bool gpu = device == "cuda";
    if (!worker.empty()) return run_worker(worker, quick, threads, gpu);
    if (only == "threads") {  // a study, not a workload: printed for reading
      strata::set_num_threads(threads);
      for (const Figure& f : run_blas_threading())
        std::printf("%-44s %10.3f %-8s %s\n", f.workload.c_str(), f.value, f.metric.c_str(), f.note.c_str());
      return 0;
    }
    if (python.empty()) {
      const char* env = std::getenv("STRATA_BENCH_PYTHON");
      python = env && *env ? env : "python3";
    }
    const std::vector<std::string>& known = gpu ? kGpuWorkloads : kWorkloads;
    std::vector<std::string> workloads = only.empty() ? known : split_list(only);
    for (const std::string& w : workloads) {
      STRATA_CHECK(std::find(known.begin(), known.end(), w) != known.end(), "strata-bench --only: unknown workload \"",
                   w, "\"", gpu ? " for --device cuda (W1, W2, W3, W5)" : " (W1, W2, W3, W4, W5, or threads)");
    }
    return run_driver(workloads, vs, python, threads, quick, repeats, peer_threads == "default", gpu, settle_seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
