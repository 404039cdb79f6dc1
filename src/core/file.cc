#include "core/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "core/status.h"

namespace fraud {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  return absl::UnavailableError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

OutputFile::OutputFile(std::string path, std::string temp_path, FILE* file)
    : path_(std::move(path)),
      temp_path_(std::move(temp_path)),
      file_(file),
      buffer_(new char[kBufferBytes]) {
  std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferBytes);
}

absl::StatusOr<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path) {
  if (path == "-") {
    return std::unique_ptr<OutputFile>(new OutputFile(path, "", stdout));
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("cannot create directory {}: {}", parent.string(), ec.message()));
    }
  }
  std::string temp = path + ".tmp";
  FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) return ErrnoError("cannot create", temp);
  return std::unique_ptr<OutputFile>(new OutputFile(path, std::move(temp), file));
}

OutputFile::~OutputFile() {
  if (file_ == nullptr) return;
  if (temp_path_.empty()) {
    std::fflush(file_);
    std::setvbuf(file_, nullptr, _IOLBF, 0);
    return;
  }
  std::fclose(file_);
  std::remove(temp_path_.c_str());
}

absl::Status OutputFile::Append(std::string_view data) {
  if (data.empty()) return absl::OkStatus();
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return ErrnoError("cannot write", temp_path_.empty() ? path_ : temp_path_);
  }
  bytes_written_ += data.size();
  return absl::OkStatus();
}

absl::Status OutputFile::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  FILE* file = file_;
  file_ = nullptr;
  if (temp_path_.empty()) {
    const bool ok = std::fflush(file) == 0;
    std::setvbuf(file, nullptr, _IOLBF, 0);  // the buffer dies with this object
    return ok ? absl::OkStatus() : ErrnoError("cannot write", path_);
  }
  if (std::fclose(file) != 0) {
    std::remove(temp_path_.c_str());
    return ErrnoError("cannot write", temp_path_);
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    std::remove(temp_path_.c_str());
    return ErrnoError("cannot rename to", path_);
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, std::string_view contents) {
  ASSIGN_OR_RETURN(auto file, OutputFile::Open(path));
  RETURN_IF_ERROR(file->Append(contents));
  return file->Close();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace fraud
