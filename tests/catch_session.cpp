// Catch2's implementation, compiled once for all three test programs. Compiled in every program's
// runner it cost 24 s of the build each, and 121-145 s each under ASan (build/.ninja_log).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_session.h"

namespace strata::test {

int run_catch_session(int argc, char** argv) { return Catch::Session().run(argc, argv); }

}  // namespace strata::test
