#pragma once

// Event time of a transaction: whole seconds since 1970-01-01 00:00:00 on the data set's
// naive wall clock (no time zone: the data sets carry none). All calendar maths is proleptic
// Gregorian via std::chrono, so results are exact and need no tz database.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fraud {

inline constexpr int64_t kSecondsPerDay = 86400;
inline constexpr size_t kDateTimeLength = 19;  // "YYYY-MM-DD HH:MM:SS"

enum class DateTimeParse {
  kOk,
  kHour24,  // "YYYY-MM-DD 24:00:00": syntactically fine, value to be rebuilt by the caller
  kInvalid,
};

// Parses "YYYY-MM-DD HH:MM:SS" (a 'T' separator is accepted too). On kOk and kHour24, *epoch
// is set (for kHour24, to midnight after the given day).
DateTimeParse ParseDateTime(std::string_view text, int64_t* epoch);

// Parses "YYYY-MM-DD" to the epoch second of its midnight.
std::optional<int64_t> ParseDate(std::string_view text);

// Writes exactly kDateTimeLength characters "YYYY-MM-DD HH:MM:SS" to out.
void FormatDateTime(int64_t epoch, char* out);
std::string FormatDateTime(int64_t epoch);
// "YYYY-MM-DD" of the day containing epoch.
std::string FormatDate(int64_t epoch);

// Days since 1970-01-01 of a civil date; month 1..12, day 1..31 (not validated).
int64_t DaysFromCivil(int year, unsigned month, unsigned day);

// Floor division by a day, correct for negative times.
inline int64_t DayIndex(int64_t epoch) {
  return epoch >= 0 ? epoch / kSecondsPerDay : -((-epoch + kSecondsPerDay - 1) / kSecondsPerDay);
}
inline int SecondOfDay(int64_t epoch) {
  return static_cast<int>(epoch - DayIndex(epoch) * kSecondsPerDay);
}
inline int HourOfDay(int64_t epoch) { return SecondOfDay(epoch) / 3600; }
// 0 = Monday ... 6 = Sunday (Python's datetime.weekday(), as the handbook uses).
inline int Weekday(int64_t epoch) {
  const int64_t d = DayIndex(epoch);  // 1970-01-01 was a Thursday (3)
  return static_cast<int>(((d % 7) + 7 + 3) % 7);
}

}  // namespace fraud
