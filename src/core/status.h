#pragma once

// Errors cross module boundaries as absl::Status / absl::StatusOr<T>. This header holds the
// propagation macros (abseil 20220623 in Debian ships no status_macros.h) and the one
// mapping from status codes to CLI exit codes and HTTP status codes.
//
// Code conventions:
//   kInvalidArgument     the caller asked for something invalid (a flag, a request field)
//   kNotFound            a file, model, alias or version that does not exist
//   kFailedPrecondition  input data that cannot be used as it is (e.g. needs cleaning)
//   kDataLoss            data was or would be lost (corrupt file, offset reset)
//   kUnavailable         a peer (broker, database) cannot be reached
//   kInternal            a bug of ours

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fraud {

// CLI exit codes: 0 ok, 2 usage error, 1 any other error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

int ExitCodeFor(const absl::Status& status);

// HTTP status code for an error returned to a REST client.
int HttpCodeFor(const absl::Status& status);

}  // namespace fraud

#define FRAUD_STATUS_CONCAT_INNER(a, b) a##b
#define FRAUD_STATUS_CONCAT(a, b) FRAUD_STATUS_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` from the enclosing function when not ok.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    if (::absl::Status fraud_status = (expr); !fraud_status.ok()) \
      return fraud_status;                                     \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates the StatusOr `expr`; returns its status when not ok,
// otherwise moves its value into `lhs` (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  FRAUD_ASSIGN_OR_RETURN_IMPL(FRAUD_STATUS_CONCAT(fraud_statusor_, __LINE__), lhs, expr)
#define FRAUD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()
