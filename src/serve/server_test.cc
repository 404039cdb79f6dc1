// The REST API in-process on an ephemeral port, over real HTTP (httplib::Client): every
// transaction of a generated data set posted in event-time order gets the score of
// `fraudstream predict`; batches; dry runs leave the state alone; bad input; the admin token;
// probes and /v1/models; /metrics; hot reload while requests run. Over raw sockets: pipelined
// requests, clients that stall or leave mid-request, 413 from the headers alone, Expect:
// 100-continue, a malformed request, Stop with a request in flight.

#include "serve/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/testing.h"
#include "core/time.h"
#include "data/reader.h"
#include "fmt/format.h"
#include "model/testing.h"
#include "model/trainer.h"
#include "nlohmann/json.hpp"
#include "registry/live_model.h"
#include "registry/model_registry.h"
#include "registry/test_store.h"

namespace fraud {
namespace {

using nlohmann::json;

constexpr double kScoreTolerance = 6e-7;  // predict writes 6 decimals

std::string TxJson(const Transaction& tx, bool with_label = true) {
  std::string out = fmt::format(
      R"({{"transaction_id": {}, "tx_datetime": "{}", "customer_id": {}, "terminal_id": {}, )"
      R"("tx_amount": {}.{:02})",
      tx.transaction_id.value(), FormatDateTime(tx.tx_datetime), tx.customer_id.value(),
      tx.terminal_id.value(), tx.amount_cents / 100, tx.amount_cents % 100);
  if (with_label && tx.tx_fraud != kAbsentLabel) {
    out += fmt::format(R"(, "tx_fraud": {})", tx.tx_fraud);
  }
  return out + "}";
}

std::string WithDryRun(std::string object) {
  object.pop_back();
  return object + R"(, "dry_run": true})";
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    // 45 days: windows of 30 days + 7 days of delay, and then some.
    auto set = MakeScoredDataSet(dir_->Path("set"),
                                 {.customers = 100, .terminals = 200, .days = 45, .seed = 11});
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new ScoredDataSet(std::move(*set));
    auto txs = ReadHistory(set_->data_path);
    ASSERT_TRUE(txs.ok()) << txs.status();
    txs_ = new std::vector<Transaction>(std::move(*txs));
    ASSERT_EQ(txs_->size(), set_->scores.size());
  }
  static void TearDownTestSuite() {
    delete txs_;
    delete set_;
    delete dir_;
  }

  // A server on an ephemeral port with the data set's model loaded.
  static std::unique_ptr<ScoringServer> StartWithModel(ServeOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 8;
    auto server = ScoringServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    auto live = LiveModel::FromDirectory(set_->model.dir);
    EXPECT_TRUE(live.ok()) << live.status();
    EXPECT_TRUE((*server)->Load(std::move(*live), {}).ok());
    return std::move(*server);
  }

  // A keep-alive client without Nagle's delay (its headers and body are separate writes).
  static httplib::Client Connect(int port) {
    httplib::Client client("127.0.0.1", port);
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);
    return client;
  }

  static httplib::Result Post(httplib::Client& client, const std::string& path,
                              const std::string& body,
                              const std::string& content_type = "application/json") {
    return client.Post(path.c_str(), body, content_type.c_str());
  }

  // The response as JSON (a test failure if it is not).
  static json Parse(const httplib::Result& result) {
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    if (!result) return json();
    json body = json::parse(result->body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << result->body;
    return body;
  }

  // A JSON error answer with `status`, its message containing `expected`.
  static void ExpectError(const httplib::Result& result, int status, const std::string& expected) {
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, status) << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    const json body = Parse(result);
    ASSERT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string())
        << result->body;
    EXPECT_NE(body["error"].get<std::string>().find(expected), std::string::npos)
        << "error '" << body["error"].get<std::string>() << "' does not contain '" << expected
        << "'";
  }

  // Checks a score against predict's, counting mismatches (the first few reported).
  static void CheckScore(const json& prediction, size_t* wrong) {
    const int64_t id = prediction["transaction_id"].get<int64_t>();
    const double expected = set_->scores.at(id);
    const double score = prediction["score"].get<double>();
    if (std::abs(score - expected) > kScoreTolerance && ++*wrong <= 5) {
      ADD_FAILURE() << "transaction " << id << ": score " << score << ", predict " << expected;
    }
    EXPECT_EQ(prediction["is_fraud"].get<bool>(), score >= set_->model.threshold) << id;
  }

  // A SQLite registry holding "fraud" versions 1 and 2 (these model directories), with
  // fraud@Production -> 1.
  struct TestRegistry {
    std::unique_ptr<TestStore> test_store;
    std::unique_ptr<Store> store;
    std::unique_ptr<ModelRegistry> registry;
  };
  static TestRegistry MakeRegistry(const std::string& version_1, const std::string& version_2) {
    TestRegistry r;
    auto test_store = TestStore::Create("sqlite");
    EXPECT_TRUE(test_store.ok()) << test_store.status();
    if (!test_store.ok()) return r;
    r.test_store = std::move(*test_store);
    auto store = r.test_store->Open();
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return r;
    r.store = std::move(*store);
    r.registry = std::make_unique<ModelRegistry>(*r.store);
    EXPECT_TRUE(r.registry->CreateVersion("fraud", {.path = version_1}).ok());
    EXPECT_TRUE(r.registry->CreateVersion("fraud", {.path = version_2}).ok());
    EXPECT_TRUE(r.registry->SetAlias("fraud", "Production", 1).ok());
    return r;
  }
  // A LiveModel following fraud@Production on a connection of its own (null on failure).
  static std::shared_ptr<LiveModel> FollowProduction(const TestRegistry& r) {
    auto store = r.test_store->Open();
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return nullptr;
    auto live =
        LiveModel::FromRegistry(*std::move(store), "fraud@Production", {.refresh_interval_ms = 0});
    EXPECT_TRUE(live.ok()) << live.status();
    return live.ok() ? std::shared_ptr<LiveModel>(std::move(*live)) : nullptr;
  }

  static ScopedTempDir* dir_;
  static ScoredDataSet* set_;
  static std::vector<Transaction>* txs_;
};

