#include "metrics/metrics_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <utility>

namespace fraud {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(std::string host, int port,
                                                                    MetricsRegistry& registry,
                                                                    std::vector<HttpRoute> routes) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  // Scrapes are rare and short: two threads instead of httplib's default pool (>= 8).
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // process bind the same port and take half of the scrapes.
  http.set_socket_options([](int socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), kContentType);
  });
  for (HttpRoute& route : routes) {
    const std::string path = route.path;
    http.Get(path,
             [route = std::move(route)](const httplib::Request&, httplib::Response& response) {
               response.set_content(route.body(), route.content_type);
             });
  }
  const int bound =
      port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        fmt::format("metrics server: cannot listen on {}:{}", host, port));
  }
  server->port_ = bound;
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // httplib 0.11's stop() does nothing until the listening thread has marked the server
  // running: wait for it, or a server destroyed at once would never be stopped (and joined).
  while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fraud
