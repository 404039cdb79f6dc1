// serve_paced_client: an open-loop HTTP client at a fixed rate, for the latency half of
// bench/serve_bench.sh (wrk has no pacing and wrk2 is not in Debian).
//
//   serve_paced_client --port P --body FILE --rate R [--seconds S] [--connections C]
//                      [--host 127.0.0.1] [--path /v1/predict]
//
// POSTs FILE (application/json) R times a second for S seconds over C keep-alive connections
// (cpp-httplib clients, one thread each). Request i is scheduled at start + i / R on
// connection i mod C; the thread sleeps until that time, sends, and waits for the answer.
// Latency is answer time - scheduled time, so a slow answer also counts against the requests
// queued behind it (coordinated omission, as wrk2 counts it). Prints one JSON line: requests,
// ok, errors, seconds, achieved rate, and p50 / p99 / p99.9 / max latency in ms.
//
// Not a test; each connection is opened and used once before the clock starts.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "httplib.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/v1/predict";
  std::string body_file;
  double rate = 5000;
  double seconds = 10;
  int connections = 8;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "serve_paced_client: %s\nusage: serve_paced_client --port P --body FILE --rate R "
               "[--seconds S] [--connections C] [--host H] [--path /v1/predict]\n",
               why);
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) Usage(("missing value for " + flag).c_str());
    std::string value = argv[++i];
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      o.port = std::atoi(value.c_str());
    } else if (flag == "--path") {
      o.path = value;
    } else if (flag == "--body") {
      o.body_file = value;
    } else if (flag == "--rate") {
      o.rate = std::atof(value.c_str());
    } else if (flag == "--seconds") {
      o.seconds = std::atof(value.c_str());
    } else if (flag == "--connections") {
      o.connections = std::atoi(value.c_str());
    } else {
      Usage(("unknown flag " + flag).c_str());
    }
  }
  if (o.port <= 0 || o.body_file.empty() || o.rate <= 0 || o.seconds <= 0 || o.connections < 1) {
    Usage("--port, --body, a positive --rate and --seconds, and --connections >= 1 are needed");
  }
  return o;
}

struct Sample {
  int64_t latency_ns;
  bool ok;
};

double Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(rank, sorted.size() - 1)]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  std::ifstream in(o.body_file, std::ios::binary);
  if (!in) Usage(("cannot read " + o.body_file).c_str());
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string body = buffer.str();

  const int64_t total = static_cast<int64_t>(o.rate * o.seconds);
  const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / o.rate));
  std::vector<std::vector<Sample>> samples(o.connections);
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int c = 0; c < o.connections; ++c) {
    auto client = std::make_unique<httplib::Client>(o.host, o.port);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // headers and body are two writes: no Nagle + delayed ACK
    client->set_read_timeout(10, 0);
    auto warm = client->Post(o.path, body, "application/json");  // opens the connection
    if (!warm || warm->status != 200) {
      std::fprintf(stderr, "serve_paced_client: the first request failed (%s)\n",
                   warm ? std::to_string(warm->status).c_str() : httplib::to_string(warm.error()).c_str());
      return 1;
    }
    clients.push_back(std::move(client));
  }

  const auto start = Clock::now() + std::chrono::milliseconds(10);
  std::vector<Clock::time_point> last_done(o.connections, start);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      auto& mine = samples[c];
      mine.reserve(static_cast<size_t>(total / o.connections + 1));
      for (int64_t i = c; i < total; i += o.connections) {
        const auto scheduled = start + i * interval;
        std::this_thread::sleep_until(scheduled);
        auto res = clients[c]->Post(o.path, body, "application/json");
        const auto done = Clock::now();
        mine.push_back({(done - scheduled).count(), res && res->status == 200});
        last_done[c] = done;
      }
    });
  }
  for (auto& t : threads) t.join();

  std::vector<int64_t> latencies;
  int64_t ok = 0;
  for (const auto& per_connection : samples) {
    for (const Sample& s : per_connection) {
      latencies.push_back(s.latency_ns);
      ok += s.ok ? 1 : 0;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  const auto end = *std::max_element(last_done.begin(), last_done.end());
  const double seconds = std::chrono::duration<double>(end - start).count();
  const int64_t n = static_cast<int64_t>(latencies.size());
  std::printf(
      "{\"requests\": %lld, \"ok\": %lld, \"errors\": %lld, \"target_rate\": %g, \"connections\": "
      "%d, \"seconds\": %.3f, \"rate\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": "
      "%.3f, \"max_ms\": %.3f}\n",
      static_cast<long long>(n), static_cast<long long>(ok), static_cast<long long>(n - ok),
      o.rate, o.connections, seconds, static_cast<double>(n) / seconds,
      Percentile(latencies, 0.50), Percentile(latencies, 0.99), Percentile(latencies, 0.999),
      latencies.empty() ? 0.0 : static_cast<double>(latencies.back()) / 1e6);
  return ok == n ? 0 : 1;
}