ScopedTempDir* ServeTest::dir_ = nullptr;
ScoredDataSet* ServeTest::set_ = nullptr;
std::vector<Transaction>* ServeTest::txs_ = nullptr;

// (a) One request per transaction, in event-time order: predict's scores. Every 50th is first
// posted as a dry run, which must give the same score and leave the state alone (or the real
// request and everything after it would see one transaction too many).
TEST_F(ServeTest, ScoresEveryTransactionAsPredict) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  size_t wrong = 0, dry_runs = 0;
  for (size_t i = 0; i < txs_->size(); ++i) {
    const std::string body = TxJson((*txs_)[i]);
    double dry_score = -1;
    if (i % 50 == 0) {
      const json dry = Parse(Post(client, "/v1/predict", WithDryRun(body)));
      ASSERT_TRUE(dry.is_object() && dry.contains("score")) << dry.dump();
      EXPECT_EQ(dry["dry_run"], true);
      dry_score = dry["score"].get<double>();
      ++dry_runs;
    }
    const json got = Parse(Post(client, "/v1/predict", body));
    ASSERT_TRUE(got.is_object() && got.contains("score")) << got.dump();
    CheckScore(got, &wrong);
    if (dry_score >= 0) {
      EXPECT_EQ(dry_score, got["score"].get<double>()) << i;
    }
    if (i == 0) {
      EXPECT_EQ(got["model"], set_->model.dir);
      EXPECT_FALSE(got["model_version"].get<std::string>().empty());
      EXPECT_NEAR(got["threshold"].get<double>(), set_->model.threshold, 1e-6);
      EXPECT_FALSE(got.contains("dry_run"));
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(dry_runs, 10u);
}

// (b) The same in batches of 64 (each batch's transactions see the earlier ones of the batch);
// a dry-run batch changes nothing; ?explain=true names the features and the top contributions,
// which add up to the score's log-odds.
TEST_F(ServeTest, ScoresBatchesAsPredict) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  size_t wrong = 0, scored = 0;
  for (size_t begin = 0; begin < txs_->size(); begin += 64) {
    const size_t end = std::min(txs_->size(), begin + 64);
    std::string items;
    for (size_t i = begin; i < end; ++i) items += (i > begin ? ", " : "") + TxJson((*txs_)[i]);
    const std::string batch = "{\"transactions\": [" + items + "]";
    double dry_first = -1;
    if (begin % 640 == 0) {  // a dry run first: nothing recorded
      const json dry =
          Parse(Post(client, "/v1/predict?explain=true", batch + ", \"dry_run\": true}"));
      ASSERT_TRUE(dry.contains("predictions")) << dry.dump();
      ASSERT_EQ(dry["predictions"].size(), end - begin);
      const json& first = dry["predictions"][0];
      ASSERT_TRUE(first.contains("features") && first.contains("contributions")) << first.dump();
      EXPECT_EQ(first["features"].size(), set_->model.features.names.size());
      EXPECT_EQ(first["contributions"]["top"].size(), 5u);
      dry_first = first["score"].get<double>();
    }
    const json got = Parse(Post(client, "/v1/predict", batch + "}"));
    ASSERT_TRUE(got.contains("predictions")) << got.dump();
    ASSERT_EQ(got["predictions"].size(), end - begin);
    EXPECT_EQ(got["model"], set_->model.dir);
    // The first transaction of the dry-run batch saw the state the real one sees.
    if (dry_first >= 0) {
      EXPECT_EQ(dry_first, got["predictions"][0]["score"].get<double>());
    }
    for (size_t i = begin; i < end; ++i) {
      const json& p = got["predictions"][i - begin];
      EXPECT_EQ(p["transaction_id"].get<int64_t>(), (*txs_)[i].transaction_id.value());
      CheckScore(p, &wrong);
      ++scored;
    }
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(scored, txs_->size());
}

// Explanations: the feature values are those the score was made from, and bias + the
// contributions of every feature give the score's log-odds.
TEST_F(ServeTest, ExplainsWithSaabasContributions) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  for (size_t i = 0; i < 300; ++i) {
    const bool explain = i % 37 == 0;
    const json got = Parse(
        Post(client, explain ? "/v1/predict?explain=true" : "/v1/predict", TxJson((*txs_)[i])));
    ASSERT_TRUE(got.contains("score")) << got.dump();
    if (!explain) continue;
    const double score = got["score"].get<double>();
    ASSERT_EQ(got["features"].size(), set_->model.features.names.size());
    EXPECT_NEAR(got["features"]["TX_AMOUNT"].get<double>(), (*txs_)[i].amount(), 1e-4);
    const json& contributions = got["contributions"];
    EXPECT_EQ(contributions["method"], "saabas");
    const json& top = contributions["top"];
    ASSERT_EQ(top.size(), 5u);
    for (size_t k = 1; k < top.size(); ++k) {
      EXPECT_GE(std::abs(top[k - 1]["contribution"].get<double>()),
                std::abs(top[k]["contribution"].get<double>()));
    }
    // The log-odds from the top five plus the bias are at most the rest away from the score's;
    // a model whose top features explained nothing would fail this for some transaction.
    double margin = contributions["bias"].get<double>();
    for (const json& c : top) margin += c["contribution"].get<double>();
    const double logit = std::log(score / (1 - score));
    EXPECT_LT(std::abs(margin - logit), 0.5 * std::abs(logit) + 1.0) << got.dump();
  }
}

