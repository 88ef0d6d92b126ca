#include "bench/targets.h"

#include <cstdio>

namespace strata::bench {

double flops_per_unit(const std::string& workload) {
  if (workload == "W1") return 5.7e6;  // per image, forward + backward
  if (workload == "W2") return 30e6;   // per image
  if (workload == "W3") return 0.8e9;  // per step
  return 0;
}

namespace {

std::string format(const char* fmt, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, fmt, v);
  return buffer;
}

const Figure* find(const EngineRun& run, const std::string& workload) {
  const auto it = run.figures.find(workload);
  return it == run.figures.end() ? nullptr : &it->second;
}

// strata / peer >= bound (throughput) or strata / peer <= bound (time per step).
TargetRow versus_peer(const std::string& workload, const EngineRun& strata, const EngineRun& peer, double bound,
                      bool at_most) {
  const std::string peer_name = peer.engine.empty() ? "peer" : peer.engine;
  TargetRow row{workload + (at_most ? " <= " : " >= ") + format("%.2f", bound) + "x " + peer_name, "", false, false};
  const Figure* s = find(strata, workload);
  const Figure* p = find(peer, workload);
  if (!s || !p) {
    row.measured = !s ? "n/a (not run)" : "n/a (no peer: --vs libtorch|pytorch)";
    return row;
  }
  const double ratio = s->value / p->value;
  row.measured = format("%.2fx", ratio);
  row.checked = true;
  row.holds = at_most ? ratio <= bound : ratio >= bound;
  return row;
}

}  // namespace

std::vector<TargetRow> check_targets(const EngineRun& strata, const EngineRun& peer, double sgemm_gflops,
                                     double w1_products_gflops, double w1_layers_gflops) {
  std::vector<TargetRow> rows;
  rows.push_back(versus_peer("W1", strata, peer, 1.5, false));
  {
    TargetRow row{"W1 >= 70% of the sgemm limit", "n/a (not run)", false, false};
    if (const Figure* s = find(strata, "W1"); s && sgemm_gflops > 0) {
      const double fraction = s->value * flops_per_unit("W1") / (sgemm_gflops * 1e9);
      std::string measured = format("%.1f%%", 100 * fraction);
      std::string alone;  // "products alone: 85.2%, Linear layers alone: 84.2%", of those measured
      auto add_alone = [&](const char* what, double gflops) {
        if (gflops > 0) alone += (alone.empty() ? "" : ", ") + std::string(what) + " alone: " +
                                 format("%.1f%%", 100 * gflops / sgemm_gflops);
      };
      add_alone("products", w1_products_gflops);
      add_alone("Linear layers", w1_layers_gflops);
      if (!alone.empty()) measured += " (" + alone + ")";
      row = {row.target, measured, true, fraction >= 0.70};
    }
    rows.push_back(row);
  }
  rows.push_back(versus_peer("W2", strata, peer, 1.3, false));
  rows.push_back(versus_peer("W3", strata, peer, 1.5, false));
  for (const char* w : {"W4a", "W4b"}) {
    TargetRow row{std::string(w) + " >= 0.95x direct cblas_sgemm", "n/a (not run)", false, false};
    if (const Figure* s = find(strata, w); s && s->reference > 0) {
      const double ratio = s->value / s->reference;
      row = {row.target, format("%.2fx", ratio), true, ratio >= 0.95};
    }
    rows.push_back(row);
  }
  rows.push_back(versus_peer("W5", strata, peer, 0.25, true));
  {
    TargetRow row{"W1 peak RSS below 300 MB", "n/a (not run)", false, false};
    if (const auto it = strata.rss_mib.find("W1"); it != strata.rss_mib.end()) {
      const double mb = it->second * 1.048576;
      row = {row.target, format("%.0f MB", mb), true, mb < 300};
    }
    rows.push_back(row);
    const std::string peer_name = peer.engine.empty() ? "peer" : peer.engine;
    const auto s = strata.rss_mib.find("W1");
    const auto p = peer.rss_mib.find("W1");
    TargetRow below{"W1 peak RSS below " + peer_name + "'s",
                    s == strata.rss_mib.end() ? "n/a (not run)" : "n/a (no peer: --vs libtorch|pytorch)", false, false};
    if (s != strata.rss_mib.end() && p != peer.rss_mib.end()) {
      below = {below.target, format("%.2fx", s->second / p->second), true, s->second < p->second};
    }
    rows.push_back(below);
  }
  return rows;
}

std::vector<TargetRow> check_gpu_targets(const EngineRun& strata, const EngineRun& peer) {
  std::vector<TargetRow> rows;
  for (const char* w : {"W1", "W2", "W3"}) {
    TargetRow row = versus_peer(w, strata, peer, 1.0, false);
    row.target = "W6 " + row.target;
    rows.push_back(row);
  }
  TargetRow w5 = versus_peer("W5", strata, peer, 1.0, true);
  w5.target = "W6 " + w5.target;
  rows.push_back(w5);
  return rows;
}

}  // namespace strata::bench
