#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/status.h"
#include "core/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "serve/request_parser.h"

namespace fraud {
namespace {

constexpr char kJson[] = "application/json";
// Out-of-order requests up to this far behind the newest event time get exact windows.
constexpr int64_t kLatenessSeconds = 3600;
constexpr int64_t kEvictEveryMs = 60'000;
constexpr size_t kTopContributions = 5;

constexpr std::array<const char*, 7> kRoutes = {
    "/v1/predict", "/v1/models", "/v1/reload", "/healthz", "/readyz", "/metrics", "other"};
constexpr std::array<int, 10> kCodes = {200, 400, 401, 403, 404, 413, 415, 422, 500, 503};

std::string Quote(std::string_view text) { return nlohmann::json(text).dump(); }

void SetError(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(fmt::format("{{\"error\": {}}}", Quote(message)), kJson);
}

void AppendFloat(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const std::to_chars_result r = std::to_chars(
      buffer, buffer + sizeof(buffer), static_cast<float>(value), std::chars_format::general, 9);
  out.append(buffer, r.ptr);
}

// application/json, with or without parameters (charset), any case; also application/*+json.
bool IsJson(std::string_view content_type) {
  const std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (EqualsIgnoreCase(type, kJson)) return true;
  return type.size() > 17 && EqualsIgnoreCase(type.substr(0, 12), "application/") &&
         EqualsIgnoreCase(type.substr(type.size() - 5), "+json");
}

// Constant time in the length of `given`, so the token is not guessed byte by byte.
bool SameToken(std::string_view given, std::string_view token) {
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ token[i % std::max<size_t>(token.size(), 1)]);
  }
  return diff == 0;
}

bool SameFeatures(const FeatureSpec& a, const FeatureSpec& b) {
  return a.name == b.name && a.version == b.version && a.names == b.names;
}

// When this thread's request started (set before routing, read by the logger).
thread_local std::chrono::steady_clock::time_point t_request_start{};

}  // namespace

struct ScoringServer::RouteMetrics {
  std::string route;
  Histogram* duration = nullptr;
  std::array<Counter*, kCodes.size()> by_code{};
};

ScoringServer::ScoringServer(ServeOptions options) : options_(std::move(options)) {
  for (const char* route : kRoutes) {
    auto m = std::make_unique<RouteMetrics>();
    m->route = route;
    m->duration = &metrics_.GetHistogram("fraudstream_request_duration_seconds",
                                         "Time to answer an HTTP request, by route.",
                                         LatencyBuckets(), {{"route", route}});
    for (size_t i = 0; i < kCodes.size(); ++i) {
      m->by_code[i] = &metrics_.GetCounter("fraudstream_requests_total",
                                           "HTTP requests answered, by route and status code.",
                                           {{"route", route}, {"code", std::to_string(kCodes[i])}});
    }
    routes_.push_back(std::move(m));
  }
  const char* help = "Predictions made, by outcome (score >= the model's threshold: fraud).";
  fraud_ = &metrics_.GetCounter("fraudstream_predictions_total", help, {{"outcome", "fraud"}});
  legit_ = &metrics_.GetCounter("fraudstream_predictions_total", help, {{"outcome", "legit"}});
}

ScoringServer::~ScoringServer() { Stop(); }