// (c) Bad input: the right status and a JSON error naming the problem; the server lives on.
TEST_F(ServeTest, RejectsBadInputWithJsonErrors) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  const std::string good = TxJson((*txs_)[0]);
  struct Case {
    std::string body;
    std::string expected;
  };
  const std::vector<Case> bad_requests = {
      {R"({"transaction_id": 1, "tx_datetime": )", "malformed JSON"},
      {"", "empty body"},
      {"[1, 2]", "expected a JSON object"},
      {R"({"transaction_id": 1, "tx_datetime": "2018-04-01 00:00:31", "terminal_id": 3, )"
       R"("tx_amount": 5.5})",
       "customer_id: missing"},
      {R"({"transaction_id": 1, "tx_datetime": "2018-04-01 00:00:31", "customer_id": 2, )"
       R"("terminal_id": true, "tx_amount": 5.5})",
       "terminal_id: expected an integer, got a boolean"},
      {R"({"transaction_id": 1, "tx_datetime": 20180401, "customer_id": 2, "terminal_id": 3, )"
       R"("tx_amount": 5.5})",
       "tx_datetime: expected a string"},
      {R"({"transaction_id": 1, "tx_datetime": "2018-04-01 00:00:31", "customer_id": 2, )"
       R"("terminal_id": 3, "tx_amount": "lots"})",
       "tx_amount is not valid"},
      {R"({"transaction_id": 1, "tx_datetime": "2018-04-01 00:00:31", "customer_id": 2, )"
       R"("terminal_id": 3, "tx_amount": -5})",
       "tx_amount must be > 0"},
      {R"({"transaction_id": 1, "tx_datetime": "yesterday", "customer_id": 2, )"
       R"("terminal_id": 3, "tx_amount": 5})",
       "tx_datetime is not valid"},
      {R"({"transaction_id": 1, "tx_datetime": "2018-04-01 00:00:31", "customer_id": -4, )"
       R"("terminal_id": 3, "tx_amount": 5})",
       "customer_id is not valid"},
      {R"({"transactions": {"transaction_id": 1}})", "transactions: expected an array"},
      {R"({"transactions": []})", "transactions: empty"},
      {"{\"transactions\": [" + good + ", 7]}", "transactions[1]: expected a transaction object"},
      {"{\"transactions\": [" + good + R"(, {"transaction_id": 9}]})",
       "transactions[1].tx_datetime: missing"},
      {good.substr(0, good.size() - 1) + R"(, "dry_run": "yes"})", "dry_run: expected true"},
  };
  for (const Case& c : bad_requests) {
    SCOPED_TRACE(c.body);
    ExpectError(Post(client, "/v1/predict", c.body), 400, c.expected);
  }
  ExpectError(Post(client, "/v1/predict?explain=maybe", good), 400, "explain: expected");
  ExpectError(Post(client, "/v1/predict", good, "text/plain"), 415,
              "Content-Type must be application/json");
  ExpectError(Post(client, "/v1/predict", good, "application/x-www-form-urlencoded"), 415,
              "application/json");
  // Over 1 MiB: 413 before the handler reads it.
  std::string huge = "{\"transactions\": [";
  while (huge.size() <= (size_t{1} << 20)) huge += good + ", ";
  huge += good + "]}";
  ExpectError(Post(client, "/v1/predict", huge), 413, "request body over 1048576 bytes");
  // The same without a Content-Length (chunked): refused once 1 MiB has been read.
  httplib::Client chunked = Connect(server->port());
  ExpectError(chunked.Post(
                  "/v1/predict",
                  [&huge](size_t offset, httplib::DataSink& sink) {
                    if (offset >= huge.size()) {
                      sink.done();
                      return true;
                    }
                    return sink.write(huge.data() + offset,
                                      std::min<size_t>(65536, huge.size() - offset));
                  },
                  "application/json"),
              413, "request body over 1048576 bytes");
  ExpectError(client.Get("/v1/nothing"), 404, "no route GET /v1/nothing");
  ExpectError(client.Get("/v1/predict"), 404, "no route GET /v1/predict");

  // Still serving.
  httplib::Client fresh = Connect(server->port());
  const auto health = fresh.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const json ok = Parse(Post(fresh, "/v1/predict", good));
  EXPECT_TRUE(ok.contains("score")) << ok.dump();
  // Content-Type with a charset is JSON too.
  EXPECT_EQ(Post(fresh, "/v1/predict", WithDryRun(good), "application/json; charset=utf-8")->status,
            200);
}

