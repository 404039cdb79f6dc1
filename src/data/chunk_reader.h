#pragma once

// Reads a file (or stdin, "-") as a sequence of chunks that each end at a line boundary, in
// bounded memory, for parallel parsing. Every chunk buffer has kChunkPadding readable bytes
// after its text, so JSON can be parsed in place.
//
//   ASSIGN_OR_RETURN(auto reader, ChunkReader::Open(path));
//   std::string_view head = reader->Peek();  // first chunk's text, to detect the layout
//   Chunk chunk;
//   while (true) { ASSIGN_OR_RETURN(bool more, reader->Next(&chunk)); if (!more) break; ... }
//
// Not thread-safe; ProcessChunksInOrder (parallel_chunks.h) serialises access to it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fraud {

inline constexpr size_t kChunkPadding = 64;
inline constexpr size_t kDefaultChunkBytes = 4 << 20;

struct Chunk {
  uint64_t index = 0;        // 0, 1, 2, ... in file order
  uint64_t byte_offset = 0;  // of the text within the file
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;  // bytes of buffer, text + padding included
  size_t size = 0;      // bytes of text: whole lines, the last one maybe without '\n' at EOF

  std::string_view text() const { return {buffer.get(), size}; }
};

// Calls fn(line, readable_after) for every line of text (without '\n'), in order.
template <typename Fn>
void ForEachLine(std::string_view text, size_t padding, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    fn(text.substr(pos, end - pos), text.size() - end + padding);
    pos = end + 1;
  }
}

class ChunkReader {
 public:
  static absl::StatusOr<std::unique_ptr<ChunkReader>> Open(const std::string& path,
                                                           size_t chunk_bytes = kDefaultChunkBytes);
  ~ChunkReader();

  // The first line of the file (without newline), and the first kHeadBytes of the file
  // (whatever the chunk size), to detect the layout and learn from the first rows.
  static constexpr size_t kHeadBytes = 256 << 10;
  std::string_view FirstLine() const;
  std::string_view Peek() const { return head_; }
  // Drops the first line (a header) from what Next() returns.
  void SkipFirstLine();

  // Moves the next chunk into *chunk; false at end of file.
  absl::StatusOr<bool> Next(Chunk* chunk);
  // Gives a chunk's buffer back for reuse.
  void Recycle(Chunk* chunk);

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t total_bytes() const { return total_bytes_; }  // 0 when unknown (a pipe)

 private:
  ChunkReader(std::string path, int fd, size_t chunk_bytes, uint64_t total_bytes);
  absl::Status Fill(Chunk* chunk);

  std::string path_;
  int fd_;
  size_t chunk_bytes_;
  uint64_t total_bytes_;
  uint64_t bytes_read_ = 0;
  uint64_t next_index_ = 0;
  uint64_t next_offset_ = 0;
  bool eof_ = false;
  absl::Status ReadHead();

  std::string head_;
  std::string carry_;  // bytes read from the file but not yet handed out in a chunk
  Chunk pending_;      // read ahead, so Peek() can see it
  size_t pending_skip_ = 0;
  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace fraud
