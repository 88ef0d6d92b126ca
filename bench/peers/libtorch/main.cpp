// strata-bench-libtorch: the libtorch peer of strata-bench. Runs one workload and prints its figure
// lines (bench/protocol.h); strata-bench starts it with --worker ID --threads N [--quick].
// --threads 0 leaves libtorch's own thread defaults.
#include <cstdio>
#include <cstring>
#include <string>

#include <torch/torch.h>

#include "bench/peers/libtorch/workloads.h"
#include "bench/protocol.h"

int main(int argc, char** argv) {
  using namespace strata::bench;
  std::string id;
  int threads = 2;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--worker") && i + 1 < argc) id = argv[++i];
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else {
      std::fprintf(stderr, "usage: strata-bench-libtorch --worker W1..W5 [--threads N] [--quick]\n");
      return 2;
    }
  }
  try {
    if (threads > 0) torch::set_num_threads(threads);
    std::vector<Figure> figures;
    if (id == "W1") figures = {libtorch_peer::w1_mlp_vae(quick)};
    else if (id == "W2") figures = {libtorch_peer::w2_conv_vae(quick)};
    else if (id == "W3") figures = {libtorch_peer::w3_fm_2d(quick)};
    else if (id == "W4") figures = libtorch_peer::w4_gemm();
    else if (id == "W5") figures = {libtorch_peer::w5_small_ops(quick)};
    else {
      std::fprintf(stderr, "strata-bench-libtorch: unknown workload \"%s\"\n", id.c_str());
      return 2;
    }
    for (const Figure& f : figures) std::printf("%s\n", figure_line(f).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata-bench-libtorch: %s\n", e.what());
    return 1;
  }
}