// (d) Admin routes: 403 without a configured token, 401 without the right one.
TEST_F(ServeTest, ReloadNeedsTheToken) {
  {
    auto server = StartWithModel();
    ASSERT_NE(server, nullptr);
    httplib::Client client = Connect(server->port());
    ExpectError(client.Post("/v1/reload"), 403, "--token-file");
  }
  ServeOptions options;
  options.token = "s3cret-token";
  auto server = StartWithModel(options);
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  ExpectError(client.Post("/v1/reload"), 401, "missing Authorization");
  ExpectError(
      client.Post("/v1/reload", {{"Authorization", "Bearer wrong"}}, "", "application/json"), 401,
      "wrong token");
  ExpectError(client.Post("/v1/reload", {{"Authorization", "Bearer s3cret-tokenX"}}, "",
                          "application/json"),
              401, "wrong token");
  ExpectError(
      client.Post("/v1/reload", {{"Authorization", "s3cret-token"}}, "", "application/json"), 401,
      "wrong token");
  const auto ok =
      client.Post("/v1/reload", {{"Authorization", "Bearer s3cret-token"}}, "", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  const json body = Parse(ok);
  EXPECT_EQ(body["reloaded"], false);  // a directory never moves
  EXPECT_EQ(body["model"], set_->model.dir);
}

// POST /v1/labels (admin): a label arriving after its transaction was scored reaches the
// terminal windows once the delay has passed, as the stream's transaction-labels do.
TEST_F(ServeTest, LabelsArrivingLaterReachTheTerminalWindows) {
  ServeOptions options;
  options.token = "t";
  auto server = StartWithModel(options);
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  // A terminal and customers of their own, far from the data set's ids.
  Transaction scored = (*txs_)[0];
  scored.transaction_id = TransactionId(900'000'001);
  scored.terminal_id = TerminalId(900'001);
  scored.customer_id = CustomerId(900'002);
  scored.tx_fraud = kAbsentLabel;
  ASSERT_EQ(Post(client, "/v1/predict", TxJson(scored))->status, 200);
  Transaction later = scored;  // 8 days on: the first one is in the 7-day window after the delay
  later.transaction_id = TransactionId(900'000'002);
  later.customer_id = CustomerId(900'003);
  later.tx_datetime += 8 * kSecondsPerDay;
  auto terminal_risk = [&] {
    const json got = Parse(Post(client, "/v1/predict?explain=true", WithDryRun(TxJson(later))));
    EXPECT_EQ(got["features"]["TERMINAL_ID_NB_TX_7DAY_WINDOW"], 1) << got.dump();
    return got["features"]["TERMINAL_ID_RISK_7DAY_WINDOW"].get<double>();
  };
  EXPECT_EQ(terminal_risk(), 0);

  const std::string labels = fmt::format(
      R"({{"labels": [{{"transaction_id": 900000001, "terminal_id": 900001, )"
      R"("tx_datetime": "{}", "tx_fraud": 1}}, {{"transaction_id": 5, "terminal_id": 900001, )"
      R"("tx_datetime": "{}", "tx_fraud": 1}}]}})",
      FormatDateTime(scored.tx_datetime), FormatDateTime(scored.tx_datetime));
  ExpectError(Post(client, "/v1/labels", labels), 401, "missing Authorization");
  EXPECT_EQ(terminal_risk(), 0);
  const httplib::Headers token = {{"Authorization", "Bearer t"}};
  ExpectError(client.Post("/v1/labels", token, R"({"labels": [{"transaction_id": 1}]})",
                          "application/json"),
              400, "labels[0].terminal_id: missing");
  ExpectError(client.Post("/v1/labels", token, R"({"labels": 3})", "application/json"), 400,
              "labels: missing, or not an array");
  const json applied = Parse(client.Post("/v1/labels", token, labels, "application/json"));
  EXPECT_EQ(applied["applied"], 1) << applied.dump();
  EXPECT_EQ(applied["not_found"], 1);  // transaction 5 was never seen at that terminal
  EXPECT_EQ(terminal_risk(), 1);
}

// (e) Probes: alive at once, ready once a model is loaded; /v1/models describes it.
TEST_F(ServeTest, ProbesAndModels) {
  auto started = ScoringServer::Start({.host = "127.0.0.1", .port = 0, .threads = 4});
  ASSERT_TRUE(started.ok()) << started.status();
  ScoringServer& server = **started;
  httplib::Client client = Connect(server.port());
  EXPECT_EQ(client.Get("/healthz")->status, 200);
  ExpectError(client.Get("/readyz"), 503, "no model loaded");
  ExpectError(Post(client, "/v1/predict", TxJson((*txs_)[0])), 503, "no model loaded");
  ExpectError(client.Get("/v1/models"), 503, "no model loaded");

  auto live = LiveModel::FromDirectory(set_->model.dir);
  ASSERT_TRUE(live.ok()) << live.status();
  // Warm-up history: the first half of the file; the second half is then scored as predict.
  const size_t half = txs_->size() / 2;
  ASSERT_TRUE(
      server.Load(std::move(*live), std::vector<Transaction>(txs_->begin(), txs_->begin() + half))
          .ok());
  const auto ready = client.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(Parse(ready)["status"], "ready");

  const json models = Parse(client.Get("/v1/models"));
  ASSERT_EQ(models["models"].size(), 1u) << models.dump();
  const json& m = models["models"][0];
  EXPECT_EQ(m["name"], set_->model.dir);
  EXPECT_FALSE(m["version"].get<std::string>().empty());
  EXPECT_NEAR(m["threshold"].get<double>(), set_->model.threshold, 1e-9);
  EXPECT_EQ(m["features"]["set"], set_->model.features.name);
  EXPECT_EQ(m["features"]["names"].get<std::vector<std::string>>(), set_->model.features.names);
  EXPECT_EQ(m["follows"], false);

  size_t wrong = 0;
  for (size_t i = half; i < txs_->size(); ++i) {
    CheckScore(Parse(Post(client, "/v1/predict", TxJson((*txs_)[i]))), &wrong);
  }
  EXPECT_EQ(wrong, 0u);
}

// The value of the series `name{labels}` in Prometheus text, or -1 when absent.
double SeriesValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t pos = 0;
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + prefix.size()));
    pos += prefix.size();
  }
  return -1;
}

