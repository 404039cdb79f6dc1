#include "data/chunk_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "core/file.h"
#include "core/status.h"

namespace fraud {

ChunkReader::ChunkReader(std::string path, int fd, size_t chunk_bytes, uint64_t total_bytes)
    : path_(std::move(path)), fd_(fd), chunk_bytes_(chunk_bytes), total_bytes_(total_bytes) {}

ChunkReader::~ChunkReader() {
  if (fd_ > STDIN_FILENO) ::close(fd_);
}

absl::StatusOr<std::unique_ptr<ChunkReader>> ChunkReader::Open(const std::string& path,
                                                               size_t chunk_bytes) {
  int fd = STDIN_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  std::unique_ptr<ChunkReader> reader(
      new ChunkReader(path, fd, chunk_bytes, path == "-" ? 0 : FileSize(path)));
  RETURN_IF_ERROR(reader->ReadHead());
  RETURN_IF_ERROR(reader->Fill(&reader->pending_));
  return reader;
}

std::string_view ChunkReader::FirstLine() const {
  const std::string_view head = head_;
  return head.substr(0, head.find('\n'));
}

void ChunkReader::SkipFirstLine() {
  // The first chunk always holds the whole first line: chunks end at line boundaries.
  const std::string_view text = pending_.text();
  const size_t nl = text.find('\n');
  pending_skip_ = nl == std::string_view::npos ? text.size() : nl + 1;
}

absl::Status ChunkReader::ReadHead() {
  head_.resize(kHeadBytes);
  size_t size = 0;
  while (size < kHeadBytes) {
    const ssize_t n = ::read(fd_, head_.data() + size, kHeadBytes - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    size += static_cast<size_t>(n);
  }
  head_.resize(size);
  bytes_read_ = size;
  carry_ = head_;
  return absl::OkStatus();
}

absl::Status ChunkReader::Fill(Chunk* chunk) {
  chunk->size = 0;
  if (eof_ && carry_.empty()) return absl::OkStatus();
  if (!chunk->buffer || chunk->capacity < chunk_bytes_ + kChunkPadding) {
    if (!free_.empty()) {
      chunk->buffer = std::move(free_.back());
      free_.pop_back();
    } else {
      chunk->buffer.reset(new char[chunk_bytes_ + kChunkPadding]);
    }
    chunk->capacity = chunk_bytes_ + kChunkPadding;
  }
  chunk->index = next_index_;
  chunk->byte_offset = next_offset_;
  size_t size = 0;
  // Bytes come from carry_ first, then from the file, until the buffer is full or the file
  // ends; a chunk keeps only whole lines, and a line longer than the buffer grows it.
  while (true) {
    const size_t take = std::min(carry_.size(), chunk->capacity - kChunkPadding - size);
    std::memcpy(chunk->buffer.get() + size, carry_.data(), take);
    carry_.erase(0, take);
    size += take;
    while (!eof_ && carry_.empty() && size < chunk->capacity - kChunkPadding) {
      const ssize_t n =
          ::read(fd_, chunk->buffer.get() + size, chunk->capacity - kChunkPadding - size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
      }
      if (n == 0) eof_ = true;
      size += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
    }
    if (eof_ && carry_.empty()) break;  // everything left is in the buffer
    const std::string_view text(chunk->buffer.get(), size);
    const size_t last_nl = text.rfind('\n');
    if (last_nl != std::string_view::npos) {
      carry_.insert(0, text.substr(last_nl + 1));
      size = last_nl + 1;
      break;
    }
    const size_t bigger = chunk->capacity * 2;
    std::unique_ptr<char[]> grown(new char[bigger]);
    std::memcpy(grown.get(), chunk->buffer.get(), size);
    chunk->buffer = std::move(grown);
    chunk->capacity = bigger;
  }
  std::memset(chunk->buffer.get() + size, 0, kChunkPadding);
  chunk->size = size;
  next_offset_ += size;
  ++next_index_;
  return absl::OkStatus();
}

absl::StatusOr<bool> ChunkReader::Next(Chunk* chunk) {
  if (pending_.size == 0) return false;
  Recycle(chunk);
  *chunk = std::move(pending_);
  pending_ = Chunk{};
  if (pending_skip_ > 0) {
    // Drop the header line by shifting the text; happens once per file.
    std::memmove(chunk->buffer.get(), chunk->buffer.get() + pending_skip_,
                 chunk->size - pending_skip_ + kChunkPadding);
    chunk->size -= pending_skip_;
    chunk->byte_offset += pending_skip_;
    pending_skip_ = 0;
  }
  RETURN_IF_ERROR(Fill(&pending_));
  return true;
}

void ChunkReader::Recycle(Chunk* chunk) {
  if (chunk->buffer && chunk->capacity == chunk_bytes_ + kChunkPadding && free_.size() < 16) {
    free_.push_back(std::move(chunk->buffer));
  }
  chunk->buffer.reset();
  chunk->capacity = 0;
  chunk->size = 0;
}

}  // namespace fraud