absl::StatusOr<std::unique_ptr<ScoringServer>> ScoringServer::Start(ServeOptions options) {
  std::unique_ptr<ScoringServer> server(new ScoringServer(std::move(options)));
  ScoringServer* s = server.get();
  s->http_ = std::make_unique<httplib::Server>();
  const size_t threads = static_cast<size_t>(std::max(1, s->options_.threads));
  s->http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s->http_->set_payload_max_length(s->options_.max_body_bytes);
  s->http_->set_keep_alive_max_count(1'000'000);
  s->http_->set_keep_alive_timeout(s->options_.keep_alive_timeout_s);
  s->http_->set_tcp_nodelay(true);
  // SO_REUSEADDR only (as metrics/metrics_server.cc): httplib's default adds SO_REUSEPORT, with
  // which a second process binds the same port and takes half of the requests.
  s->http_->set_socket_options([](int socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s->AddRoutes();
  const std::string& host = s->options_.host;
  if (s->options_.port == 0) {
    s->port_ = s->http_->bind_to_any_port(host);
  } else if (s->http_->bind_to_port(host, s->options_.port)) {
    s->port_ = s->options_.port;
  } else {
    s->port_ = -1;
  }
  if (s->port_ <= 0) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{} (in use, or no such address)", host, s->options_.port));
  }
  s->listener_ = std::thread([s] { s->http_->listen_after_bind(); });
  // stop() only works once the accept loop runs.
  for (int i = 0; i < 5000 && !s->http_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  s->background_ = std::thread([s] { s->Background(); });
  return server;
}

void ScoringServer::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (http_ != nullptr) http_->stop();  // the pool finishes the requests in flight
  if (listener_.joinable()) listener_.join();
  if (background_.joinable()) background_.join();
}

absl::Status ScoringServer::Load(std::shared_ptr<LiveModel> live,
                                 const std::vector<Transaction>& history) {
  if (serving_.load() != nullptr) return absl::FailedPreconditionError("a model is loaded already");
  std::shared_ptr<const LoadedModel> model = live->Current();
  auto state = std::make_unique<FeatureState>(
      model->artifact.features, StateOptions{.allowed_lateness_seconds = kLatenessSeconds});
  for (const Transaction& tx : history) state->Update(tx);
  live_ = std::move(live);
  state_ = std::move(state);
  SetModelInfo(*model);
  serving_.store(std::move(model));
  stop_cv_.notify_all();  // the background thread starts following
  return absl::OkStatus();
}

void ScoringServer::SetModelInfo(const LoadedModel& model) {
  if (info_ != nullptr) info_->Set(0);
  info_ = &metrics_.GetGauge("fraudstream_model_info",
                             "The model version serving (1) and those that served before (0).",
                             {{"name", model.name}, {"version", model.version}});
  info_->Set(1);
}

absl::StatusOr<bool> ScoringServer::Follow() {
  std::lock_guard lock(follow_mutex_);
  ASSIGN_OR_RETURN(const bool moved, live_->Refresh());
  (void)moved;  // Current() may also differ from what serves after an earlier refusal
  std::shared_ptr<const LoadedModel> next = live_->Current();
  const std::shared_ptr<const LoadedModel> now = serving_.load();
  if (next == now) return false;
  if (!SameFeatures(now->artifact.features, next->artifact.features)) {
    return absl::FailedPreconditionError(
        fmt::format("{} version {} computes the features {}, this server's state {}: not served "
                    "(restart serve to use it); still serving version {}",
                    next->name, next->version, next->artifact.features.name,
                    now->artifact.features.name, now->version));
  }
  std::fprintf(stderr, "fraudstream serve: %s version %s -> %s\n", next->name.c_str(),
               now->version.c_str(), next->version.c_str());
  SetModelInfo(*next);
  serving_.store(std::move(next));
  return true;
}

void ScoringServer::Background() {
  auto last_evict = std::chrono::steady_clock::now();
  std::unique_lock lock(stop_mutex_);
  while (!stopping_) {
    const bool ready = serving_.load() != nullptr;
    const bool follow = ready && live_->follows() && options_.refresh_ms > 0;
    stop_cv_.wait_for(lock, std::chrono::milliseconds(follow ? options_.refresh_ms : 1000));
    if (stopping_ || serving_.load() == nullptr) continue;
    lock.unlock();
    if (live_->follows() && options_.refresh_ms > 0) {
      const absl::StatusOr<bool> moved = Follow();
      if (!moved.ok()) {
        std::string message(moved.status().message());
        if (message != refused_message_) {  // once per distinct problem, not every second
          std::fprintf(stderr, "fraudstream serve: warning: %s\n", message.c_str());
          refused_message_ = std::move(message);
        }
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_evict >= std::chrono::milliseconds(kEvictEveryMs)) {
      std::unique_lock state_lock(state_mutex_);
      state_->EvictExpired();
      last_evict = now;
    }
    lock.lock();
  }
}

std::shared_ptr<const TreeExplainer> ScoringServer::ExplainerFor(
    const std::shared_ptr<const LoadedModel>& model, absl::Status* error) {
  std::lock_guard lock(explain_mutex_);
  if (explained_ != model) {
    absl::StatusOr<TreeExplainer> explainer =
        TreeExplainer::LoadFile(model->artifact.booster_path());
    if (!explainer.ok()) {
      *error = explainer.status();
      return nullptr;
    }
    explainer_ = std::make_shared<const TreeExplainer>(std::move(*explainer));
    explained_ = model;
  }
  return explainer_;
}

void ScoringServer::CountRequest(const httplib::Request& req, const httplib::Response& res) {
  RouteMetrics* route = routes_.back().get();  // "other"
  for (const auto& r : routes_) {
    if (r->route == req.path) route = r.get();
  }
  const auto code = std::find(kCodes.begin(), kCodes.end(), res.status);
  if (code != kCodes.end()) {
    route->by_code[code - kCodes.begin()]->Inc();
  } else {
    metrics_
        .GetCounter("fraudstream_requests_total",
                    "HTTP requests answered, by route and status code.",
                    {{"route", route->route}, {"code", std::to_string(res.status)}})
        .Inc();
  }
  if (t_request_start != std::chrono::steady_clock::time_point{}) {
    route->duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count());
    t_request_start = {};
  }
}

bool ScoringServer::Authorized(const httplib::Request& req, httplib::Response& res) const {
  if (options_.token.empty()) {
    SetError(res, 403, "admin routes are disabled: start serve with --token-file");
    return false;
  }
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() ||
      !EqualsIgnoreCase(std::string_view(header).substr(0, kBearer.size()), kBearer) ||
      !SameToken(Trim(std::string_view(header).substr(kBearer.size())), options_.token)) {
    res.set_header("WWW-Authenticate", "Bearer");
    SetError(res, 401,
             header.empty() ? "missing Authorization: Bearer <token> (admin route)"
                            : "wrong token in Authorization (admin route)");
    return false;
  }
  return true;
}

