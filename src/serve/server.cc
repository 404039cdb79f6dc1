#include "serve/server.h"

#include <algorithm>
#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "core/status.h"
#include "core/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "serve/request_parser.h"

namespace fraud {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kJson = "application/json";
// Out-of-order requests up to this far behind the newest event time get exact windows.
constexpr int64_t kLatenessSeconds = 3600;
constexpr int64_t kEvictEveryMs = 60'000;
constexpr size_t kTopContributions = 5;
// How often each I/O thread looks for connections past their deadline.
constexpr auto kSweepEvery = std::chrono::milliseconds(100);
// A connection's input buffer is given back after a request that grew it past this.
constexpr size_t kKeptBuffer = 64 * 1024;

constexpr std::array<const char*, 8> kRoutes = {"/v1/predict", "/v1/models", "/v1/reload",
                                                "/v1/labels",  "/healthz",   "/readyz",
                                                "/metrics",    "other"};
constexpr std::array<int, 10> kCodes = {200, 400, 401, 403, 404, 413, 415, 422, 500, 503};

std::string Quote(std::string_view text) { return nlohmann::json(text).dump(); }

std::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }

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

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded (a malformed escape is kept as it is); in a query, '+' is a space.
std::string DecodeUrl(std::string_view text, bool query) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
        HexDigit(text[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2]));
      i += 2;
    } else {
      out += query && text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

}  // namespace

namespace serve_internal {

// What a handler sees of a request whose headers and body have been read.
struct HttpRequest {
  std::string_view method;  // HEAD is routed as GET
  std::string path;         // decoded, without the query
  std::string_view query;
  const http::fields* headers = nullptr;
  std::string_view body;

  std::string_view Header(std::string_view name) const {
    const auto it = headers->find(boost::beast::string_view(name.data(), name.size()));
    return it == headers->end() ? std::string_view() : View(it->value());
  }
  // The first value of the query parameter `name` (decoded; "" without '='), if any.
  std::optional<std::string> Param(std::string_view name) const {
    for (std::string_view rest = query; !rest.empty();) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      const size_t eq = pair.find('=');
      if (DecodeUrl(pair.substr(0, eq), true) != name) continue;
      return eq == std::string_view::npos ? std::string() : DecodeUrl(pair.substr(eq + 1), true);
    }
    return std::nullopt;
  }
};

// The answer a handler sets; the connection writes it.
struct HttpResponse {
  int status = 200;
  std::string body;
  std::string_view content_type = kJson;
  bool www_authenticate = false;  // a 401: WWW-Authenticate: Bearer

  void Set(std::string text, std::string_view type = kJson) {
    body = std::move(text);
    content_type = type;
  }
};

}  // namespace serve_internal

namespace {

using serve_internal::HttpRequest;
using serve_internal::HttpResponse;

void SetError(HttpResponse& res, int status, std::string_view message) {
  res.status = status;
  res.Set(fmt::format("{{\"error\": {}}}", Quote(message)));
}

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
  AddRoutes();
}

// The routes: method and exact path (decoded, without the query) to a handler.
struct ScoringServer::Route {
  std::string_view method;
  std::string_view path;
  std::function<void(const HttpRequest&, HttpResponse&)> handle;
  bool aside = false;  // may block (the registry): runs on the aside thread
};

class ScoringServer::Router {
 public:
  Router& Get(std::string_view path, decltype(Route::handle) handle) {
    routes_.push_back({"GET", path, std::move(handle)});
    return *this;
  }
  Router& Post(std::string_view path, decltype(Route::handle) handle, bool aside = false) {
    routes_.push_back({"POST", path, std::move(handle), aside});
    return *this;
  }
  // Null: no such route (404).
  const Route* Find(const HttpRequest& req) const {
    for (const Route& r : routes_) {
      if (r.path == req.path && r.method == req.method) return &r;
    }
    return nullptr;
  }

 private:
  std::vector<Route> routes_;
};

