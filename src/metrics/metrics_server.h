#pragma once

// GET /metrics over HTTP for a MetricsRegistry (metrics/metrics.h), on a background thread,
// and any other GET routes a command serves beside it (the dashboard's page and state):
//
//   ASSIGN_OR_RETURN(auto server, MetricsServer::Start("0.0.0.0", port, registry));
//   ... // Prometheus scrapes http://host:server->port()/metrics
//   server.reset();  // stops listening and joins
//
// The answer is registry.Render() with Content-Type `text/plain; version=0.0.4;
// charset=utf-8`; a route's answer is its body() with its content type; any other path is 404. The
// registry must outlive the server. Errors from Start: Unavailable when the address cannot be bound
// (port in use, unknown host). Thread safety: Start and the destructor from one thread; port() from
// any.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "metrics/metrics.h"

namespace httplib {
class Server;
}

namespace fraud {

// One more GET route: body() is called on a server thread for each request.
struct HttpRoute {
  std::string path;
  std::string content_type;
  std::function<std::string()> body;
};

class MetricsServer {
 public:
  inline static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

  // port 0: an ephemeral port, see port().
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(std::string host, int port,
                                                              MetricsRegistry& registry,
                                                              std::vector<HttpRoute> routes = {});
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
