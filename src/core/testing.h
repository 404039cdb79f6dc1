#pragma once

// Helpers for tests only (fraud_test() defines FRAUD_SOURCE_DIR).
//
//   ScopedTempDir dir;                      // a fresh directory, removed at scope exit
//   std::string out = dir.Path("out.csv");
//   std::string in = GoldenPath("clean/dirty_otus.txt");   // tests/golden/...

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace fraud {

class ScopedTempDir {
 public:
  ScopedTempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("fraudstream_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~ScopedTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

#ifdef FRAUD_SOURCE_DIR
inline std::string GoldenPath(const std::string& name) {
  return std::string(FRAUD_SOURCE_DIR) + "/tests/golden/" + name;
}
#endif

}  // namespace fraud