struct ScoringServer::Io {
  // One I/O thread: its io_context (run by that thread alone, so the connections it owns need
  // no locks), the connections it serves, and the timer that closes those past their deadline.
  struct Thread {
    std::unordered_set<Connection*> connections;
    asio::io_context ioc{1};
    asio::steady_timer sweep{ioc};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
        ioc.get_executor()};
    std::thread thread;
    bool stopping = false;  // Stop has reached this thread
    bool alive = true;      // false once the members are being destroyed
    ~Thread() { alive = false; }
  };

  explicit Io(ScoringServer& s) : server(s) {}
  void Accept();
  void Sweep(Thread& t);

  ScoringServer& server;
  std::vector<std::unique_ptr<Thread>> threads;
  std::optional<tcp::acceptor> acceptor;  // on threads[0]
  std::optional<asio::steady_timer> accept_retry;
  size_t next = 0;             // the thread the next connection goes to (round robin)
  asio::thread_pool aside{1};  // the routes that may block (Route::aside)
  std::atomic<bool> stopping = false;
};

// One connection, from accept to close, on its I/O thread: read the headers, then the body (up
// to max_body_bytes), handle, write the answer, and again. Owned by the shared_ptrs in its
// pending operation's handler; the thread's set lists it for Stop and the sweep.
class ScoringServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ScoringServer& server, Io::Thread& io, tcp::socket socket)
      : server_(server), io_(io), socket_(std::move(socket)) {
    io_.connections.insert(this);
  }
  ~Connection() {
    io_.connections.erase(this);
    // The last connection after Stop: the sweep has nothing left to wait for.
    if (io_.alive && io_.stopping && io_.connections.empty()) io_.sweep.cancel();
  }

  void Start() { ReadHeader(); }

  // Stop: an idle connection closes now; one in the middle of a request closes after its answer.
  void OnStop() {
    closing_ = true;
    if (idle_) Close();
  }

  // Closes the connection when it has waited for its client past the deadline.
  void Expire(SteadyClock::time_point now) {
    if (now > deadline_) Close();
  }

 private:
  void Await() {
    deadline_ = SteadyClock::now() + std::chrono::seconds(server_.options_.keep_alive_timeout_s);
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(server_.options_.max_body_bytes);
    idle_ = buffer_.size() == 0;  // nothing of the next request has arrived
    Await();
    http::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(boost::system::error_code ec) {
    idle_ = false;
    started_ = SteadyClock::now();
    // A body over the limit is known from the headers: they have been read.
    if (ec && ec != http::error::body_limit) return Failed(ec);
    const auto& message = parser_->get();
    const std::string_view target = View(message.target());
    const size_t question = target.find('?');
    req_.path = DecodeUrl(target.substr(0, question), false);
    req_.query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    req_.method = message.method() == http::verb::head ? "GET" : View(message.method_string());
    req_.headers = &message.base();
    head_only_ = message.method() == http::verb::head;
    if (ec) return Failed(ec);
    if (parser_->is_done()) return Respond();
    if (EqualsIgnoreCase(Trim(req_.Header("Expect")), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      Await();
      return asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](boost::system::error_code ec, size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    Await();
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec) return self->Failed(ec);
                       self->Respond();
                     });
  }

  // A read that did not give a request: a body over the limit (413) or a malformed request
  // (400) are answered, and the connection closes; the client closing or the deadline close it.
  void Failed(boost::system::error_code ec) {
    if (ec == http::error::body_limit) {
      SetError(res_, 413,
               fmt::format("request body over {} bytes", server_.options_.max_body_bytes));
    } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      req_.path = "other";
      SetError(res_, 400,
               fmt::format("bad HTTP request: {} (malformed request line, headers or chunked "
                           "body)",
                           ec.message()));
    } else {
      return Close();
    }
    closing_ = true;
    Write();
  }

  void Respond() {
    deadline_ = SteadyClock::time_point::max();  // not waiting for the client
    req_.body = parser_->get().body();
    if (!parser_->keep_alive()) closing_ = true;
    const Route* route = server_.router_->Find(req_);
    if (route == nullptr || !route->aside) {
      server_.Handle(route, req_, res_);
      return Write();
    }
    auto work = asio::make_work_guard(io_.ioc);
    asio::post(server_.io_->aside,
               [self = shared_from_this(), route, work = std::move(work)]() mutable {
                 self->server_.Handle(route, self->req_, self->res_);
                 asio::post(self->io_.ioc, [self] { self->Write(); });
                 work.reset();
               });
  }

  void Write() {
    server_.CountRequest(req_.path, res_.status,
                         std::chrono::duration<double>(SteadyClock::now() - started_).count());
    if (server_.io_->stopping.load(std::memory_order_relaxed)) closing_ = true;
    const auto reason = http::obsolete_reason(http::int_to_status(res_.status));
    head_.clear();
    fmt::format_to(std::back_inserter(head_),
                   "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}{}\r\n",
                   res_.status, View(reason), res_.content_type, res_.body.size(),
                   res_.www_authenticate ? "WWW-Authenticate: Bearer\r\n" : "",
                   closing_                        ? "Connection: close\r\n"
                   : parser_->get().version() < 11 ? "Connection: keep-alive\r\n"
                                                   : "");
    const std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(head_), asio::buffer(res_.body.data(), head_only_ ? 0 : res_.body.size())};
    Await();
    asio::async_write(
        socket_, buffers,
        [self = shared_from_this()](boost::system::error_code ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(boost::system::error_code ec) {
    if (ec) return Close();
    if (closing_) {
      // Input not read (a body refused, requests pipelined after this one): drain it first.
      if (buffer_.size() > 0 || !parser_->is_done()) return Linger();
      return Close();
    }
    res_ = HttpResponse();
    head_only_ = false;
    // A big batch does not keep its megabyte for the life of the connection.
    if (buffer_.capacity() > kKeptBuffer && buffer_.size() < kKeptBuffer) buffer_.shrink_to_fit();
    ReadHeader();
  }

  // After the last answer: no more sending, and what the client still sends (the rest of a
  // body too big to read) is read and dropped until it closes or the deadline passes, so that
  // it gets the answer rather than a reset (closing a socket with unread input sends RST).
  void Linger() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    Await();
    Drain();
  }
  void Drain() {
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(65536),
                            [self = shared_from_this()](boost::system::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    if (!socket_.is_open()) return;
    boost::system::error_code ignored;
    socket_.close(ignored);  // the pending operation ends with operation_aborted
  }

  ScoringServer& server_;
  Io::Thread& io_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest req_;
  HttpResponse res_;
  std::string head_;
  SteadyClock::time_point started_;  // the request's headers arrived
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();  // for the client to act
  bool idle_ = false;     // waiting for a request of which nothing has arrived
  bool closing_ = false;  // close after this answer
  bool head_only_ = false;
};

void ScoringServer::Io::Accept() {
  Thread& target = *threads[next++ % threads.size()];
  acceptor->async_accept(
      target.ioc, [this, &target](boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || stopping.load()) return;
        if (ec) {  // out of file descriptors, say: try again shortly rather than spin
          std::fprintf(stderr, "fraudstream serve: warning: accept: %s\n", ec.message().c_str());
          accept_retry->expires_after(std::chrono::milliseconds(50));
          accept_retry->async_wait([this](boost::system::error_code ec) {
            if (!ec) Accept();
          });
          return;
        }
        asio::post(target.ioc, [this, &target, socket = std::move(socket)]() mutable {
          if (stopping.load()) return;
          boost::system::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          std::make_shared<Connection>(server, target, std::move(socket))->Start();
        });
        Accept();
      });
}