void ScoringServer::AddRoutes() {
  httplib::Server& http = *http_;
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    CountRequest(req, res);
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
          case 404:
            SetError(res, 404, fmt::format("no route {} {}", req.method, req.path));
            break;
          case 400:  // from httplib, before any route: the request itself is malformed
            SetError(res, 400,
                     "bad HTTP request: malformed request line or headers, or a POST without "
                     "Content-Length (curl: -d '')");
            break;
          case 413:
            SetError(res, 413, fmt::format("request body over {} bytes", options_.max_body_bytes));
            break;
          default:
            SetError(res, res.status, fmt::format("HTTP {}", res.status));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        std::string what = "internal error";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = fmt::format("internal error: {}", e.what());
        } catch (...) {
        }
        SetError(res, 500, what);
      });

  http.Post("/v1/predict",
            [this](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& content) { Predict(req, res, content); });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { Models(res); });
  http.Post("/v1/labels",
            [this](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& content) { Labels(req, res, content); });
  http.Post("/v1/reload",
            [this](const httplib::Request& req, httplib::Response& res) { Reload(req, res); });
  http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status": "ok"})", kJson);
  });
  http.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const std::shared_ptr<const LoadedModel> model = serving_.load();
    if (model == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
    res.set_content(fmt::format(R"({{"status": "ready", "model": {}, "model_version": {}}})",
                                Quote(model->name), Quote(model->version)),
                    kJson);
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

bool ScoringServer::ReadBody(const httplib::ContentReader& content, httplib::Response& res,
                             std::string* body) const {
  bool too_big = false;
  const bool read = content([&](const char* data, size_t size) {
    if (body->size() + size > options_.max_body_bytes) {
      too_big = true;
      return false;  // stop reading: the rest of a chunked body is never buffered
    }
    body->append(data, size);
    return true;
  });
  if (too_big || res.status == 413) {
    res.set_header("Connection", "close");  // the unread rest of the body cannot be skipped
    SetError(res, 413, fmt::format("request body over {} bytes", options_.max_body_bytes));
    return false;
  }
  if (!read) {
    res.set_header("Connection", "close");
    SetError(res, 400, "the request body could not be read");
    return false;
  }
  return true;
}

void ScoringServer::Predict(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& content) {
  std::string body_in;
  if (!ReadBody(content, res, &body_in)) return;
  const std::shared_ptr<const LoadedModel> model = serving_.load();
  if (model == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  if (!IsJson(req.get_header_value("Content-Type"))) {
    return SetError(res, 415,
                    fmt::format("Content-Type must be application/json, got '{}'",
                                req.get_header_value("Content-Type")));
  }
  bool explain = false;
  if (req.has_param("explain")) {
    const std::string value = req.get_param_value("explain");
    if (value == "true" || value == "1" || value.empty()) {
      explain = true;
    } else if (value != "false" && value != "0") {
      return SetError(res, 400, fmt::format("explain: expected true or false, got '{}'", value));
    }
  }
  absl::StatusOr<PredictRequest> request = ParsePredictRequest(body_in);
  if (!request.ok()) return SetError(res, 400, std::string(request.status().message()));
  const std::vector<Transaction>& txs = request->transactions;

  const FeatureSpec& spec = model->artifact.features;
  const size_t cols = spec.names.size();
  std::vector<float> rows(txs.size() * cols);
  if (request->dry_run) {
    std::shared_lock lock(state_mutex_);
    for (size_t i = 0; i < txs.size(); ++i) state_->Compute(txs[i], rows.data() + i * cols);
  } else {
    std::unique_lock lock(state_mutex_);
    for (size_t i = 0; i < txs.size(); ++i) state_->Process(txs[i], rows.data() + i * cols);
  }
  std::vector<float> scores(txs.size());
  model->forest.PredictBatch(rows.data(), txs.size(), cols, scores.data());

  std::shared_ptr<const TreeExplainer> explainer;
  std::vector<float> contributions;
  if (explain) {
    absl::Status error;
    explainer = ExplainerFor(model, &error);
    if (explainer == nullptr) {
      return SetError(res, HttpCodeFor(error),
                      fmt::format("cannot explain {} version {}: {}", model->name, model->version,
                                  std::string(error.message())));
    }
    contributions.resize(cols);
  }

  const double threshold = model->artifact.threshold;
  std::string model_fields;
  model_fields += R"("threshold": )";
  AppendFloat(model_fields, threshold);
  model_fields += fmt::format(R"(, "model": {}, "model_version": {})", Quote(model->name),
                              Quote(model->version));
  std::string body;
  body.reserve(256 * txs.size());
  body += request->batch ? R"({"predictions": [)" : "{";
  int64_t frauds = 0;
  for (size_t i = 0; i < txs.size(); ++i) {
    if (i > 0) body += ", ";
    if (request->batch) body += "{";
    const bool is_fraud = scores[i] >= threshold;
    frauds += is_fraud;
    body += fmt::format(R"("transaction_id": {}, "score": )", txs[i].transaction_id.value());
    AppendFloat(body, scores[i]);
    body += is_fraud ? R"(, "is_fraud": true)" : R"(, "is_fraud": false)";
    if (explain) {
      const float* row = rows.data() + i * cols;
      const float bias = explainer->Explain(row, contributions.data());
      body += R"(, "features": {)";
      for (size_t c = 0; c < cols; ++c) {
        body += fmt::format("{}{}: ", c > 0 ? ", " : "", Quote(spec.names[c]));
        AppendFloat(body, row[c]);
      }
      body += R"(}, "contributions": {"method": "saabas", "units": "log-odds", "bias": )";
      AppendFloat(body, bias);
      std::vector<size_t> order(cols);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::abs(contributions[a]) > std::abs(contributions[b]);
      });
      body += R"(, "top": [)";
      for (size_t k = 0; k < std::min(kTopContributions, cols); ++k) {
        const size_t c = order[k];
        body +=
            fmt::format(R"({}{{"feature": {}, "value": )", k > 0 ? ", " : "", Quote(spec.names[c]));
        AppendFloat(body, row[c]);
        body += R"(, "contribution": )";
        AppendFloat(body, contributions[c]);
        body += "}";
      }
      body += "]}";
    }
    if (request->batch) {
      body += "}";
    } else {
      body += ", " + model_fields;
    }
  }
  if (request->batch) body += "], " + model_fields;
  body += request->dry_run ? R"(, "dry_run": true})" : "}";
  fraud_->Inc(static_cast<double>(frauds));
  legit_->Inc(static_cast<double>(static_cast<int64_t>(txs.size()) - frauds));
  res.set_content(std::move(body), kJson);
}

