// Tracking and registry against both backends: the same tests, instantiated for SQLite
// (label unit) and PostgreSQL (label postgres; needs $FRAUDSTREAM_TEST_PG).

#include <gtest/gtest.h>

#include <filesystem>

#include "core/file.h"
#include "features/feature_spec.h"
#include "model/artifact.h"
#include "registry/model_registry.h"
#include "registry/schema.h"
#include "registry/test_store.h"
#include "registry/tracking.h"

namespace fraud {
namespace {

class RegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto test_store = TestStore::Create(GetParam());
    ASSERT_TRUE(test_store.ok()) << test_store.status();
    test_store_ = std::move(*test_store);
    auto store = test_store_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    test_store_.reset();
  }

  std::unique_ptr<TestStore> test_store_;
  std::unique_ptr<Store> store_;
};

TEST_P(RegistryTest, MigratesToTheCurrentSchema) {
  auto version = SchemaVersionOf(store_->db());
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, kSchemaVersion);
  // Opening again is a no-op.
  auto again = test_store_->Open();
  ASSERT_TRUE(again.ok()) << again.status();
}

TEST_P(RegistryTest, RefusesADatabaseFromANewerSchemaAndChangesNothing) {
  ASSERT_TRUE(Tracking(*store_).CreateRun("e", "r").ok());
  ASSERT_TRUE(store_->db().Write([](Sql& sql) {
    return sql.Exec("UPDATE schema_version SET version = ?", {int64_t{kSchemaVersion + 5}});
  }).ok());
  store_.reset();
  auto reopened = test_store_->Open();
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("newer"), std::string::npos) << reopened.status();
  auto db = OpenDatabase(test_store_->options().uri);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*SchemaVersionOf(**db), kSchemaVersion + 5);
  auto runs = (*db)->Query("SELECT COUNT(*) FROM runs", {});
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->at(0).Int(0), 1);
}

TEST_P(RegistryTest, RunsKeepParamsMetricsTagsAndStatus) {
  Tracking tracking(*store_);
  auto run = tracking.CreateRun("fraud", "first", {{"team", "risk"}});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->status, "RUNNING");
  EXPECT_EQ(run->experiment_name, "fraud");
  ASSERT_TRUE(tracking.LogParams(run->run_id, {{"eta", "0.05"}, {"rounds", "300"}}).ok());
  // Params are write-once: the same value again is fine, another value is refused.
  EXPECT_TRUE(tracking.LogParams(run->run_id, {{"eta", "0.05"}}).ok());
  EXPECT_EQ(tracking.LogParams(run->run_id, {{"eta", "0.1"}}).code(),
            absl::StatusCode::kInvalidArgument);
  const double exact = 0.1 + 0.2;  // not representable in short decimal form
  ASSERT_TRUE(tracking.LogMetrics(run->run_id, {{"loss", 0.9, 0}, {"loss", 0.5, 1}, {"loss", exact, 2},
                                                {"auc", 0.87, 0, 1234}})
                  .ok());
  ASSERT_TRUE(tracking.SetTags(run->run_id, {{"team", "fraud"}, {"note", "x"}}).ok());
  ASSERT_TRUE(tracking.EndRun(run->run_id, RunStatus::kFinished).ok());

  auto got = tracking.GetRun(run->run_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->info.status, "FINISHED");
  ASSERT_TRUE(got->info.end_time.has_value());
  EXPECT_GE(*got->info.end_time, got->info.start_time);
  EXPECT_EQ(got->params.at("rounds"), "300");
  EXPECT_EQ(got->tags.at("team"), "fraud");
  EXPECT_EQ(got->metrics.at("loss"), exact);  // the latest step, bit for bit
  ASSERT_EQ(got->metric_history.size(), 4u);
  EXPECT_EQ(got->metric_history[0].key, "auc");
  EXPECT_EQ(got->metric_history[0].timestamp, 1234);
  EXPECT_EQ(got->metric_history[1].value, 0.9);
  EXPECT_EQ(got->metric_history[3].step, 2);
  EXPECT_TRUE(got->info.artifact_uri.starts_with("file://" + store_->artifact_root()));

  // A unique prefix finds the run; unknown ids are NotFound.
  auto by_prefix = tracking.GetRun(run->run_id.substr(0, 10));
  ASSERT_TRUE(by_prefix.ok());
  EXPECT_EQ(by_prefix->info.run_id, run->run_id);
  EXPECT_EQ(tracking.GetRun("0123456789abcdef0123456789abcdef").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(tracking.GetRun("not-an-id").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(tracking.LogMetrics("ffffffff", {{"x", 1}}).code(), absl::StatusCode::kNotFound);
}

TEST_P(RegistryTest, ListsRunsNewestFirstPerExperiment) {
  Tracking tracking(*store_);
  ASSERT_TRUE(tracking.CreateRun("a", "a1").ok());
  ASSERT_TRUE(tracking.CreateRun("b", "b1").ok());
  ASSERT_TRUE(tracking.CreateRun("a", "a2").ok());
  auto all = tracking.ListRuns("", 0);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);
  auto a = tracking.ListRuns("a", 0);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_GE((*a)[0].info.start_time, (*a)[1].info.start_time);
  EXPECT_EQ(tracking.ListRuns("a", 1)->size(), 1u);
  EXPECT_EQ(tracking.ListRuns("nope", 0).status().code(), absl::StatusCode::kNotFound);
  auto experiments = tracking.ListExperiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 2u);
  EXPECT_EQ((*experiments)[0].experiment_id, 0);
}

