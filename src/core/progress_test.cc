#include "core/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace fraud {
namespace {

TEST(Progress, LineShowsRateAndEta) {
  ManualClock clock;
  Progress progress("clean", 1000, nullptr, clock);
  EXPECT_FALSE(progress.enabled());
  EXPECT_EQ(progress.Line(2'000'000, 250, 1.0),
            "clean: 2000000 rows, 2.00 M rows/s, 0 MB/s, 25%, ETA 3s");
  EXPECT_EQ(progress.Line(10, 500, 7200.0).substr(progress.Line(10, 500, 7200.0).find("ETA")),
            "ETA 2h00m");
}

TEST(Progress, DrawsAtMostFiveTimesASecond) {
  ManualClock clock;
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  {
    Progress progress("gen", 0, out, clock);
    for (int i = 0; i < 100; ++i) {
      progress.Update(i, 0);
      clock.AdvanceSeconds(0.01);  // 100 updates over 1 s
    }
  }
  std::fclose(out);
  const std::string text(buffer, size);
  free(buffer);
  int draws = 0;
  for (size_t pos = 0; (pos = text.find("gen:", pos)) != std::string::npos; ++pos) ++draws;
  EXPECT_GE(draws, 4);
  EXPECT_LE(draws, 6);
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");  // the line is cleared at the end
}

}  // namespace
}  // namespace fraud
