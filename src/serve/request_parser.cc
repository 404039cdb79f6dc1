#include "serve/request_parser.h"

#include <string>

#include "core/status.h"
#include "core/time.h"
#include "data/layout.h"
#include "data/row_parser.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace fraud {
namespace {

namespace dom = simdjson::dom;
namespace od = simdjson::ondemand;

constexpr char kRequiredFields[] =
    "transaction_id, tx_datetime, customer_id, terminal_id, tx_amount";

std::string_view TypeName(dom::element_type type) {
  switch (type) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return "an integer";
    case dom::element_type::DOUBLE:
      return "a number with a fraction or exponent";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "an unknown value";
}

// Whether a value of `type` may hold `column` (its text is checked by the row parser).
bool TypeFits(int column, dom::element_type type) {
  using T = dom::element_type;
  if (column == kTxDatetimeColumn) return type == T::STRING;
  if (column == kTxAmountColumn) {
    return type == T::INT64 || type == T::UINT64 || type == T::DOUBLE || type == T::STRING;
  }
  return type == T::INT64 || type == T::UINT64 || type == T::STRING;
}

std::string_view Expected(int column) {
  if (column == kTxDatetimeColumn) return "a string \"YYYY-MM-DD HH:MM:SS\"";
  if (column == kTxAmountColumn) return "a number with at most 2 decimals";
  return "an integer";
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// Checks the fields of one transaction object (presence, JSON types), then parses its text
// with the stream's row parser. `where` prefixes messages ("" or "transactions[3].").
absl::Status ParseTransaction(dom::object object, std::string_view text, std::string_view where,
                              Transaction* tx) {
  bool present[kNumColumns] = {};
  for (const dom::key_value_pair field : object) {
    const int column = ColumnFromName(field.key);
    if (column < 0) continue;
    const dom::element_type type = field.value.type();
    if (type == dom::element_type::NULL_VALUE) continue;
    if (!TypeFits(column, type)) {
      return Invalid(fmt::format("{}{}: expected {}, got {}", where,
                                 ColumnName(static_cast<Column>(column)), Expected(column),
                                 TypeName(type)));
    }
    present[column] = true;
  }
  for (int c = 0; c < kNumColumns; ++c) {
    if (IsRequiredColumn(static_cast<Column>(c)) && !present[c]) {
      return Invalid(fmt::format("{}{}: missing (required: {})", where,
                                 ColumnName(static_cast<Column>(c)), kRequiredFields));
    }
  }
  thread_local RowParser parser(Layout::JsonLines(), kAbsent);
  if (parser.Parse(text, tx) != Fault::kNone) {
    return Invalid(fmt::format("{}{}", where, parser.Describe()));
  }
  return absl::OkStatus();
}

// The text of each element of the top-level "transactions" array (already validated).
absl::StatusOr<std::vector<std::string_view>> ElementTexts(const simdjson::padded_string& body) {
  thread_local od::parser parser;
  std::vector<std::string_view> texts;
  od::document doc;
  od::array array;
  if (parser.iterate(body).get(doc) ||
      doc.find_field_unordered("transactions").get_array().get(array)) {
    return Invalid("malformed JSON");
  }
  for (auto element : array) {
    od::object object;
    std::string_view text;
    if (element.get_object().get(object) || object.raw_json().get(text)) {
      return Invalid("malformed JSON");
    }
    texts.push_back(text);
  }
  return texts;
}

// The body as a JSON object; `expected` says what it should hold.
absl::StatusOr<dom::object> ParseObject(const simdjson::padded_string& padded,
                                        std::string_view expected) {
  thread_local dom::parser parser;
  if (std::string_view(padded.data(), padded.size()).find_first_not_of(" \t\r\n") ==
      std::string_view::npos) {
    return Invalid(fmt::format("empty body: expected a JSON object ({})", expected));
  }
  dom::element root;
  if (const simdjson::error_code error = parser.parse(padded).get(root)) {
    return Invalid(fmt::format("malformed JSON: {}", simdjson::error_message(error)));
  }
  dom::object object;
  if (root.get_object().get(object)) {
    return Invalid(
        fmt::format("expected a JSON object ({}), got {}", expected, TypeName(root.type())));
  }
  return object;
}

}  // namespace

absl::StatusOr<PredictRequest> ParsePredictRequest(std::string_view body) {
  const simdjson::padded_string padded(body);
  ASSIGN_OR_RETURN(const dom::object object,
                   ParseObject(padded, "one transaction, or {\"transactions\": [...]}"));
  PredictRequest request;
  dom::element transactions;
  for (const dom::key_value_pair field : object) {
    if (field.key == "dry_run") {
      if (field.value.get_bool().get(request.dry_run)) {
        return Invalid(
            fmt::format("dry_run: expected true or false, got {}", TypeName(field.value.type())));
      }
    } else if (field.key == "transactions") {
      if (request.batch) return Invalid("transactions: given twice");
      transactions = field.value;
      request.batch = true;
    }
  }
  if (!request.batch) {
    request.transactions.resize(1);
    RETURN_IF_ERROR(ParseTransaction(object, body, "", &request.transactions[0]));
    return request;
  }
  dom::array array;
  if (transactions.get_array().get(array)) {
    return Invalid(fmt::format("transactions: expected an array of transaction objects, got {}",
                               TypeName(transactions.type())));
  }
  const size_t n = array.size();
  if (n == 0) return Invalid("transactions: empty, expected at least one transaction");
  if (n > kMaxBatchTransactions) {
    return Invalid(fmt::format("transactions: {} transactions, at most {} in one request", n,
                               kMaxBatchTransactions));
  }
  std::vector<dom::object> objects;
  objects.reserve(n);
  for (const dom::element element : array) {
    if (element.get_object().get(objects.emplace_back())) {
      return Invalid(fmt::format("transactions[{}]: expected a transaction object, got {}",
                                 objects.size() - 1, TypeName(element.type())));
    }
  }
  ASSIGN_OR_RETURN(const std::vector<std::string_view> texts, ElementTexts(padded));
  if (texts.size() != n) return Invalid("malformed JSON");
  request.transactions.resize(n);
  for (size_t i = 0; i < n; ++i) {
    RETURN_IF_ERROR(ParseTransaction(objects[i], texts[i], fmt::format("transactions[{}].", i),
                                     &request.transactions[i]));
  }
  return request;
}

absl::StatusOr<std::vector<LabelUpdate>> ParseLabelsRequest(std::string_view body) {
  const simdjson::padded_string padded(body);
  ASSIGN_OR_RETURN(const dom::object object, ParseObject(padded, "{\"labels\": [...]}"));
  dom::array labels;
  if (object["labels"].get_array().get(labels)) {
    return Invalid("labels: missing, or not an array of label objects");
  }
  if (labels.size() == 0) return Invalid("labels: empty, expected at least one label");
  if (labels.size() > kMaxBatchTransactions) {
    return Invalid(fmt::format("labels: {} labels, at most {} in one request", labels.size(),
                               kMaxBatchTransactions));
  }
  std::vector<LabelUpdate> out;
  out.reserve(labels.size());
  for (const dom::element element : labels) {
    const size_t i = out.size();
    dom::object label;
    if (element.get_object().get(label)) {
      return Invalid(
          fmt::format("labels[{}]: expected a label object, got {}", i, TypeName(element.type())));
    }
    int64_t values[3];
    const char* names[3] = {"transaction_id", "terminal_id", "tx_fraud"};
    for (int k = 0; k < 3; ++k) {
      dom::element value;
      if (label[names[k]].get(value)) {
        return Invalid(fmt::format("labels[{}].{}: missing", i, names[k]));
      }
      if (value.get_int64().get(values[k]) || values[k] < 0) {
        return Invalid(fmt::format("labels[{}].{}: expected an integer >= 0, got {}", i, names[k],
                                   TypeName(value.type())));
      }
    }
    if (values[2] > 1) {
      return Invalid(fmt::format("labels[{}].tx_fraud: expected 0 or 1, got {}", i, values[2]));
    }
    std::string_view datetime;
    if (label["tx_datetime"].get_string().get(datetime)) {
      return Invalid(fmt::format(
          "labels[{}].tx_datetime: missing, or not a string \"YYYY-MM-DD HH:MM:SS\"", i));
    }
    LabelUpdate update{.transaction_id = TransactionId(values[0]),
                       .terminal_id = TerminalId(values[1]),
                       .tx_fraud = static_cast<int8_t>(values[2])};
    if (ParseDateTime(datetime, &update.tx_datetime) != DateTimeParse::kOk) {
      return Invalid(
          fmt::format("labels[{}].tx_datetime is not valid: '{}'", i, datetime.substr(0, 40)));
    }
    out.push_back(update);
  }
  return out;
}

}  // namespace fraud
