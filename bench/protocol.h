// How a benchmark worker process reports to the driver: one JSON object per line on stdout,
//   {"workload": "W1", "metric": "images/s", "value": 10712.3, "note": "...", "reference": 0}
// Every engine's worker (strata-bench itself, bench/peers/libtorch, bench/peers/pytorch_workloads.py)
// prints the same lines, so the driver compares them without knowing which engine ran. Header-only
// on nlohmann-json, so the libtorch peer needs nothing of strata.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/workloads.h"

namespace strata::bench {

inline std::string figure_line(const Figure& f) {
  return nlohmann::json{{"workload", f.workload}, {"metric", f.metric}, {"value", f.value}, {"note", f.note},
                        {"reference", f.reference}}
      .dump();
}

// The figure on one line of a worker's output; nothing for lines that are not figure objects
// (a peer library may print its own warnings).
inline std::optional<Figure> parse_figure_line(const std::string& line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("workload") || !j.contains("value")) return std::nullopt;
  Figure f;
  f.workload = j.at("workload").get<std::string>();
  f.metric = j.value("metric", "");
  f.value = j.at("value").get<double>();
  f.note = j.value("note", "");
  f.reference = j.value("reference", 0.0);
  return f;
}

}  // namespace strata::bench
