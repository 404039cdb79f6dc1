#pragma once

// Files as the rest of the code uses them: errors as Status, never a half-written result.
//
// OutputFile writes to "<path>.tmp" and renames it over <path> on Close(), so a reader never
// sees a partial file and a failed job leaves the old file in place. "-" means stdout.
// Not thread-safe.
//
//   ASSIGN_OR_RETURN(auto out, OutputFile::Open("clean.csv"));
//   RETURN_IF_ERROR(out->Append("..."));
//   RETURN_IF_ERROR(out->Close());

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fraud {

class OutputFile {
 public:
  static absl::StatusOr<std::unique_ptr<OutputFile>> Open(const std::string& path);
  ~OutputFile();  // without Close(): removes the temporary file

  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  absl::Status Append(std::string_view data);
  absl::Status Close();

  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  OutputFile(std::string path, std::string temp_path, FILE* file);

  std::string path_;
  std::string temp_path_;  // empty for stdout
  FILE* file_;
  uint64_t bytes_written_ = 0;
  std::unique_ptr<char[]> buffer_;
};

// Writes a whole file atomically.
absl::Status WriteFile(const std::string& path, std::string_view contents);
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Size in bytes, or 0 when it cannot be known (a pipe).
uint64_t FileSize(const std::string& path);

}  // namespace fraud
