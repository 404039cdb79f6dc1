#include "core/time.h"

#include <chrono>
#include <cstring>
#include <limits>

namespace fraud {
namespace {

// Parses exactly n ASCII digits; false if any is not a digit.
bool Digits(std::string_view text, size_t pos, size_t n, int* value) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
}

bool ValidDate(int year, int month, int day) {
  if (month < 1 || month > 12 || day < 1) return false;
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  return ymd.ok();
}

void Put(char* out, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  const std::chrono::sys_days days{std::chrono::year_month_day{
      std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}}};
  return days.time_since_epoch().count();
}

std::optional<int64_t> ParseDate(std::string_view text) {
  int year, month, day;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !Digits(text, 0, 4, &year) ||
      !Digits(text, 5, 2, &month) || !Digits(text, 8, 2, &day) || !ValidDate(year, month, day)) {
    return std::nullopt;
  }
  return DaysFromCivil(year, month, day) * kSecondsPerDay;
}

DateTimeParse ParseDateTime(std::string_view text, int64_t* epoch) {
  if (text.size() != kDateTimeLength || (text[10] != ' ' && text[10] != 'T') ||
      text[13] != ':' || text[16] != ':') {
    return DateTimeParse::kInvalid;
  }
  // Rows come sorted by time, so the date part mostly repeats: remember the last one.
  thread_local char last_text[10] = {};
  thread_local std::optional<int64_t> last_date;
  std::optional<int64_t> date;
  if (last_date && std::memcmp(last_text, text.data(), 10) == 0) {
    date = last_date;
  } else {
    date = ParseDate(text.substr(0, 10));
    if (date) {
      std::memcpy(last_text, text.data(), 10);
      last_date = date;
    }
  }
  int hour, minute, second;
  if (!date || !Digits(text, 11, 2, &hour) || !Digits(text, 14, 2, &minute) ||
      !Digits(text, 17, 2, &second)) {
    return DateTimeParse::kInvalid;
  }
  if (hour == 24 && minute == 0 && second == 0) {
    *epoch = *date + kSecondsPerDay;
    return DateTimeParse::kHour24;
  }
  if (hour > 23 || minute > 59 || second > 59) return DateTimeParse::kInvalid;
  *epoch = *date + hour * 3600 + minute * 60 + second;
  return DateTimeParse::kOk;
}

void FormatDateTime(int64_t epoch, char* out) {
  const int64_t day = DayIndex(epoch);
  const int seconds = static_cast<int>(epoch - day * kSecondsPerDay);
  // The date part mostly repeats from one row to the next: remember the last one.
  thread_local int64_t last_day = std::numeric_limits<int64_t>::min();
  thread_local char last_text[10];
  if (day != last_day) {
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
    Put(last_text, static_cast<int>(ymd.year()), 4);
    last_text[4] = '-';
    Put(last_text + 5, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
    last_text[7] = '-';
    Put(last_text + 8, static_cast<int>(static_cast<unsigned>(ymd.day())), 2);
    last_day = day;
  }
  std::memcpy(out, last_text, 10);
  out[10] = ' ';
  Put(out + 11, seconds / 3600, 2);
  out[13] = ':';
  Put(out + 14, seconds / 60 % 60, 2);
  out[16] = ':';
  Put(out + 17, seconds % 60, 2);
}

std::string FormatDateTime(int64_t epoch) {
  std::string s(kDateTimeLength, ' ');
  FormatDateTime(epoch, s.data());
  return s;
}

std::string FormatDate(int64_t epoch) { return FormatDateTime(epoch).substr(0, 10); }

}  // namespace fraud
