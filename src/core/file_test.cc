#include "core/file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/testing.h"

namespace fraud {
namespace {

TEST(OutputFile, AppearsOnlyOnClose) {
  ScopedTempDir dir;
  const std::string path = dir.Path("a.txt");
  {
    auto file = OutputFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append("hello\n").ok());
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_TRUE((*file)->Close().ok());
  }
  EXPECT_EQ(*ReadFile(path), "hello\n");
}

TEST(OutputFile, AbandonedFileLeavesOldContents) {
  ScopedTempDir dir;
  const std::string path = dir.Path("b.txt");
  ASSERT_TRUE(WriteFile(path, "old\n").ok());
  {
    auto file = OutputFile::Open(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("new, but never closed\n").ok());
  }
  EXPECT_EQ(*ReadFile(path), "old\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(OutputFile, UnwritableDirectoryIsAnError) {
  auto file = OutputFile::Open("/proc/no/such/dir/x.txt");
  EXPECT_FALSE(file.ok());
  EXPECT_FALSE(ReadFile("/no/such/file").ok());
  EXPECT_EQ(ReadFile("/no/such/file").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fraud
