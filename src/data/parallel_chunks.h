#pragma once

// Parallel parsing with results in file order, in bounded memory.
//
// Worker threads take the next chunk from the reader, run `work` on it, and park the result;
// the calling thread hands results to `sink` strictly in chunk order. At most `max_in_flight`
// chunks exist at once, so memory stays bounded whatever the file size.
//
//   ProcessChunksInOrder<MyResult>(reader, threads,
//       [](const Chunk& c, MyResult* r) { ... },             // any worker thread
//       [](const Chunk& c, MyResult& r) { return Status; }); // calling thread, in order
//
// The first error (from reading or from sink) stops the pipeline and is returned.

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "data/chunk_reader.h"

namespace fraud {

// Worker threads to use when the caller says 0: one per core.
inline int DefaultThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

template <typename Result>
absl::Status ProcessChunksInOrder(ChunkReader& reader, int threads,
                                  const std::function<void(const Chunk&, Result*)>& work,
                                  const std::function<absl::Status(const Chunk&, Result&)>& sink) {
  if (threads <= 0) threads = DefaultThreads();
  const uint64_t max_in_flight = static_cast<uint64_t>(threads) * 2 + 1;
  struct Done {
    Chunk chunk;
    Result result;
  };
  std::mutex mu;
  std::condition_variable changed;
  std::map<uint64_t, Done> done;
  uint64_t next_to_read = 0;
  uint64_t next_to_sink = 0;
  bool reader_finished = false;
  bool stop = false;
  absl::Status status;

  auto worker = [&] {
    while (true) {
      Chunk chunk;
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return stop || next_to_read - next_to_sink < max_in_flight; });
        if (stop || reader_finished) return;
        auto more = reader.Next(&chunk);
        if (!more.ok() || !*more) {
          if (!more.ok()) {
            status = more.status();
            stop = true;
          }
          reader_finished = true;
          changed.notify_all();
          return;
        }
        ++next_to_read;
      }
      Result result{};
      work(chunk, &result);
      std::lock_guard lock(mu);
      const uint64_t index = chunk.index;
      done.emplace(index, Done{std::move(chunk), std::move(result)});
      changed.notify_all();
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);

  while (true) {
    std::unique_lock lock(mu);
    changed.wait(lock, [&] {
      return stop || done.count(next_to_sink) > 0 ||
             (reader_finished && next_to_sink == next_to_read);
    });
    if (stop || done.count(next_to_sink) == 0) break;
    auto node = done.extract(next_to_sink);
    lock.unlock();
    absl::Status sunk = sink(node.mapped().chunk, node.mapped().result);
    lock.lock();
    reader.Recycle(&node.mapped().chunk);
    ++next_to_sink;
    if (!sunk.ok()) {
      status = sunk;
      stop = true;
    }
    changed.notify_all();
  }
  {
    std::lock_guard lock(mu);
    stop = true;
    changed.notify_all();
  }
  for (auto& t : pool) t.join();
  return status;
}

}  // namespace fraud
