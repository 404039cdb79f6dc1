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
// Thread safety: Start/Load/Stop from one thread; port() and metrics() from any.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "features/window_state.h"
#include "metrics/metrics.h"
#include "model/explain.h"
#include "registry/live_model.h"

namespace httplib {
class ContentReader;
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace fraud {

struct ServeOptions {
  std::string host = "0.0.0.0";
  int port = 8080;   // 0: an ephemeral port, see port()
  int threads = 32;  // HTTP worker threads; each serves one keep-alive connection at a time
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

  // Stops accepting connections, lets the requests in flight finish, joins. Idempotent.
  void Stop();

  int port() const { return port_; }
  MetricsRegistry& metrics() { return metrics_; }

 private:
  struct RouteMetrics;

  explicit ScoringServer(ServeOptions options);
  void AddRoutes();
  // Reads the body itself, at most max_body_bytes (httplib bounds Content-Length bodies, not
  // chunked ones).
  void Predict(const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& content);
  // POST /v1/labels (admin): labels that arrived later, into the terminal windows.
  void Labels(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& content);
  // The body, at most max_body_bytes; false with the error answer set.
  bool ReadBody(const httplib::ContentReader& content, httplib::Response& res,
                std::string* body) const;
  void Models(httplib::Response& res) const;
  void Reload(const httplib::Request& req, httplib::Response& res);
  // false (and the response set) when the request may not use an admin route.
  bool Authorized(const httplib::Request& req, httplib::Response& res) const;
  // Asks the registry; swaps in a new version that computes the state's features.
  absl::StatusOr<bool> Follow();
  void Background();
  // The model's explainer (built on first use); null with *error set when it cannot be built.
  std::shared_ptr<const TreeExplainer> ExplainerFor(const std::shared_ptr<const LoadedModel>& model,
                                                    absl::Status* error);
  void CountRequest(const httplib::Request& req, const httplib::Response& res);
  void SetModelInfo(const LoadedModel& model);

  ServeOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  int port_ = 0;

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
