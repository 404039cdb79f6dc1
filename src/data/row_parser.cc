#include "data/row_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include "fmt/format.h"
#include "core/strings.h"
#include "core/time.h"
#include "simdjson.h"

namespace fraud {
namespace {

constexpr int kMaxFields = 64;

constexpr std::array<std::string_view, static_cast<size_t>(Fault::kCount)> kFaultNames = {
    "none",
    "wrong_field_count",
    "bad_json",
    "bad_transaction_id",
    "bad_tx_datetime",
    "bad_customer_id",
    "bad_terminal_id",
    "bad_tx_amount",
    "nonpositive_tx_amount",
    "bad_tx_time_seconds",
    "bad_tx_time_days",
    "tx_time_days_mismatch",
    "bad_tx_fraud",
    "bad_tx_fraud_scenario",
    "duplicate_transaction_id",
};

// The fault for an unusable value in each column.
constexpr std::array<Fault, kNumColumns> kBadValueFault = {
    Fault::kBadTransactionId, Fault::kBadTxDatetime,   Fault::kBadCustomerId,
    Fault::kBadTerminalId,    Fault::kBadTxAmount,     Fault::kBadTxTimeSeconds,
    Fault::kBadTxTimeDays,    Fault::kBadTxFraud,      Fault::kBadTxFraudScenario};

// Plain decimal integer: optional '-', digits, nothing else.
bool ParseInt(std::string_view s, int64_t* value) {
  if (s.empty() || s.size() > 18) {  // up to 18 digits cannot overflow: no checks needed
    if (s.empty() || s.front() == '+') return false;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
    return ec == std::errc() && ptr == s.data() + s.size();
  }
  const bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty()) return false;
  int64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = negative ? -v : v;
  return true;
}

// "-?digits(.digits{0,2})?" to cents; *decimals = digits after the point.
bool ParseAmount(std::string_view s, int64_t* cents, int8_t* decimals) {
  bool negative = false;
  if (!s.empty() && s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 15 || frac.size() > 2 ||
      (dot != std::string_view::npos && frac.empty())) {
    return false;
  }
  int64_t units = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return false;
    units = units * 10 + (c - '0');
  }
  int64_t hundredths = 0;
  for (size_t i = 0; i < 2; ++i) {
    int digit = 0;
    if (i < frac.size()) {
      if (frac[i] < '0' || frac[i] > '9') return false;
      digit = frac[i] - '0';
    }
    hundredths = hundredths * 10 + digit;
  }
  *cents = (negative ? -1 : 1) * (units * 100 + hundredths);
  *decimals = static_cast<int8_t>(frac.size());
  return true;
}

// Strips the quotes of a CSV or JSON string field. False if it holds an escape: no field of
// ours needs one.
bool Unquote(std::string_view* s) {
  if (s->size() >= 2 && s->front() == '"' && s->back() == '"') {
    *s = s->substr(1, s->size() - 2);
    return s->find_first_of("\"\\") == std::string_view::npos;
  }
  return true;
}

}  // namespace

std::string_view FaultName(Fault fault) { return kFaultNames[static_cast<size_t>(fault)]; }

std::string_view RepairName(Repair repair) {
  return repair == Repair::kHour24Rebuilt ? "tx_datetime_hour24_rebuilt" : "none";
}

struct RowParser::Json {
  simdjson::ondemand::parser parser;
  std::string padded;
};

RowParser::RowParser(const Layout& layout, int64_t dataset_start)
    : layout_(layout), dataset_start_(dataset_start) {
  if (layout_.format == Format::kJsonLines) json_ = std::make_unique<Json>();
}

RowParser::~RowParser() = default;

Fault RowParser::Parse(std::string_view line, Transaction* tx, size_t readable_after) {
  repair_ = Repair::kNone;
  bad_value_ = {};
  detail_.clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  *tx = Transaction{};
  fault_ = layout_.format == Format::kJsonLines ? ParseJson(line, tx, readable_after)
                                                : ParseDelimited(line, tx);
  return fault_;
}