TEST_P(RegistryTest, VersionsAreNumberedAndAliasesPointAtOne) {
  ModelRegistry registry(*store_);
  auto v1 = registry.CreateVersion("fraud", {.path = WriteFakeArtifact(test_store_->dir(), "a")});
  ASSERT_TRUE(v1.ok()) << v1.status();
  auto v2 = registry.CreateVersion("fraud", {.path = WriteFakeArtifact(test_store_->dir(), "b")});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->status, "READY");
  // The registered copy lives under the artifact root and loads.
  EXPECT_TRUE(v2->path.starts_with(store_->artifact_root()));
  EXPECT_TRUE(ModelArtifact::Load(v2->path).ok());

  ASSERT_TRUE(registry.SetAlias("fraud", "Production", 1).ok());
  ASSERT_TRUE(registry.SetAlias("fraud", "Production", 2).ok());
  ASSERT_TRUE(registry.SetAlias("fraud", "Staging", 1).ok());
  auto prod = registry.Resolve("fraud@Production");
  ASSERT_TRUE(prod.ok()) << prod.status();
  EXPECT_EQ(prod->version, 2);
  EXPECT_EQ(prod->aliases, std::vector<std::string>{"Production"});
  EXPECT_EQ(registry.Resolve("models:/fraud/1")->version, 1);
  EXPECT_EQ(registry.Resolve("fraud/latest")->version, 2);

  auto model = registry.GetModel("fraud");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->latest_version, 2);
  EXPECT_EQ(model->aliases.size(), 2u);
  EXPECT_EQ(model->aliases.at("Production"), 2);
  EXPECT_EQ(registry.ListVersions("fraud")->size(), 2u);
  EXPECT_EQ(registry.ListModels()->size(), 1u);

  // Compare-and-set: only from the expected version.
  EXPECT_EQ(registry.SetAlias("fraud", "Production", 1, /*expected=*/1).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(registry.Resolve("fraud@Production")->version, 2);
  EXPECT_TRUE(registry.SetAlias("fraud", "Production", 1, /*expected=*/2).ok());
  EXPECT_TRUE(registry.SetAlias("fraud", "Canary", 2, /*expected=*/0).ok());

  ASSERT_TRUE(registry.DeleteAlias("fraud", "Staging").ok());
  EXPECT_EQ(registry.Resolve("fraud@Staging").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(RegistryTest, UnknownNamesAliasesAndVersionsAreNotFound) {
  ModelRegistry registry(*store_);
  ASSERT_TRUE(registry.CreateVersion("fraud", {.path = WriteFakeArtifact(test_store_->dir(), "a")}).ok());
  EXPECT_EQ(registry.GetModel("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Resolve("nope@Production").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Resolve("fraud@Production").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Resolve("fraud/7").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.SetAlias("fraud", "Production", 7).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.SetAlias("nope", "Production", 1).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.DeleteAlias("fraud", "Production").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Resolve("fraud").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Resolve("fraud/x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.SetAlias("fraud", "12", 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.CreateVersion("bad name", {.path = "x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.CreateVersion("fraud", {.run_id = "ffffffff"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(RegistryTest, ACorruptArtifactIsRefusedAndNothingChanges) {
  ModelRegistry registry(*store_);
  const std::string good = WriteFakeArtifact(test_store_->dir(), "good");
  ASSERT_TRUE(registry.CreateVersion("fraud", {.path = good}).ok());
  const std::string bad = WriteFakeArtifact(test_store_->dir(), "bad");
  ASSERT_TRUE(WriteFile(bad + "/" + kBoosterFile, "{\"tampered\": 1}").ok());
  auto refused = registry.CreateVersion("fraud", {.path = bad});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_EQ(registry.GetModel("fraud")->latest_version, 1);
  // No copy of the refused artifact was left behind.
  size_t copies = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(store_->artifact_root() + "/models/fraud")) {
    (void)entry;
    ++copies;
  }
  EXPECT_EQ(copies, 1u);
  EXPECT_EQ(registry.CreateVersion("other", {.path = bad}).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(registry.GetModel("other").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(RegistryTest, RegistersARunsModelArtifact) {
  Tracking tracking(*store_);
  auto run = tracking.CreateRun(kDefaultExperiment, "train");
  ASSERT_TRUE(run.ok());
  auto copied = tracking.LogArtifactDir(run->run_id, WriteFakeArtifact(test_store_->dir(), "r"), "model");
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_TRUE(std::filesystem::exists(*copied + "/" + kManifestFile));
  // An artifact path is written once.
  EXPECT_EQ(tracking.LogArtifactDir(run->run_id, WriteFakeArtifact(test_store_->dir(), "s"), "model")
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  auto v = ModelRegistry(*store_).CreateVersion("fraud", {.run_id = run->run_id});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->run_id, run->run_id);
  EXPECT_EQ(v->source, "runs:/" + run->run_id + "/model");
  EXPECT_EQ(v->path, *copied);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, RegistryTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, RegistryTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace fraud
