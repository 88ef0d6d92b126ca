// Catch2's session, run from each test program's own main (tests/main.cpp, tests/cuda/main.cpp).
// Catch2 v2 declares Catch::Session only where its implementation is compiled, so the mains call
// this instead of including Catch2 themselves.
#pragma once

namespace strata::test {

int run_catch_session(int argc, char** argv);

}  // namespace strata::test