Fault RowParser::ParseDelimited(std::string_view line, Transaction* tx) {
  std::array<std::string_view, kMaxFields> fields;
  int n = 0;
  // Fast path: one pass, splitting on every comma.
  bool quoted = false;
  size_t begin = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    quoted |= c == '"';
    if (c == ',') {
      if (n == kMaxFields) break;
      fields[n++] = line.substr(begin, i - begin);
      begin = i + 1;
    }
  }
  if (n < kMaxFields) {
    fields[n++] = line.substr(begin);
  } else {
    n = kMaxFields + 1;
  }
  if (quoted) {  // rare: split again, a "..." field may hold commas
    n = 0;
    size_t pos = 0;
    while (true) {
      size_t end;
      if (pos < line.size() && line[pos] == '"') {
        end = line.find('"', pos + 1);  // the next quote closes the field
        end = end == std::string_view::npos ? line.size() : line.find(',', end);
      } else {
        end = line.find(',', pos);
      }
      if (end == std::string_view::npos) end = line.size();
      if (n == kMaxFields) {
        n = kMaxFields + 1;
        break;
      }
      fields[n++] = line.substr(pos, end - pos);
      if (end == line.size()) break;
      pos = end + 1;
    }
  }
  field_count_seen_ = n;
  if (n != layout_.field_count) {
    bad_value_ = line;
    return Fault::kWrongFieldCount;
  }
  std::array<std::string_view, kNumColumns> by_column{};
  for (int c = 0; c < kNumColumns; ++c) {
    const int f = layout_.field_of_column[c];
    if (f == kAbsentField) continue;
    std::string_view value = Trim(fields[f]);
    // A quoted field loses its quotes; one with quotes or escapes inside keeps them and so
    // fails its rule.
    if (std::string_view unquoted = value; Unquote(&unquoted)) value = unquoted;
    by_column[c] = value;
  }
  return ApplyFields(by_column.data(), tx);
}

Fault RowParser::ParseJson(std::string_view line, Transaction* tx, size_t readable_after) {
  namespace od = simdjson::ondemand;
  const char* data = line.data();
  if (readable_after < simdjson::SIMDJSON_PADDING) {
    json_->padded.assign(line);
    json_->padded.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
    data = json_->padded.data();
    readable_after = simdjson::SIMDJSON_PADDING;
  }
  std::array<std::string_view, kNumColumns> by_column{};
  auto bad_json = [&](std::string_view why) {
    detail_ = why;
    bad_value_ = line;
    return Fault::kBadJson;
  };
  od::document doc;
  if (json_->parser.iterate(data, line.size(), line.size() + readable_after).get(doc)) {
    return bad_json("not valid JSON");
  }
  od::object object;
  if (doc.get_object().get(object)) return bad_json("not a JSON object");
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad_json("not valid JSON");
    const int column = ColumnFromName(key);
    od::value value = field.value();
    od::json_type type;
    if (value.type().get(type)) return bad_json("not valid JSON");
    if (column < 0) continue;  // unknown keys are allowed and ignored
    std::string_view raw;
    switch (type) {
      case od::json_type::null:
        raw = {};
        break;
      case od::json_type::number:
      case od::json_type::string: {
        raw = Trim(value.raw_json_token());
        if (type == od::json_type::string && !Unquote(&raw)) {
          bad_value_ = raw;
          return kBadValueFault[column];
        }
        break;
      }
      default:  // object, array, boolean: never a valid value of ours
        by_column[column] = value.raw_json_token().substr(0, 1);  // '{', '[' or 't'/'f': fails its rule below
        continue;
    }
    by_column[column] = raw;
  }
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return bad_json("trailing characters after the JSON object");
  }
  return ApplyFields(by_column.data(), tx);
}

