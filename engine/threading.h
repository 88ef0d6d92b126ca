// One knob for the CPU's parallelism: oneTBB's worker count and OpenBLAS's thread count.
#pragma once

namespace strata {

// Limits oneTBB and OpenBLAS to n threads (n >= 1). Defaults to the machine's cores.
void set_num_threads(int n);
int get_num_threads();

}  // namespace strata
