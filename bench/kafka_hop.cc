// The bare single Kafka hop of bench/stream_bench.sh: a group consumer with the settings and
// the poll loop of `fraudstream stream` (DefaultConsumerSettings: fetch.wait.max.ms=2; one
// rd_kafka_consumer_poll per message) that does nothing with a message but count it: no
// parsing, features, scoring or producing. What the stream does on top of one hop is the
// difference to this.
//   kafka_hop --brokers HOST:PORT --count N [--topic T] [--group G]
// Reads a new group's partitions from their beginning until N messages arrived, then prints
// one JSON line: {"consumed": N, "seconds": S} (S from the first message to the Nth). Exits 1
// when 30 s pass without a message once the first has come (messages were lost).

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "stream/kafka.h"

int main(int argc, char** argv) {
  std::string brokers, topic = fraud::kInputTopic, group = "kafka-hop-bench";
  long long count = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--brokers") brokers = argv[i + 1];
    if (flag == "--topic") topic = argv[i + 1];
    if (flag == "--group") group = argv[i + 1];
    if (flag == "--count") count = std::atoll(argv[i + 1]);
  }
  if (brokers.empty() || count <= 0) {
    std::fprintf(stderr, "usage: %s --brokers HOST:PORT --count N [--topic T] [--group G]\n",
                 argv[0]);
    return 2;
  }
  fraud::KafkaSettings settings = fraud::DefaultConsumerSettings(brokers, group);
  settings.Set("auto.offset.reset", "earliest");  // a new group: from the beginning
  settings.Set("enable.auto.commit", "false");
  auto consumer = fraud::KafkaClient::Consumer(settings);
  if (!consumer.ok()) {
    std::fprintf(stderr, "kafka_hop: %s\n", consumer.status().ToString().c_str());
    return 1;
  }
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer->get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "kafka_hop: subscribe: %s\n", rd_kafka_err2str(err));
    return 1;
  }
  fraud::Clock& clock = fraud::Clock::Real();
  long long consumed = 0;
  int64_t first = 0, last = 0;
  while (consumed < count) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer->get(), 100);
    const int64_t now = clock.NowNanos();
    if (message == nullptr) {
      if (first != 0 && now - last > 30'000'000'000LL) {
        std::fprintf(stderr, "kafka_hop: %lld of %lld messages, then 30 s without one\n",
                     consumed, count);
        return 1;
      }
      continue;
    }
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (first == 0) first = now;
      last = now;
      ++consumed;
    } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      std::fprintf(stderr, "kafka_hop: %s\n", rd_kafka_message_errstr(message));
    }
    rd_kafka_message_destroy(message);
  }
  std::printf("{\"consumed\": %lld, \"seconds\": %.3f}\n", consumed, (last - first) * 1e-9);
  rd_kafka_consumer_close(consumer->get());
  return 0;
}