Fault RowParser::ApplyFields(const std::string_view* f, Transaction* tx) {
  auto fail = [&](Fault fault, std::string_view value) {
    bad_value_ = value;
    return fault;
  };
  int64_t v;
  if (!ParseInt(f[kTransactionIdColumn], &v)) {
    return fail(Fault::kBadTransactionId, f[kTransactionIdColumn]);
  }
  tx->transaction_id = TransactionId(v);

  const DateTimeParse dt = ParseDateTime(f[kTxDatetimeColumn], &tx->tx_datetime);
  if (dt == DateTimeParse::kInvalid) return fail(Fault::kBadTxDatetime, f[kTxDatetimeColumn]);

  if (!ParseInt(f[kCustomerIdColumn], &v) || v < 0) {
    return fail(Fault::kBadCustomerId, f[kCustomerIdColumn]);
  }
  tx->customer_id = CustomerId(v);
  if (!ParseInt(f[kTerminalIdColumn], &v) || v < 0) {
    return fail(Fault::kBadTerminalId, f[kTerminalIdColumn]);
  }
  tx->terminal_id = TerminalId(v);

  if (!ParseAmount(f[kTxAmountColumn], &tx->amount_cents, &tx->amount_decimals)) {
    return fail(Fault::kBadTxAmount, f[kTxAmountColumn]);
  }
  if (tx->amount_cents <= 0) return fail(Fault::kNonPositiveTxAmount, f[kTxAmountColumn]);

  if (!f[kTxTimeSecondsColumn].empty() &&
      (!ParseInt(f[kTxTimeSecondsColumn], &tx->tx_time_seconds) || tx->tx_time_seconds < 0)) {
    return fail(Fault::kBadTxTimeSeconds, f[kTxTimeSecondsColumn]);
  }
  if (!f[kTxTimeDaysColumn].empty() &&
      (!ParseInt(f[kTxTimeDaysColumn], &tx->tx_time_days) || tx->tx_time_days < 0)) {
    return fail(Fault::kBadTxTimeDays, f[kTxTimeDaysColumn]);
  }
  if (!f[kTxFraudColumn].empty()) {
    if (!ParseInt(f[kTxFraudColumn], &v) || (v != 0 && v != 1)) {
      return fail(Fault::kBadTxFraud, f[kTxFraudColumn]);
    }
    tx->tx_fraud = static_cast<int8_t>(v);
  }
  if (!f[kTxFraudScenarioColumn].empty()) {
    if (!ParseInt(f[kTxFraudScenarioColumn], &v) || v < 0 || v > 3) {
      return fail(Fault::kBadTxFraudScenario, f[kTxFraudScenarioColumn]);
    }
    tx->tx_fraud_scenario = static_cast<int8_t>(v);
  }

  if (tx->tx_time_seconds != kAbsent && tx->tx_time_days != kAbsent &&
      tx->tx_time_days != tx->tx_time_seconds / kSecondsPerDay) {
    detail_ = fmt::format("tx_time_days {} but tx_time_seconds {} is day {}", tx->tx_time_days,
                          tx->tx_time_seconds, tx->tx_time_seconds / kSecondsPerDay);
    return fail(Fault::kTxTimeDaysMismatch, f[kTxTimeDaysColumn]);
  }
  if (dt == DateTimeParse::kHour24) {
    if (dataset_start_ == kAbsent || tx->tx_time_seconds == kAbsent) {
      detail_ = "hour 24 cannot be rebuilt without tx_time_seconds and a known data set start";
      return fail(Fault::kBadTxDatetime, f[kTxDatetimeColumn]);
    }
    tx->tx_datetime = dataset_start_ + tx->tx_time_seconds;
    repair_ = Repair::kHour24Rebuilt;
  }
  return Fault::kNone;
}

std::string RowParser::Describe() const {
  if (fault_ == Fault::kNone) return "ok";
  std::string value(bad_value_.substr(0, 60));
  for (char& c : value) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';  // keep the description on one line
  }
  if (bad_value_.size() > 60) value += "...";
  switch (fault_) {
    case Fault::kWrongFieldCount:
      return fmt::format("expected {} fields, found {}", layout_.field_count,
                         field_count_seen_ > kMaxFields ? std::string("more than 64")
                                                        : std::to_string(field_count_seen_));
    case Fault::kBadJson:
      return detail_;
    case Fault::kNonPositiveTxAmount:
      return fmt::format("tx_amount must be > 0, got '{}'", value);
    case Fault::kTxTimeDaysMismatch:
      return detail_;
    default:
      break;
  }
  std::string_view name = "field";
  for (int c = 0; c < kNumColumns; ++c) {
    if (kBadValueFault[c] == fault_) name = ColumnName(Column(c));
  }
  if (!detail_.empty()) return fmt::format("{} '{}': {}", name, value, detail_);
  if (bad_value_.empty()) return fmt::format("{} is empty", name);
  return fmt::format("{} is not valid: '{}'", name, value);
}

int64_t InferDatasetStart(const Layout& layout, std::string_view text, int max_rows) {
  RowParser parser(layout, kAbsent);
  std::map<int64_t, int> votes;
  Transaction tx;
  int rows = 0;
  size_t pos = 0;
  while (pos < text.size() && rows < max_rows) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++rows;
    if (parser.Parse(line, &tx) == Fault::kNone && tx.tx_time_seconds != kAbsent) {
      ++votes[tx.tx_datetime - tx.tx_time_seconds];
    }
  }
  int64_t best = kAbsent;
  int best_votes = 0;
  for (const auto& [start, count] : votes) {
    if (count > best_votes) {
      best = start;
      best_votes = count;
    }
  }
  return best;
}

}  // namespace fraud
