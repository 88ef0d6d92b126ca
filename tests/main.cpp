// The Catch2 runner for the whole suite (one binary; ctest runs each TEST_CASE separately).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
