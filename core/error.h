// strata reports every misuse with a strata::Error whose message names the op and the shapes,
// dtypes or values at fault. Nothing in the engine aborts on bad input.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace strata {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}
}  // namespace detail

}  // namespace strata

// STRATA_CHECK(cond, "op: message ", value, ...) throws strata::Error with the parts concatenated.
#define STRATA_CHECK(cond, ...)                                               \
  do {                                                                        \
    if (!(cond)) throw ::strata::Error(::strata::detail::concat(__VA_ARGS__)); \
  } while (0)