void ScoringServer::Io::Sweep(Thread& t) {
  t.sweep.expires_after(kSweepEvery);
  t.sweep.async_wait([this, &t](boost::system::error_code ec) {
    if (ec) return;
    if (stopping.load() && t.connections.empty()) return;
    const SteadyClock::time_point now = SteadyClock::now();
    // Expire only closes the socket: the set changes once the handlers run, not here.
    for (Connection* c : t.connections) c->Expire(now);
    Sweep(t);
  });
}

ScoringServer::~ScoringServer() { Stop(); }

absl::StatusOr<std::unique_ptr<ScoringServer>> ScoringServer::Start(ServeOptions options) {
  std::unique_ptr<ScoringServer> server(new ScoringServer(std::move(options)));
  ScoringServer& s = *server;
  s.threads_ = s.options_.threads > 0
                   ? s.options_.threads
                   : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto io = std::make_unique<Io>(s);
  for (int i = 0; i < s.threads_; ++i) io->threads.push_back(std::make_unique<Io::Thread>());
  asio::io_context& ioc = io->threads[0]->ioc;
  const std::string& host = s.options_.host;
  auto refused = [&](const boost::system::error_code& ec) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{} (in use, or no such address): {}", host,
                    s.options_.port, ec.message()));
  };
  boost::system::error_code ec;
  tcp::resolver resolver(ioc);
  const auto endpoints =
      resolver.resolve(host, std::to_string(s.options_.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return refused(ec);
  // SO_REUSEADDR only, no SO_REUSEPORT: a second process cannot bind the same port and take
  // half of the requests.
  for (const auto& entry : endpoints) {
    tcp::acceptor acceptor(ioc);
    if (acceptor.open(entry.endpoint().protocol(), ec) ||
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec) ||
        acceptor.bind(entry.endpoint(), ec) ||
        acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
      continue;
    }
    io->acceptor.emplace(std::move(acceptor));
    break;
  }
  if (!io->acceptor) return refused(ec);
  s.port_ = io->acceptor->local_endpoint().port();
  io->accept_retry.emplace(ioc);
  io->Accept();
  for (auto& t : io->threads) io->Sweep(*t);
  s.io_ = std::move(io);
  for (auto& t : s.io_->threads) {
    t->thread = std::thread([&ioc = t->ioc] { ioc.run(); });
  }
  s.background_ = std::thread([&s] { s.Background(); });
  return server;
}

