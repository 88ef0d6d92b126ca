#include "engine/threading.h"

#include "engine/dispatch.h"
#include "core/error.h"

namespace strata {

void set_num_threads(int n) {
  STRATA_CHECK(n >= 1, "set_num_threads: n must be at least 1, got ", n);
  backend_for(Device::cpu()).set_num_threads(n);
}

int get_num_threads() { return backend_for(Device::cpu()).num_threads(); }

}  // namespace strata
