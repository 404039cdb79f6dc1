#pragma once

// FRAUD_CHECK(cond) and FRAUD_CHECK_EQ(a, b): invariants of our own code. A failure prints
// file, line and the values, then aborts. User input must never be able to trip one:
// bad input is reported through absl::Status instead.

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace fraud::internal {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* expr,
                                     const std::string& values) {
  std::fprintf(stderr, "%s:%d: FRAUD_CHECK failed: %s%s\n", file, line, expr, values.c_str());
  std::abort();
}

template <typename A, typename B>
std::string DescribePair(const A& a, const B& b) {
  std::ostringstream os;
  os << " (" << a << " vs " << b << ")";
  return os.str();
}

}  // namespace fraud::internal

#define FRAUD_CHECK(cond)                                               \
  do {                                                                  \
    if (!(cond)) ::fraud::internal::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (false)

#define FRAUD_CHECK_OP(a, op, b)                                                  \
  do {                                                                            \
    const auto& fraud_check_a = (a);                                              \
    const auto& fraud_check_b = (b);                                              \
    if (!(fraud_check_a op fraud_check_b))                                        \
      ::fraud::internal::CheckFailed(                                             \
          __FILE__, __LINE__, #a " " #op " " #b,                                  \
          ::fraud::internal::DescribePair(fraud_check_a, fraud_check_b));         \
  } while (false)

#define FRAUD_CHECK_EQ(a, b) FRAUD_CHECK_OP(a, ==, b)
#define FRAUD_CHECK_LE(a, b) FRAUD_CHECK_OP(a, <=, b)
#define FRAUD_CHECK_LT(a, b) FRAUD_CHECK_OP(a, <, b)
