#pragma once

// GET /metrics over HTTP for a MetricsRegistry (metrics/metrics.h), on a background thread:
//
//   ASSIGN_OR_RETURN(auto server, MetricsServer::Start("0.0.0.0", port, registry));
//   ... // Prometheus scrapes http://host:server->port()/metrics
//   server.reset();  // stops listening and joins
//
// The answer is registry.Render() with Content-Type `text/plain; version=0.0.4;
// charset=utf-8`; any other path is 404. The registry must outlive the server. Errors from
// Start: Unavailable when the address cannot be bound (port in use, unknown host).
// Thread safety: Start and the destructor from one thread; port() from any.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "metrics/metrics.h"

namespace httplib {
class Server;
}

namespace fraud {

class MetricsServer {
 public:
  inline static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

  // port 0: an ephemeral port, see port().
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(std::string host, int port,
                                                              MetricsRegistry& registry);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fraud