// (f) /metrics counts the requests by route and code, the predictions by outcome, the model.
TEST_F(ServeTest, MetricsCountRequests) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  httplib::Client client = Connect(server->port());
  int frauds = 0;
  for (size_t i = 0; i < 40; ++i) {
    const json got = Parse(Post(client, "/v1/predict", TxJson((*txs_)[i])));
    frauds += got["is_fraud"].get<bool>();
  }
  for (int i = 0; i < 3; ++i) Post(client, "/v1/predict", "{");
  client.Get("/healthz");
  client.Get("/nowhere/1");
  client.Get("/nowhere/2");
  const auto scraped = client.Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  const std::string& text = scraped->body;
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_requests_total{route="/v1/predict",code="200"})"), 40)
      << text;
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_requests_total{route="/v1/predict",code="400"})"), 3);
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_requests_total{route="/healthz",code="200"})"), 1);
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_requests_total{route="other",code="404"})"), 2);
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_request_duration_seconds_count{route="/v1/predict"})"),
            43);
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_predictions_total{outcome="fraud"})"), frauds);
  EXPECT_EQ(SeriesValue(text, R"(fraudstream_predictions_total{outcome="legit"})"), 40 - frauds);
  const json models = Parse(client.Get("/v1/models"));
  EXPECT_EQ(SeriesValue(text, fmt::format(R"(fraudstream_model_info{{name="{}",version="{}"}})",
                                          set_->model.dir,
                                          models["models"][0]["version"].get<std::string>())),
            1);
  EXPECT_GT(SeriesValue(text, "process_resident_memory_bytes"), 0);
  // No URL in a label: the unknown paths are "other".
  EXPECT_EQ(text.find("/nowhere"), std::string::npos);
}

