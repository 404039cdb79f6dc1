#include "data/row_writer.h"

#include <charconv>

#include "core/time.h"

namespace fraud {
namespace {

// The longest line AppendDelimited can write: 7 integers of at most 20 characters, a
// datetime, two labels and separators.
constexpr size_t kMaxDelimitedRow = 7 * 20 + kDateTimeLength + 2 * 4 + 16;

char* WriteInt(int64_t value, char* p) { return std::to_chars(p, p + 20, value).ptr; }

char* WriteAmount(int64_t cents, int decimals, char* p) {
  if (cents < 0) {
    *p++ = '-';
    cents = -cents;
  }
  // A value that the requested decimals cannot show exactly falls back to two.
  if (decimals < 2 && cents % (decimals == 1 ? 10 : 100) != 0) decimals = 2;
  p = WriteInt(cents / 100, p);
  if (decimals == 0) return p;
  *p++ = '.';
  *p++ = static_cast<char>('0' + cents / 10 % 10);
  if (decimals == 2) *p++ = static_cast<char>('0' + cents % 10);
  return p;
}

void AppendInt(int64_t value, std::string* out) {
  char buffer[24];
  out->append(buffer, WriteInt(value, buffer));
}

void AppendDateTime(int64_t epoch, std::string* out) {
  const size_t at = out->size();
  out->resize(at + kDateTimeLength);
  FormatDateTime(epoch, out->data() + at);
}

void AppendDelimited(const Transaction& tx, std::string* out) {
  const size_t at = out->size();
  out->resize(at + kMaxDelimitedRow);
  char* p = out->data() + at;
  p = WriteInt(tx.transaction_id.value(), p);
  *p++ = ',';
  FormatDateTime(tx.tx_datetime, p);
  p += kDateTimeLength;
  *p++ = ',';
  p = WriteInt(tx.customer_id.value(), p);
  *p++ = ',';
  p = WriteInt(tx.terminal_id.value(), p);
  *p++ = ',';
  p = WriteAmount(tx.amount_cents, tx.amount_decimals, p);
  *p++ = ',';
  if (tx.tx_time_seconds != kAbsent) p = WriteInt(tx.tx_time_seconds, p);
  *p++ = ',';
  if (tx.tx_time_days != kAbsent) p = WriteInt(tx.tx_time_days, p);
  *p++ = ',';
  if (tx.tx_fraud != kAbsentLabel) p = WriteInt(tx.tx_fraud, p);
  *p++ = ',';
  if (tx.tx_fraud_scenario != kAbsentLabel) p = WriteInt(tx.tx_fraud_scenario, p);
  *p++ = '\n';
  out->resize(static_cast<size_t>(p - out->data()));
}

void AppendJson(const Transaction& tx, std::string* out) {
  out->append("{\"transaction_id\":");
  AppendInt(tx.transaction_id.value(), out);
  out->append(",\"tx_datetime\":\"");
  AppendDateTime(tx.tx_datetime, out);
  out->append("\",\"customer_id\":");
  AppendInt(tx.customer_id.value(), out);
  out->append(",\"terminal_id\":");
  AppendInt(tx.terminal_id.value(), out);
  out->append(",\"tx_amount\":");
  AppendAmount(tx.amount_cents, tx.amount_decimals, out);
  auto optional = [&](std::string_view key, int64_t value, int64_t absent) {
    if (value == absent) return;
    out->append(key);
    AppendInt(value, out);
  };
  optional(",\"tx_time_seconds\":", tx.tx_time_seconds, kAbsent);
  optional(",\"tx_time_days\":", tx.tx_time_days, kAbsent);
  optional(",\"tx_fraud\":", tx.tx_fraud, kAbsentLabel);
  optional(",\"tx_fraud_scenario\":", tx.tx_fraud_scenario, kAbsentLabel);
  out->append("}\n");
}

}  // namespace

std::string_view HeaderLine(Format format) {
  switch (format) {
    case Format::kOtus:
      return "# tranaction_id | tx_datetime | customer_id | terminal_id | tx_amount | "
             "tx_time_seconds | tx_time_days | tx_fraud | tx_fraud_scenario\n";
    case Format::kCsv:
      return "transaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_time_seconds,"
             "tx_time_days,tx_fraud,tx_fraud_scenario\n";
    case Format::kJsonLines:
      return "";
  }
  return "";
}

void AppendAmount(int64_t cents, int decimals, std::string* out) {
  char buffer[32];
  out->append(buffer, WriteAmount(cents, decimals, buffer));
}

void AppendRow(Format format, const Transaction& tx, std::string* out) {
  if (format == Format::kJsonLines) {
    AppendJson(tx, out);
  } else {
    AppendDelimited(tx, out);
  }
}

}  // namespace fraud