void ScoringServer::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (io_ != nullptr) {
    io_->stopping = true;
    Io& io = *io_;
    asio::post(io.threads[0]->ioc, [&io] {
      boost::system::error_code ignored;
      io.acceptor->close(ignored);
      io.accept_retry->cancel();
    });
    for (auto& t : io.threads) {
      asio::post(t->ioc, [&t = *t] {
        // OnStop may close sockets; the set only changes when their handlers run, later.
        t.stopping = true;
        for (Connection* c : t.connections) c->OnStop();
        if (t.connections.empty()) t.sweep.cancel();
        t.work.reset();
      });
    }
    for (auto& t : io.threads) {
      if (t->thread.joinable()) t->thread.join();
    }
    io.aside.join();
  }
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

void ScoringServer::CountRequest(std::string_view path, int status, double seconds) {
  RouteMetrics* route = routes_.back().get();  // "other"
  for (const auto& r : routes_) {
    if (r->route == path) route = r.get();
  }
  const auto code = std::find(kCodes.begin(), kCodes.end(), status);
  if (code != kCodes.end()) {
    route->by_code[code - kCodes.begin()]->Inc();
  } else {
    metrics_
        .GetCounter("fraudstream_requests_total",
                    "HTTP requests answered, by route and status code.",
                    {{"route", route->route}, {"code", std::to_string(status)}})
        .Inc();
  }
  route->duration->Observe(seconds);
}

bool ScoringServer::Authorized(const HttpRequest& req, HttpResponse& res) const {
  if (options_.token.empty()) {
    SetError(res, 403, "admin routes are disabled: start serve with --token-file");
    return false;
  }
  const std::string_view header = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() ||
      !EqualsIgnoreCase(header.substr(0, kBearer.size()), kBearer) ||
      !SameToken(Trim(header.substr(kBearer.size())), options_.token)) {
    res.www_authenticate = true;
    SetError(res, 401,
             header.empty() ? "missing Authorization: Bearer <token> (admin route)"
                            : "wrong token in Authorization (admin route)");
    return false;
  }
  return true;
}