// A client on a plain socket, for what an HTTP library will not send: several requests in one
// write, half a request, a Content-Length it never honours.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    const timeval timeout{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  void Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  struct Response {
    int status = 0;  // 0: the connection closed (or timed out) first
    std::string head;
    std::string body;
  };
  // The next response (Content-Length bodies only, as the server sends; none to a HEAD).
  Response Read(bool head_request = false) {
    Response r;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    r.head = buffer_.substr(0, end + 4);
    buffer_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    const size_t at = r.head.find("Content-Length: ");
    const size_t length =
        at == std::string::npos || head_request ? 0 : std::stoul(r.head.substr(at + 16));
    while (buffer_.size() < length) {
      if (!Fill()) return Response();
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }
  // True when the server closes the connection (EOF) before anything else arrives.
  bool ClosedByServer() { return !Fill() && eof_; }

 private:
  bool Fill() {
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    eof_ = n == 0;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

std::string RawPost(const std::string& path, const std::string& body,
                    const std::string& extra_headers = "") {
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "{}\r\n{}\r\n{}",
      path, body.size(), extra_headers, body);
}

// Pipelining: requests sent in one write are answered in order on the one connection; a
// request with Connection: close is answered and then the server closes.
TEST_F(ServeTest, AnswersPipelinedRequestsInOrder) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.connected());
  std::string burst;
  for (size_t i = 0; i < 20; ++i) burst += RawPost("/v1/predict", WithDryRun(TxJson((*txs_)[i])));
  burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  burst += "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  burst += RawPost("/v1/predict", TxJson((*txs_)[0]), "Connection: close\r\n");
  burst += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";  // after the close: never answered
  client.Send(burst);
  for (size_t i = 0; i < 20; ++i) {
    const RawClient::Response r = client.Read();
    ASSERT_EQ(r.status, 200) << i;
    const json body = json::parse(r.body);
    EXPECT_EQ(body["transaction_id"].get<int64_t>(), (*txs_)[i].transaction_id.value());
    EXPECT_EQ(r.head.find("Connection: close"), std::string::npos);
  }
  EXPECT_EQ(json::parse(client.Read().body)["status"], "ok");
  EXPECT_EQ(client.Read().status, 404);
  const RawClient::Response last = client.Read();
  EXPECT_EQ(last.status, 200);
  EXPECT_NE(last.head.find("Connection: close"), std::string::npos) << last.head;
  EXPECT_TRUE(client.ClosedByServer());
}

// A body over the limit is refused from its Content-Length alone: 413 without the server
// waiting for (or reading) the body, then the connection closes.
TEST_F(ServeTest, RefusesAHugeContentLengthBeforeTheBody) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  client.Send(
      "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 100000000000\r\n\r\n{\"transaction_id\": ");
  const RawClient::Response r = client.Read();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["error"], "request body over 1048576 bytes");
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos) << r.head;
  client.Close();  // while the server drains: it lets go
  // With Expect: 100-continue the client learns it before sending anything.
  RawClient expecting(server->port());
  expecting.Send(
      "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(expecting.Read().status, 413);
  EXPECT_TRUE(expecting.ClosedByServer());
  // A body within the limit gets its 100 Continue, then the answer.
  RawClient continuing(server->port());
  const std::string body = WithDryRun(TxJson((*txs_)[0]));
  continuing.Send(
      fmt::format("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
                  body.size()));
  EXPECT_EQ(continuing.Read().status, 100);
  continuing.Send(body);
  const RawClient::Response ok = continuing.Read();
  EXPECT_EQ(ok.status, 200) << ok.body;
  const std::string metrics = Connect(server->port()).Get("/metrics")->body;
  EXPECT_EQ(SeriesValue(metrics, R"(fraudstream_requests_total{route="/v1/predict",code="413"})"),
            2);
}

// Malformed requests: a JSON 400, then the connection closes; the server serves on.
TEST_F(ServeTest, AnswersMalformedRequestsWith400) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  for (const std::string& request :
       {std::string("NOT HTTP AT ALL\r\n\r\n"),
        std::string("POST /v1/predict HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        std::string("POST /v1/predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    SCOPED_TRACE(request);
    RawClient client(server->port());
    client.Send(request);
    const RawClient::Response r = client.Read();
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("bad HTTP request"),
              std::string::npos)
        << r.body;
    EXPECT_TRUE(client.ClosedByServer());
  }
  httplib::Client client = Connect(server->port());
  EXPECT_EQ(client.Get("/healthz")->status, 200);
}

