#include "core/file.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

namespace fraud {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("fraud_file_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(OutputFile, AppearsOnlyOnClose) {
  const std::string path = TempPath("a.txt");
  {
    auto file = OutputFile::Open(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE((*file)->Append("hello\n").ok());
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_TRUE((*file)->Close().ok());
  }
  EXPECT_EQ(*ReadFile(path), "hello\n");
  std::filesystem::remove(path);
}

TEST(OutputFile, AbandonedFileLeavesOldContents) {
  const std::string path = TempPath("b.txt");
  ASSERT_TRUE(WriteFile(path, "old\n").ok());
  {
    auto file = OutputFile::Open(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("new, but never closed\n").ok());
  }
  EXPECT_EQ(*ReadFile(path), "old\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove(path);
}

TEST(OutputFile, UnwritableDirectoryIsAnError) {
  auto file = OutputFile::Open("/proc/no/such/dir/x.txt");
  EXPECT_FALSE(file.ok());
  EXPECT_FALSE(ReadFile("/no/such/file").ok());
  EXPECT_EQ(ReadFile("/no/such/file").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fraud
