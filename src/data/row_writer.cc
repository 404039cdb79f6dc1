#include "data/row_writer.h"

#include <charconv>

#include "core/time.h"

namespace fraud {
namespace {

void AppendInt(int64_t value, std::string* out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendOptional(int64_t value, std::string* out) {
  if (value != kAbsent) AppendInt(value, out);
}

void AppendDateTime(int64_t epoch, std::string* out) {
  const size_t at = out->size();
  out->resize(at + kDateTimeLength);
  FormatDateTime(epoch, out->data() + at);
}

void AppendDelimited(const Transaction& tx, std::string* out) {
  AppendInt(tx.transaction_id.value(), out);
  out->push_back(',');
  AppendDateTime(tx.tx_datetime, out);
  out->push_back(',');
  AppendInt(tx.customer_id.value(), out);
  out->push_back(',');
  AppendInt(tx.terminal_id.value(), out);
  out->push_back(',');
  AppendAmount(tx.amount_cents, tx.amount_decimals, out);
  out->push_back(',');
  AppendOptional(tx.tx_time_seconds, out);
  out->push_back(',');
  AppendOptional(tx.tx_time_days, out);
  out->push_back(',');
  if (tx.tx_fraud != kAbsentLabel) AppendInt(tx.tx_fraud, out);
  out->push_back(',');
  if (tx.tx_fraud_scenario != kAbsentLabel) AppendInt(tx.tx_fraud_scenario, out);
  out->push_back('\n');
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
  if (cents < 0) {
    out->push_back('-');
    cents = -cents;
  }
  // A value that the requested decimals cannot show exactly falls back to two.
  if (decimals < 2 && cents % (decimals == 1 ? 10 : 100) != 0) decimals = 2;
  AppendInt(cents / 100, out);
  if (decimals == 0) return;
  out->push_back('.');
  out->push_back(static_cast<char>('0' + cents / 10 % 10));
  if (decimals == 2) out->push_back(static_cast<char>('0' + cents % 10));
}

void AppendRow(Format format, const Transaction& tx, std::string* out) {
  if (format == Format::kJsonLines) {
    AppendJson(tx, out);
  } else {
    AppendDelimited(tx, out);
  }
}

}  // namespace fraud
