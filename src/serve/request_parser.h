#pragma once

// The body of POST /v1/predict, parsed: a pure function of the bytes, so a libFuzzer target
// (request_parser_fuzz.cc) can drive it.
//
//   ASSIGN_OR_RETURN(PredictRequest request, ParsePredictRequest(body));
//
// Accepted bodies (docs/SERVING.md):
//   one transaction   {"transaction_id": 7, "tx_datetime": "2018-04-01 00:00:31",
//                      "customer_id": 596, "terminal_id": 3156, "tx_amount": 57.16,
//                      "dry_run": true}
//   a batch           {"transactions": [{...}, {...}], "dry_run": false}
// Required fields: transaction_id, tx_datetime, customer_id, terminal_id, tx_amount; the
// other columns of DESIGN §1 (tx_time_seconds, tx_time_days, tx_fraud, tx_fraud_scenario) are
// optional; a null is the same as absent; unknown keys are ignored. Field names match as in
// the stream's JSON messages (any case; the Otus header's "tranaction_id" too). Integers may
// be JSON numbers or strings of digits (JavaScript clients send int64 ids as strings), the
// amount a number or a string with at most 2 decimals, tx_datetime a string
// "YYYY-MM-DD HH:MM:SS". The values then go through the stream's own row parser
// (data/row_parser.h, the JSON message path), so the rules are the stream's: amount > 0,
// ids >= 0, tx_fraud 0/1, ...
//
// Errors: kInvalidArgument, its message naming the problem and, where there is one, the field
// ("transactions[2].customer_id: expected an integer, got boolean"). Never throws, never
// crashes, for any bytes.
//
// Thread safety: any number of threads may call it at once (per-thread parsers inside).

#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"

namespace fraud {

// At most this many transactions in one batch.
inline constexpr size_t kMaxBatchTransactions = 10'000;

struct PredictRequest {
  std::vector<Transaction> transactions;  // in request order; one unless batch
  bool batch = false;                     // {"transactions": [...]}
  bool dry_run = false;                   // score without recording the transactions
};

absl::StatusOr<PredictRequest> ParsePredictRequest(std::string_view body);

// The body of POST /v1/labels (admin): labels that arrived after the transactions were scored
// (chargebacks, confirmations; DESIGN §7's transaction-labels), found in the terminal windows
// by terminal, event time and id:
//   {"labels": [{"transaction_id": 7, "terminal_id": 3156,
//                "tx_datetime": "2018-04-01 00:00:31", "tx_fraud": 1}, ...]}
// Ids are JSON integers >= 0, tx_fraud 0 or 1. Errors as ParsePredictRequest's.
struct LabelUpdate {
  TransactionId transaction_id;
  TerminalId terminal_id;
  int64_t tx_datetime = 0;
  int8_t tx_fraud = 0;
};
absl::StatusOr<std::vector<LabelUpdate>> ParseLabelsRequest(std::string_view body);

}  // namespace fraud
