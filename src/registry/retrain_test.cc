#include "registry/retrain.h"

#include <gtest/gtest.h>

#include "core/file.h"
#include "core/testing.h"

namespace fraud {
namespace {

TEST(Retrain, ParsesIntervals) {
  EXPECT_EQ(*ParseInterval("90s"), 90);
  EXPECT_EQ(*ParseInterval("60m"), 3600);
  EXPECT_EQ(*ParseInterval("2h"), 7200);
  EXPECT_EQ(*ParseInterval("1d"), 86400);
  for (const char* bad : {"", "m", "60", "0m", "-5m", "5x", "1.5h", "99999999999h"}) {
    EXPECT_EQ(ParseInterval(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Retrain, ListsDataFilesByContent) {
  ScopedTempDir dir;
  ASSERT_TRUE(WriteFile(dir.Path("b.csv"), "same").ok());
  ASSERT_TRUE(WriteFile(dir.Path("a.txt"), "same").ok());
  ASSERT_TRUE(WriteFile(dir.Path("c.txt"), "other").ok());
  for (const char* skipped : {".hidden", "x.tmp", "faults.jsonl", "d.faults.jsonl"}) {
    ASSERT_TRUE(WriteFile(dir.Path(skipped), "x").ok());
  }
  auto files = ListDataFiles(dir.path().string());
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_TRUE((*files)[0].path.ends_with("/a.txt"));
  EXPECT_TRUE((*files)[2].path.ends_with("/c.txt"));
  EXPECT_EQ((*files)[0].fingerprint, (*files)[1].fingerprint);  // same bytes, same fingerprint
  EXPECT_NE((*files)[0].fingerprint, (*files)[2].fingerprint);
  EXPECT_EQ((*files)[2].bytes, 5u);
  EXPECT_EQ(ListDataFiles(dir.Path("none")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fraud