void ScoringServer::AddRoutes() {
  router_ = std::make_unique<Router>();
  Router& http = *router_;
  http.Post("/v1/predict",
            [this](const HttpRequest& req, HttpResponse& res) { Predict(req, res); });
  http.Get("/v1/models", [this](const HttpRequest&, HttpResponse& res) { Models(res); });
  http.Post("/v1/labels", [this](const HttpRequest& req, HttpResponse& res) { Labels(req, res); });
  http.Post(
      "/v1/reload", [this](const HttpRequest& req, HttpResponse& res) { Reload(req, res); },
      /*aside=*/true);
  http.Get("/healthz",
           [](const HttpRequest&, HttpResponse& res) { res.Set(R"({"status": "ok"})"); });
  http.Get("/readyz", [this](const HttpRequest&, HttpResponse& res) {
    const std::shared_ptr<const LoadedModel> model = serving_.load();
    if (model == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
    res.Set(fmt::format(R"({{"status": "ready", "model": {}, "model_version": {}}})",
                        Quote(model->name), Quote(model->version)));
  });
  http.Get("/metrics", [this](const HttpRequest&, HttpResponse& res) {
    res.Set(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

void ScoringServer::Handle(const Route* route, const HttpRequest& req, HttpResponse& res) {
  if (route == nullptr)
    return SetError(res, 404, fmt::format("no route {} {}", req.method, req.path));
  try {
    route->handle(req, res);
  } catch (const std::exception& e) {
    res = HttpResponse();
    SetError(res, 500, fmt::format("internal error: {}", e.what()));
  }
}

void ScoringServer::Predict(const HttpRequest& req, HttpResponse& res) {
  const std::shared_ptr<const LoadedModel> model = serving_.load();
  if (model == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  if (!IsJson(req.Header("Content-Type"))) {
    return SetError(
        res, 415,
        fmt::format("Content-Type must be application/json, got '{}'", req.Header("Content-Type")));
  }
  bool explain = false;
  if (const std::optional<std::string> param = req.Param("explain")) {
    const std::string& value = *param;
    if (value == "true" || value == "1" || value.empty()) {
      explain = true;
    } else if (value != "false" && value != "0") {
      return SetError(res, 400, fmt::format("explain: expected true or false, got '{}'", value));
    }
  }
  absl::StatusOr<PredictRequest> request = ParsePredictRequest(req.body);
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
  res.Set(std::move(body));
}

void ScoringServer::Models(HttpResponse& res) const {
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
  res.Set(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void ScoringServer::Reload(const HttpRequest& req, HttpResponse& res) {
  if (!Authorized(req, res)) return;
  const std::shared_ptr<const LoadedModel> before = serving_.load();
  if (before == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  const absl::StatusOr<bool> moved = Follow();
  if (!moved.ok())
    return SetError(res, HttpCodeFor(moved.status()), std::string(moved.status().message()));
  const std::shared_ptr<const LoadedModel> now = serving_.load();
  res.Set(fmt::format(R"({{"reloaded": {}, "model": {}, "model_version": {}, )"
                      R"("previous_version": {}}})",
                      *moved, Quote(now->name), Quote(now->version), Quote(before->version)));
}

void ScoringServer::Labels(const HttpRequest& req, HttpResponse& res) {
  if (!Authorized(req, res)) return;
  if (serving_.load() == nullptr) return SetError(res, 503, "not ready: no model loaded yet");
  if (!IsJson(req.Header("Content-Type"))) {
    return SetError(
        res, 415,
        fmt::format("Content-Type must be application/json, got '{}'", req.Header("Content-Type")));
  }
  const absl::StatusOr<std::vector<LabelUpdate>> labels = ParseLabelsRequest(req.body);
  if (!labels.ok()) return SetError(res, 400, std::string(labels.status().message()));
  int64_t applied = 0;
  {
    std::unique_lock lock(state_mutex_);
    for (const LabelUpdate& l : *labels) {
      applied += state_->SetLabel(l.transaction_id, l.terminal_id, l.tx_datetime, l.tx_fraud);
    }
  }
  res.Set(fmt::format(R"({{"applied": {}, "not_found": {}}})", applied,
                      static_cast<int64_t>(labels->size()) - applied));
}

}  // namespace fraud