void ScoringServer::Models(httplib::Response& res) const {
  const std::shared_ptr<const LoadedModel> model = serving_.load();
  if (model == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  const ModelArtifact& artifact = model->artifact;
  nlohmann::ordered_json entry = {
      {"name", model->name},
      {"version", model->version},
      {"reference", live_->reference()},
      {"follows", live_->follows()},
      {"threshold", artifact.threshold},
      {"features",
       {{"set", artifact.features.name},
        {"version", artifact.features.version},
        {"names", artifact.features.names}}},
      {"metrics", artifact.manifest.contains("metrics") ? artifact.manifest["metrics"]
                                                        : nlohmann::ordered_json()}};
  const nlohmann::ordered_json body = {{"models", nlohmann::ordered_json::array({entry})}};
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

void ScoringServer::Reload(const httplib::Request& req, httplib::Response& res) {
  if (!Authorized(req, res)) return;
  const std::shared_ptr<const LoadedModel> before = serving_.load();
  if (before == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  const absl::StatusOr<bool> moved = Follow();
  if (!moved.ok())
    return SetError(res, HttpCodeFor(moved.status()), std::string(moved.status().message()));
  const std::shared_ptr<const LoadedModel> now = serving_.load();
  res.set_content(
      fmt::format(R"({{"reloaded": {}, "model": {}, "model_version": {}, )"
                  R"("previous_version": {}}})",
                  *moved, Quote(now->name), Quote(now->version), Quote(before->version)),
      kJson);
}

void ScoringServer::Labels(const httplib::Request& req, httplib::Response& res,
                           const httplib::ContentReader& content) {
  std::string body_in;
  if (!ReadBody(content, res, &body_in)) return;
  if (!Authorized(req, res)) return;
  if (serving_.load() == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  if (!IsJson(req.get_header_value("Content-Type"))) {
    return SetError(res, 415,
                    fmt::format("Content-Type must be application/json, got '{}'",
                                req.get_header_value("Content-Type")));
  }
  const absl::StatusOr<std::vector<LabelUpdate>> labels = ParseLabelsRequest(body_in);
  if (!labels.ok()) return SetError(res, 400, std::string(labels.status().message()));
  int64_t applied = 0;
  {
    std::unique_lock lock(state_mutex_);
    for (const LabelUpdate& l : *labels) {
      applied += state_->SetLabel(l.transaction_id, l.terminal_id, l.tx_datetime, l.tx_fraud);
    }
  }
  res.set_content(fmt::format(R"({{"applied": {}, "not_found": {}}})", applied,
                              static_cast<int64_t>(labels->size()) - applied),
                  kJson);
}

}  // namespace fraud
