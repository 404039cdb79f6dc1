#include "core/time.h"

#include <gtest/gtest.h>

namespace fraud {
namespace {

TEST(Time, ParsesAndFormatsRoundTrip) {
  int64_t epoch = 0;
  ASSERT_EQ(ParseDateTime("2018-04-01 00:00:31", &epoch), DateTimeParse::kOk);
  EXPECT_EQ(epoch, 1522540831);
  EXPECT_EQ(FormatDateTime(epoch), "2018-04-01 00:00:31");
  ASSERT_EQ(ParseDateTime("2019-08-22T06:51:03", &epoch), DateTimeParse::kOk);
  EXPECT_EQ(FormatDateTime(epoch), "2019-08-22 06:51:03");
}

TEST(Time, Hour24IsFlaggedAsMidnightOfNextDay) {
  int64_t epoch = 0;
  ASSERT_EQ(ParseDateTime("2019-12-31 24:00:00", &epoch), DateTimeParse::kHour24);
  EXPECT_EQ(FormatDateTime(epoch), "2020-01-01 00:00:00");
}

TEST(Time, RejectsInvalidText) {
  int64_t epoch = 0;
  for (const char* bad : {"", "2018-04-01", "2018-02-30 00:00:00", "2018-13-01 00:00:00",
                          "2018-04-01 24:00:01", "2018-04-01 23:60:00", "2018-04-01 23:00:60",
                          "2018/04/01 00:00:00", "2018-04-01 0:00:00 ", "abcd-ef-gh ij:kl:mn"}) {
    EXPECT_EQ(ParseDateTime(bad, &epoch), DateTimeParse::kInvalid) << bad;
  }
  EXPECT_EQ(ParseDateTime("2020-02-29 12:00:00", &epoch), DateTimeParse::kOk);  // leap day
  EXPECT_EQ(ParseDateTime("2019-02-29 12:00:00", &epoch), DateTimeParse::kInvalid);
}

TEST(Time, CalendarHelpers) {
  const int64_t sunday = *ParseDate("2018-04-01");
  EXPECT_EQ(Weekday(sunday), 6);
  EXPECT_EQ(Weekday(sunday + kSecondsPerDay), 0);
  EXPECT_EQ(HourOfDay(sunday + 6 * 3600 + 59), 6);
  EXPECT_EQ(DayIndex(-1), -1);
  EXPECT_EQ(FormatDate(*ParseDate("1969-12-31")), "1969-12-31");
  EXPECT_FALSE(ParseDate("2018-4-01").has_value());
}

}  // namespace
}  // namespace fraud