// Clients that stall: idle between requests, or half-way through one, they are closed after
// the keep-alive timeout; one that leaves mid-body costs nothing (no answer, no count).
TEST_F(ServeTest, ClosesStalledAndLeavingClients) {
  ServeOptions options;
  options.keep_alive_timeout_s = 1;
  auto server = StartWithModel(options);
  ASSERT_NE(server, nullptr);
  const auto start = std::chrono::steady_clock::now();
  RawClient idle(server->port());
  RawClient after_one(server->port());
  after_one.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(after_one.Read().status, 200);
  RawClient half_header(server->port());
  half_header.Send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Le");
  RawClient half_body(server->port());
  half_body.Send(RawPost("/v1/predict", TxJson((*txs_)[0])).substr(0, 120));
  {
    RawClient leaving(server->port());
    leaving.Send(RawPost("/v1/predict", TxJson((*txs_)[0])).substr(0, 130));
  }
  for (RawClient* client : {&idle, &after_one, &half_header, &half_body}) {
    EXPECT_TRUE(client->ClosedByServer());
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(waited, 0.9);
  EXPECT_LT(waited, 3.0);
  const std::string metrics = Connect(server->port()).Get("/metrics")->body;
  EXPECT_EQ(
      SeriesValue(metrics, R"(fraudstream_request_duration_seconds_count{route="/v1/predict"})"),
      0);
}

// Stop with a request half sent: the server stops accepting, closes the idle connections at
// once, waits for the rest of the body, answers it (Connection: close), then returns.
TEST_F(ServeTest, StopFinishesTheRequestInFlight) {
  ServeOptions options;
  options.keep_alive_timeout_s = 5;
  auto server = StartWithModel(options);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  RawClient idle(port);
  idle.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(idle.Read().status, 200);
  RawClient busy(port);
  const std::string request = RawPost("/v1/predict", TxJson((*txs_)[0]));
  busy.Send(request.substr(0, request.size() - 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the headers have been read
  const auto start = std::chrono::steady_clock::now();
  std::future<void> stopped = std::async(std::launch::async, [&] { server->Stop(); });
  EXPECT_TRUE(idle.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  busy.Send(request.substr(request.size() - 10));
  const RawClient::Response r = busy.Read();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(stopped.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_FALSE(RawClient(port).connected());
}

// HTTP/1.0: closed after the answer unless the client asks for keep-alive.
TEST_F(ServeTest, SpeaksHttp10) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  RawClient once(server->port());
  once.Send("GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(once.Read().status, 200);
  EXPECT_TRUE(once.ClosedByServer());
  RawClient kept(server->port());
  kept.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const RawClient::Response first = kept.Read();
  EXPECT_NE(first.head.find("Connection: keep-alive"), std::string::npos) << first.head;
  kept.Send("HEAD /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  const RawClient::Response head = kept.Read(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.head.find("Content-Length: "), std::string::npos);
  kept.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(json::parse(kept.Read().body)["status"], "ok");  // nothing of the HEAD's body came
}

// (g) Hot reload: the alias moves; POST /v1/reload (and then the periodic refresh) serve the
// new version while four clients keep posting; none of their requests fails.
TEST_F(ServeTest, FollowsTheAliasWithoutFailingRequests) {
  const TestRegistry r = MakeRegistry(set_->model.dir, set_->model.dir);
  ASSERT_NE(r.registry, nullptr);
  ModelRegistry& registry = *r.registry;
  std::shared_ptr<LiveModel> live = FollowProduction(r);
  ASSERT_NE(live, nullptr);
  auto started = ScoringServer::Start({.host = "127.0.0.1",
                                       .port = 0,
                                       .threads = 8,
                                       .token = "t0k",
                                       .refresh_ms = 0,
                                       .keep_alive_timeout_s = 1});
  ASSERT_TRUE(started.ok()) << started.status();
  ScoringServer& server = **started;
  ASSERT_TRUE(server.Load(live, {}).ok());

  std::atomic<bool> stop = false;
  std::atomic<int> failures = 0, requests = 0;
  std::mutex seen_mutex;
  std::map<std::string, int> versions_seen;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client client = Connect(server.port());
      for (size_t i = t; !stop.load(); i = (i + 4) % txs_->size()) {
        const auto r =
            client.Post("/v1/predict", WithDryRun(TxJson((*txs_)[i])), "application/json");
        ++requests;
        if (!r || r->status != 200) {
          ++failures;
          continue;
        }
        const json body = json::parse(r->body, nullptr, false);
        std::lock_guard lock(seen_mutex);
        ++versions_seen[body.value("model_version", "?")];
      }
    });
  }
  httplib::Client admin = Connect(server.port());
  const httplib::Headers token = {{"Authorization", "Bearer t0k"}};
  auto version_now = [&] {
    return Parse(Post(admin, "/v1/predict", WithDryRun(TxJson((*txs_)[0]))))["model_version"];
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(version_now(), "1");
  auto reload = admin.Post("/v1/reload", token, "", "application/json");
  ASSERT_TRUE(reload);
  EXPECT_EQ(Parse(reload)["reloaded"], false);

  ASSERT_TRUE(registry.SetAlias("fraud", "Production", 2).ok());
  EXPECT_EQ(version_now(), "1");  // refresh_ms 0: only on request
  reload = admin.Post("/v1/reload", token, "", "application/json");
  ASSERT_TRUE(reload);
  const json reloaded = Parse(reload);
  EXPECT_EQ(reloaded["reloaded"], true) << reloaded.dump();
  EXPECT_EQ(reloaded["model_version"], "2");
  EXPECT_EQ(reloaded["previous_version"], "1");
  EXPECT_EQ(version_now(), "2");
  EXPECT_EQ(Parse(admin.Get("/v1/models"))["models"][0]["version"], "2");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (std::thread& c : clients) c.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(requests.load(), 20);
  EXPECT_GT(versions_seen["1"], 0);
  EXPECT_GT(versions_seen["2"], 0);
  const std::string metrics = admin.Get("/metrics")->body;
  EXPECT_EQ(SeriesValue(metrics, R"(fraudstream_model_info{name="fraud",version="2"})"), 1);
  EXPECT_EQ(SeriesValue(metrics, R"(fraudstream_model_info{name="fraud",version="1"})"), 0);
  server.Stop();

  // The periodic refresh follows the alias back without a request.
  std::shared_ptr<LiveModel> followed = FollowProduction(r);
  ASSERT_NE(followed, nullptr);
  auto periodic = ScoringServer::Start({.host = "127.0.0.1", .port = 0, .refresh_ms = 50});
  ASSERT_TRUE(periodic.ok());
  ASSERT_TRUE((*periodic)->Load(followed, {}).ok());
  httplib::Client client = Connect((*periodic)->port());
  EXPECT_EQ(Parse(Post(client, "/v1/predict", WithDryRun(TxJson((*txs_)[0]))))["model_version"],
            "2");
  ASSERT_TRUE(registry.SetAlias("fraud", "Production", 1).ok());
  std::string version;
  for (int i = 0; i < 100 && version != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    version = Parse(Post(client, "/v1/predict", WithDryRun(TxJson((*txs_)[0]))))["model_version"];
  }
  EXPECT_EQ(version, "1");
}

// A port in use is refused (httplib's default SO_REUSEPORT would share it).
TEST_F(ServeTest, RefusesAPortInUse) {
  auto first = ScoringServer::Start({.host = "127.0.0.1", .port = 0, .threads = 2});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = ScoringServer::Start({.host = "127.0.0.1", .port = (*first)->port(), .threads = 2});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("cannot listen"), std::string::npos);
}

// A version computing other features than the state holds is not served: /v1/reload says 422
// and names the features, the old version goes on scoring.
TEST_F(ServeTest, RefusesAVersionWithOtherFeatures) {
  TrainOptions train;
  train.data_path = set_->data_path;
  train.out_dir = dir_->Path("model-handbook");
  train.feature_set = "handbook-v1";
  train.write_report = false;
  train.threads = 1;
  ASSERT_TRUE(Train(train).ok());
  const TestRegistry r = MakeRegistry(set_->model.dir, train.out_dir);
  ASSERT_NE(r.registry, nullptr);
  std::shared_ptr<LiveModel> live = FollowProduction(r);
  ASSERT_NE(live, nullptr);
  auto server = ScoringServer::Start(
      {.host = "127.0.0.1", .port = 0, .threads = 2, .token = "t", .refresh_ms = 0});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->Load(live, {}).ok());
  httplib::Client client = Connect((*server)->port());

  ASSERT_TRUE(r.registry->SetAlias("fraud", "Production", 2).ok());
  ExpectError(client.Post("/v1/reload", {{"Authorization", "Bearer t"}}, "", "application/json"),
              422, "computes the features handbook-v1");
  const json got = Parse(Post(client, "/v1/predict", WithDryRun(TxJson((*txs_)[0]))));
  EXPECT_EQ(got["model_version"], "1");
  EXPECT_EQ(Parse(client.Get("/v1/models"))["models"][0]["features"]["set"],
            set_->model.features.name);
}

// Stop() closes the listener (idempotently): new connections are refused.
TEST_F(ServeTest, StopsCleanly) {
  auto server = StartWithModel();
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  httplib::Client client = Connect(port);
  EXPECT_EQ(client.Get("/healthz")->status, 200);
  server->Stop();
  server->Stop();  // idempotent
  httplib::Client after = Connect(port);
  after.set_connection_timeout(1);
  EXPECT_FALSE(after.Get("/healthz"));
}

}  // namespace
}  // namespace fraud
