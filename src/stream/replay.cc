#include "stream/replay.h"

#include <librdkafka/rdkafka.h>

#include <thread>

#include "core/clock.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "data/row_parser.h"
#include "data/row_writer.h"
#include "fmt/format.h"

namespace fraud {
namespace {

struct Message {
  std::string key;
  std::string value;
};

// The file's rows as messages.
absl::StatusOr<std::vector<Message>> LoadMessages(const std::string& path, Format format,
                                                  int64_t* unparsed) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  std::vector<std::string_view> lines = Split(text, '\n');
  while (!lines.empty() && Trim(lines.back()).empty()) lines.pop_back();
  if (lines.empty()) return absl::InvalidArgumentError(fmt::format("{}: no rows", path));
  ASSIGN_OR_RETURN(const Layout layout, DetectLayout(lines.front()));
  RowParser parser(layout, InferDatasetStart(layout, text));
  std::vector<Message> out;
  out.reserve(lines.size());
  std::string encoded;
  for (size_t i = layout.has_header_line ? 1 : 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) continue;
    Transaction tx;
    if (parser.Parse(line, &tx) != Fault::kNone) {
      out.push_back({"", std::string(line)});
      ++*unparsed;
      continue;
    }
    encoded.clear();
    AppendRow(format, tx, &encoded);
    encoded.pop_back();  // the newline
    out.push_back({std::to_string(tx.customer_id.value()), encoded});
  }
  return out;
}

struct Acks {
  int64_t acknowledged = 0;
  int64_t failed = 0;
  std::string first_error;
};

void OnDelivery(const rd_kafka_message_t* message, void* context) {
  auto* acks = static_cast<Acks*>(context);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++acks->acknowledged;
  } else {
    if (acks->failed++ == 0) acks->first_error = rd_kafka_err2str(message->err);
  }
}

}  // namespace

absl::StatusOr<ReplaySummary> Replay(const std::string& path, const ReplayOptions& options,
                                     const std::atomic<bool>& stop) {
  if (options.format != Format::kCsv && options.format != Format::kJsonLines) {
    return absl::InvalidArgumentError("replay formats: csv or json");
  }
  ReplaySummary summary;
  ASSIGN_OR_RETURN(const std::vector<Message> messages,
                   LoadMessages(path, options.format, &summary.unparsed));
  KafkaSettings settings = DefaultProducerSettings(options.brokers);
  // Paced, a message waits at most 2 ms for its batch (5 for other producers), so it reaches
  // the stream sooner; 1 ms made the mock's p99 swing (tiny batches, some held for long). As
  // fast as possible, the default 5 ms: bigger batches, and the mock answers a fetch with one
  // batch per partition (docs/PERFORMANCE.md, Stream).
  if (options.rate > 0 || !options.ramp.empty()) settings.Set("linger.ms", "2");
  if (!options.kafka_config_file.empty())
    RETURN_IF_ERROR(settings.ApplyFile(options.kafka_config_file));
  RETURN_IF_ERROR(settings.Apply(options.kafka_settings));
  Acks acks;
  ASSIGN_OR_RETURN(KafkaClient producer, KafkaClient::Producer(settings, &OnDelivery, &acks));

  const std::vector<double> rates =
      options.ramp.empty() ? std::vector<double>{options.rate} : options.ramp;
  const bool ramped = !options.ramp.empty();
  Clock& clock = Clock::Real();
  const int64_t start = clock.NowNanos();
  int64_t second_start = start;
  int64_t in_second = 0;
  size_t next = 0;
  const int64_t total = options.limit > 0 ? options.limit
                        : options.loop    ? INT64_MAX
                                          : static_cast<int64_t>(messages.size());
  for (size_t step = 0; step < rates.size() && summary.sent < total && !stop.load(); ++step) {
    const double rate = rates[step];
    const int64_t step_start = clock.NowNanos();
    const int64_t step_end =
        ramped ? step_start + static_cast<int64_t>(options.step_seconds * 1e9) : INT64_MAX;
    for (int64_t i = 0; summary.sent < total && !stop.load(); ++i) {
      int64_t now = clock.NowNanos();
      if (rate > 0) {
        // Token bucket on the monotonic clock: message i of the step is due at start + i/rate.
        const int64_t due = step_start + static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate);
        if (due >= step_end) break;
        while (now < due && !stop.load()) {
          const int64_t wait = due - now;
          if (wait > 2'000'000) {
            producer.Poll(static_cast<int>((wait - 1'000'000) / 1'000'000));  // serve acks
          } else if (wait > 100'000) {
            std::this_thread::sleep_for(std::chrono::nanoseconds(wait / 2));
          } else {
            std::this_thread::yield();
          }
          now = clock.NowNanos();
        }
      } else if (now >= step_end) {
        break;
      }
      while (now - second_start >= 1'000'000'000) {  // whole seconds passed
        summary.per_second.push_back(in_second);
        if (options.per_second != nullptr) {
          std::fprintf(options.per_second, "replay: second %zu: %lld msg/s\n",
                       summary.per_second.size(), static_cast<long long>(in_second));
          std::fflush(options.per_second);
        }
        in_second = 0;
        second_start += 1'000'000'000;
      }
      if (next == messages.size()) next = 0;  // --loop
      const Message& message = messages[next++];
      RETURN_IF_ERROR(producer.Produce(options.topic, message.key, message.value));
      ++summary.sent;
      ++in_second;
      producer.Poll(0);
      if (acks.failed > 0) break;
    }
  }
  const int64_t sent_end = clock.NowNanos();
  RETURN_IF_ERROR(producer.Flush(60'000));
  summary.seconds = (sent_end - start) * 1e-9;
  summary.rate = summary.seconds > 0 ? summary.sent / summary.seconds : 0;
  summary.acknowledged = acks.acknowledged;
  summary.failed = acks.failed;
  if (acks.failed > 0) {
    return absl::UnavailableError(fmt::format("{} messages were not delivered to {}: {}",
                                              acks.failed, options.topic, acks.first_error));
  }
  return summary;
}

}  // namespace fraud
