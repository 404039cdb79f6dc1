#pragma once

// The REST scoring API (DESIGN §8, docs/SERVING.md): `fraudstream serve`.
//
//   ASSIGN_OR_RETURN(auto server, ScoringServer::Start({.host = "0.0.0.0", .port = 8080}));
//   // listening: /healthz answers, /readyz is 503 until a model is loaded
//   ASSIGN_OR_RETURN(auto live, LiveModel::FromRegistry(std::move(store), "fraud@Production"));
//   RETURN_IF_ERROR(server->Load(live, history));  // feature state + --warm-up history; ready
//   ...
//   server->Stop();  // stop accepting, finish the requests in flight, join
//
// Routes:
//   POST /v1/predict[?explain=true]  one transaction or {"transactions": [...]} (parser:
//                                    serve/request_parser.h); features from the window state
//                                    (features/window_state.h), which the transactions join
//                                    unless "dry_run": true; scored with the forest evaluator
//   GET  /v1/models                  the model serving: name, version, threshold, features,
//                                    metrics
//   GET  /healthz                    200 while the process serves HTTP
//   GET  /readyz                     200 once a model is loaded, else 503
//   GET  /metrics                    Prometheus text (metrics/metrics.h)
//   POST /v1/reload                  admin: asks the registry now; needs the bearer token
//   POST /v1/labels                  admin: {"labels": [...]} that arrived later (chargebacks)
//                                    into the terminal windows (request_parser.h)
// Every error answer is JSON {"error": "..."}: 400 bad request body, 401 missing or wrong
// token, 403 admin routes without a configured token, 404 unknown route, 413 body over
// max_body_bytes, 415 a Content-Type other than application/json, 503 not ready.
//
// Model: the LiveModel's snapshot is taken once per request, so a swap never fails a request
// in flight. A background thread refreshes a following reference (NAME@ALIAS, NAME/latest)
// every refresh_ms; a version computing other features than the state was built for is not
// swapped in (a warning; restart to serve it), as in the stream worker.
//
// State: one FeatureState per server (per replica; replicas do not share it), guarded by a
// reader/writer lock: recording requests take it exclusively, dry runs share it.
//
// HTTP: an event loop on Boost.Asio + Boost.Beast (HTTP/1.1 parsing). `threads` I/O threads,
// each running its own io_context; the listener hands each accepted connection to the next
// thread, which serves it until it closes: one request at a time (pipelined requests wait in
// the connection's buffer and are answered in order), keep-alive, TCP_NODELAY. The handlers
// run on the I/O thread, except POST /v1/reload (it asks the registry: a thread of its own).
// A connection idle (or stalled mid-request, or not reading its answer) for
// keep_alive_timeout_s is closed. A body over max_body_bytes is answered 413 as soon as it is
// known (Content-Length in the headers; chunked: once that much has arrived), without reading
// the rest, and the connection closes.
//
// Thread safety: Start/Load/Stop from one thread; port(), threads() and metrics() from any.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "features/window_state.h"
#include "metrics/metrics.h"
#include "model/explain.h"
#include "registry/live_model.h"

namespace fraud {

namespace serve_internal {  // server.cc
struct HttpRequest;
struct HttpResponse;
}  // namespace serve_internal

struct ServeOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0: an ephemeral port, see port()
  // HTTP (I/O) threads, each serving any number of connections; 0: one per core.
  int threads = 0;
  // The bearer token of the admin routes; empty: they answer 403.
  std::string token;
  // How often a following LiveModel is asked where its reference points (0: only on
  // POST /v1/reload).
  int64_t refresh_ms = 1000;
  size_t max_body_bytes = size_t{1} << 20;
  int keep_alive_timeout_s = 5;
};

class ScoringServer {
 public:
  // Binds and starts listening on background threads. Unavailable when the address cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<ScoringServer>> Start(ServeOptions options);
  ~ScoringServer();
  ScoringServer(const ScoringServer&) = delete;
  ScoringServer& operator=(const ScoringServer&) = delete;

  // Builds the feature state for the model's features, records `history` (in event-time order,
  // ReadHistory) in it, and starts serving predictions. Once only.
  absl::Status Load(std::shared_ptr<LiveModel> live, const std::vector<Transaction>& history);

  // Stops accepting connections, closes the idle ones, lets the requests in flight finish
  // (each connection then closes after its answer), joins. Idempotent.
  void Stop();

  int port() const { return port_; }
  int threads() const { return threads_; }
  MetricsRegistry& metrics() { return metrics_; }

 private:
  // server.cc
  struct RouteMetrics;
  struct Route;
  class Router;
  struct Io;  // the io_contexts, their threads and the listener
  class Connection;
  using HttpRequest = serve_internal::HttpRequest;
  using HttpResponse = serve_internal::HttpResponse;

  explicit ScoringServer(ServeOptions options);
  void AddRoutes();
  // Answers a request whose body has been read with its route (null: 404). Connections call
  // it on their I/O thread, or on the aside thread for a route that may block (the registry).
  void Handle(const Route* route, const HttpRequest& req, HttpResponse& res);
  void Predict(const HttpRequest& req, HttpResponse& res);
  // POST /v1/labels (admin): labels that arrived later, into the terminal windows.
  void Labels(const HttpRequest& req, HttpResponse& res);
  void Models(HttpResponse& res) const;
  void Reload(const HttpRequest& req, HttpResponse& res);
  // false (and the response set) when the request may not use an admin route.
  bool Authorized(const HttpRequest& req, HttpResponse& res) const;
  // Asks the registry; swaps in a new version that computes the state's features.
  absl::StatusOr<bool> Follow();
  void Background();
  // The model's explainer (built on first use); null with *error set when it cannot be built.
  std::shared_ptr<const TreeExplainer> ExplainerFor(const std::shared_ptr<const LoadedModel>& model,
                                                    absl::Status* error);
  // Counts an answer by route and code; `seconds` since its headers arrived.
  void CountRequest(std::string_view path, int status, double seconds);
  void SetModelInfo(const LoadedModel& model);

  ServeOptions options_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<Io> io_;
  int port_ = 0;
  int threads_ = 0;

  // Set by Load, before serving_ (whose non-null value publishes them).
  std::shared_ptr<LiveModel> live_;
  std::unique_ptr<FeatureState> state_;
  std::atomic<std::shared_ptr<const LoadedModel>> serving_;
  std::string refused_message_;  // the last refresh problem logged (background thread)
  std::mutex follow_mutex_;

  mutable std::shared_mutex state_mutex_;

  std::mutex explain_mutex_;
  std::shared_ptr<const LoadedModel> explained_;
  std::shared_ptr<const TreeExplainer> explainer_;

  std::thread background_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;

  MetricsRegistry metrics_;
  std::vector<std::unique_ptr<RouteMetrics>> routes_;
  Counter* fraud_ = nullptr;
  Counter* legit_ = nullptr;
  Gauge* info_ = nullptr;  // fraudstream_model_info of the version serving
};

}  // namespace fraud
