// Direct cblas_sgemm references (the sgemm limit, W4's reference, W1's products alone) run with
// OpenBLAS's own threads, as a user calling OpenBLAS would: strata keeps OpenBLAS single-threaded
// and splits products over TBB itself, so the reference must ask for the threads explicitly.
#pragma once

#include <cblas.h>

#include "engine/threading.h"

namespace strata::bench {

// While alive, OpenBLAS uses as many threads as the engine does (strata's --threads).
class DirectBlasThreads {
 public:
  DirectBlasThreads() { openblas_set_num_threads(get_num_threads()); }
  ~DirectBlasThreads() { openblas_set_num_threads(1); }
  DirectBlasThreads(const DirectBlasThreads&) = delete;
  DirectBlasThreads& operator=(const DirectBlasThreads&) = delete;
};

}  // namespace strata::bench
