// The runner of the suite (one binary; ctest runs each TEST_CASE separately) and of the MPI suite.
#include "catch_session.h"

int main(int argc, char** argv) { return strata::test::run_catch_session(argc, argv); }
