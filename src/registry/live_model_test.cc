// LiveModel against both backends (SQLite: label unit, also under ASan; PostgreSQL: label
// postgres, needs $FRAUDSTREAM_TEST_PG): following an alias, pinned versions, a broken new
// version that must not replace the serving one, and readers racing refreshes.

#include "registry/live_model.h"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "core/file.h"
#include "features/feature_spec.h"
#include "fmt/format.h"
#include "model/artifact.h"
#include "registry/model_registry.h"
#include "registry/test_store.h"

namespace fraud {
namespace {

// A hand-written booster over `num_features` inputs: one tree, TX_AMOUNT (input 0) < 100 goes
// to the leaf `leaf`, else to -leaf. base_score 0.5 is a margin of 0, so a small amount
// scores exactly Sigmoid(leaf).
std::string Booster(size_t num_features, float leaf) {
  return fmt::format(R"({{"learner": {{
      "objective": {{"name": "binary:logistic"}},
      "learner_model_param": {{"base_score": "5E-1", "num_class": "0", "num_feature": "{}"}},
      "gradient_booster": {{"name": "gbtree", "model": {{
        "gbtree_model_param": {{"num_trees": "1", "num_parallel_tree": "1"}},
        "tree_info": [0],
        "trees": [{{
          "tree_param": {{"num_nodes": "3"}},
          "left_children": [1, -1, -1], "right_children": [2, -1, -1],
          "split_indices": [0, 0, 0], "split_conditions": [100.0, {}, {}],
          "default_left": [1, 0, 0], "split_type": [0, 0, 0]
        }}]}}}}}}}})",
                     num_features, leaf, -leaf);
}

// The leaf (and so the score) of the model registered as version v in these tests.
float LeafOf(int64_t version) { return 0.25f * static_cast<float>(version); }

// A row that takes the small-amount branch: TX_AMOUNT = 10, the rest missing.
std::vector<float> SmallAmountRow(size_t num_features) {
  std::vector<float> row(num_features, std::numeric_limits<float>::quiet_NaN());
  row[0] = 10.0f;
  return row;
}

float ScoreOf(const LoadedModel& model) {
  return model.forest.Predict(SmallAmountRow(model.forest.num_features()).data());
}

// An artifact with `spec`'s features and a booster over `booster_features` inputs (the spec's
// count unless given).
std::string WriteModel(const ScopedTempDir& dir, const std::string& tag, float leaf,
                       std::string_view spec = kHandbookV1, size_t booster_features = 0) {
  const FeatureSpec& features = *FindFeatureSpec(spec);
  nlohmann::ordered_json manifest;
  manifest["model"] = {{"kind", "gbdt"}};
  manifest["threshold"] = {{"value", 0.5}};
  const std::string path = dir.Path("model-" + tag);
  const absl::Status written =
      WriteArtifact(path, Booster(booster_features ? booster_features : features.size(), leaf),
                    manifest, features);
  return written.ok() ? path : "";
}

class LiveModelTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto test_store = TestStore::Create(GetParam());
    ASSERT_TRUE(test_store.ok()) << test_store.status();
    test_store_ = std::move(*test_store);
    auto store = test_store_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    registry_ = std::make_unique<ModelRegistry>(*store_);
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    test_store_.reset();
  }

  // Registers the next version of "fraud", scoring Sigmoid(LeafOf(version)).
  ModelVersion Register(std::string_view spec = kHandbookV1, size_t booster_features = 0) {
    const int64_t next = registry_->GetModel("fraud").ok()
                             ? registry_->GetModel("fraud")->latest_version + 1
                             : 1;
    const std::string path = WriteModel(test_store_->dir(), std::to_string(next), LeafOf(next),
                                        spec, booster_features);
    EXPECT_FALSE(path.empty());
    auto version = registry_->CreateVersion("fraud", {.path = path});
    if (!version.ok()) {
      ADD_FAILURE() << version.status();
      return {};
    }
    EXPECT_EQ(version->version, next);
    return *version;
  }

  absl::StatusOr<std::unique_ptr<LiveModel>> Live(const std::string& reference,
                                                  LiveModelOptions options = {}) {
    auto store = test_store_->Open();
    if (!store.ok()) return store.status();
    return LiveModel::FromRegistry(*std::move(store), reference, options);
  }

  void SetAlias(int64_t version) {
    const absl::Status set = registry_->SetAlias("fraud", "Production", version);
    EXPECT_TRUE(set.ok()) << set;
  }

  std::unique_ptr<TestStore> test_store_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ModelRegistry> registry_;
};

TEST_P(LiveModelTest, ResolvesByAliasVersionAndLatest) {
  Register();
  Register();
  Register();
  SetAlias(2);
  const struct {
    std::string reference;
    int64_t version;
    bool follows;
  } cases[] = {{"fraud@Production", 2, true},       {"models:/fraud@Production", 2, true},
               {"fraud/1", 1, false},               {"models:/fraud/3", 3, false},
               {"fraud/latest", 3, true},           {"models:/fraud/latest", 3, true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reference);
    auto live = Live(c.reference);
    ASSERT_TRUE(live.ok()) << live.status();
    const std::shared_ptr<const LoadedModel> model = (*live)->Current();
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->name, "fraud");
    EXPECT_EQ(model->version, std::to_string(c.version));
    EXPECT_EQ(model->registry_version, c.version);
    EXPECT_EQ(ScoreOf(*model), Sigmoid(LeafOf(c.version)));
    EXPECT_EQ(model->artifact.features.name, kHandbookV1);
    EXPECT_EQ((*live)->follows(), c.follows);
    EXPECT_EQ((*live)->reference(), c.reference);
    // Nothing moved.
    auto refreshed = (*live)->Refresh();
    ASSERT_TRUE(refreshed.ok()) << refreshed.status();
    EXPECT_FALSE(*refreshed);
  }
}

TEST_P(LiveModelTest, FollowsTheAliasWhileOlderVersionsStayUsable) {
  Register();
  Register();
  SetAlias(1);
  auto live = Live("fraud@Production");
  ASSERT_TRUE(live.ok()) << live.status();
  const std::shared_ptr<const LoadedModel> first = (*live)->Current();
  ASSERT_EQ(first->version, "1");

  SetAlias(2);
  auto moved = (*live)->Refresh();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_TRUE(*moved);
  const std::shared_ptr<const LoadedModel> second = (*live)->Current();
  EXPECT_EQ(second->version, "2");
  EXPECT_EQ(ScoreOf(*second), Sigmoid(LeafOf(2)));
  // The batch that took version 1 before the swap finishes with version 1.
  EXPECT_EQ(first->version, "1");
  EXPECT_EQ(ScoreOf(*first), Sigmoid(LeafOf(1)));
  EXPECT_NE(ScoreOf(*first), ScoreOf(*second));

  auto again = (*live)->Refresh();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  EXPECT_EQ((*live)->Current(), second);  // the same object: nothing was reloaded

  // Back to an older version is a move too.
  SetAlias(1);
  auto back = (*live)->Refresh();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back);
  EXPECT_EQ((*live)->Current()->version, "1");
}

TEST_P(LiveModelTest, PinnedVersionsNeverMoveAndLatestFollowsRegistrations) {
  Register();
  SetAlias(1);
  auto pinned = Live("fraud/1");
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  auto latest = Live("fraud/latest");
  ASSERT_TRUE(latest.ok()) << latest.status();

  Register();
  SetAlias(2);
  auto pinned_moved = (*pinned)->Refresh();
  ASSERT_TRUE(pinned_moved.ok()) << pinned_moved.status();
  EXPECT_FALSE(*pinned_moved);
  EXPECT_EQ((*pinned)->Current()->version, "1");
  auto pinned_maybe = (*pinned)->MaybeRefresh();
  ASSERT_TRUE(pinned_maybe.ok());
  EXPECT_FALSE(*pinned_maybe);

  auto latest_moved = (*latest)->Refresh();
  ASSERT_TRUE(latest_moved.ok()) << latest_moved.status();
  EXPECT_TRUE(*latest_moved);
  EXPECT_EQ((*latest)->Current()->version, "2");
  EXPECT_EQ(ScoreOf(*(*latest)->Current()), Sigmoid(LeafOf(2)));
}

TEST_P(LiveModelTest, ABrokenNewVersionLeavesTheServingOneInPlace) {
  Register();
  const ModelVersion corrupt = Register();
  const ModelVersion incompatible = Register(kHandbookV1, /*booster_features=*/3);
  Register();
  SetAlias(1);
  auto live = Live("fraud@Production");
  ASSERT_TRUE(live.ok()) << live.status();
  const std::shared_ptr<const LoadedModel> serving = (*live)->Current();

  // Version 2's booster is damaged after registration (a bad disk, a partial copy).
  const std::string booster = corrupt.path + "/" + kBoosterFile;
  const std::string intact = *ReadFile(booster);
  ASSERT_TRUE(WriteFile(booster, intact.substr(0, intact.size() / 2)).ok());
  SetAlias(2);
  for (int attempt = 0; attempt < 2; ++attempt) {  // every Refresh tries again
    auto refreshed = (*live)->Refresh();
    ASSERT_FALSE(refreshed.ok());
    EXPECT_EQ(refreshed.status().code(), absl::StatusCode::kDataLoss) << refreshed.status();
    EXPECT_NE(refreshed.status().message().find("version 2"), std::string::npos)
        << refreshed.status();
    EXPECT_NE(refreshed.status().message().find("still serving version 1"), std::string::npos)
        << refreshed.status();
    EXPECT_EQ((*live)->Current(), serving);
  }
  // Repaired in place: the next Refresh picks it up.
  ASSERT_TRUE(WriteFile(booster, intact).ok());
  auto repaired = (*live)->Refresh();
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(*repaired);
  EXPECT_EQ((*live)->Current()->version, "2");

  // Version 3 passes the checksum but its booster has 3 inputs where the spec has 15.
  SetAlias(incompatible.version);
  auto refused = (*live)->Refresh();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("3 features"), std::string::npos) << refused.status();
  EXPECT_EQ((*live)->Current()->version, "2");

  // Moving the alias back to what is serving is no change; forward to a good one swaps.
  SetAlias(2);
  auto back = (*live)->Refresh();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(*back);
  SetAlias(4);
  auto forward = (*live)->Refresh();
  ASSERT_TRUE(forward.ok()) << forward.status();
  EXPECT_TRUE(*forward);
  EXPECT_EQ((*live)->Current()->version, "4");
  EXPECT_EQ(ScoreOf(*(*live)->Current()), Sigmoid(LeafOf(4)));
}

TEST_P(LiveModelTest, ReferencesThatDoNotResolveAreClearErrorsAtCreation) {
  Register();
  auto no_alias = Live("fraud@Production");
  ASSERT_FALSE(no_alias.ok());
  EXPECT_EQ(no_alias.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(no_alias.status().message().find("alias 'Production'"), std::string::npos)
      << no_alias.status();
  EXPECT_EQ(Live("nope@Production").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Live("fraud/9").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Live("fraud").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Live("fraud/x").status().code(), absl::StatusCode::kInvalidArgument);

  // A version that does not load is refused at creation too, naming the reference.
  const ModelVersion bad = Register(kHandbookV1, /*booster_features=*/3);
  auto refused = Live("fraud/" + std::to_string(bad.version));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("fraud/2"), std::string::npos) << refused.status();
}

TEST_P(LiveModelTest, ADeletedAliasIsAnErrorAndTheServingVersionStays) {
  Register();
  Register();
  SetAlias(1);
  auto live = Live("fraud@Production");
  ASSERT_TRUE(live.ok()) << live.status();
  ASSERT_TRUE(registry_->DeleteAlias("fraud", "Production").ok());
  auto refreshed = (*live)->Refresh();
  ASSERT_FALSE(refreshed.ok());
  EXPECT_EQ(refreshed.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(refreshed.status().message().find("still serving version 1"), std::string::npos)
      << refreshed.status();
  EXPECT_EQ((*live)->Current()->version, "1");
  SetAlias(2);
  auto restored = (*live)->Refresh();
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(*restored);
  EXPECT_EQ((*live)->Current()->version, "2");
}

TEST_P(LiveModelTest, AFeatureSetChangeIsAllowedAndVisible) {
  Register(kHandbookV1);
  Register(kFraudstreamV3);
  SetAlias(1);
  auto live = Live("fraud@Production");
  ASSERT_TRUE(live.ok()) << live.status();
  const std::shared_ptr<const LoadedModel> before = (*live)->Current();
  SetAlias(2);
  auto moved = (*live)->Refresh();
  ASSERT_TRUE(moved.ok()) << moved.status();
  ASSERT_TRUE(*moved);
  const std::shared_ptr<const LoadedModel> after = (*live)->Current();
  EXPECT_EQ(before->artifact.features.name, kHandbookV1);
  EXPECT_EQ(after->artifact.features.name, kFraudstreamV3);
  EXPECT_EQ(after->forest.num_features(), FindFeatureSpec(kFraudstreamV3)->size());
  EXPECT_NE(after->forest.num_features(), before->forest.num_features());
}

TEST_P(LiveModelTest, MaybeRefreshChecksAtMostEveryInterval) {
  Register();
  Register();
  Register();
  SetAlias(1);
  ManualClock clock;
  auto live = Live("fraud@Production", {.refresh_interval_ms = 1000, .clock = &clock});
  ASSERT_TRUE(live.ok()) << live.status();
  SetAlias(2);
  clock.AdvanceSeconds(0.5);
  EXPECT_FALSE(*(*live)->MaybeRefresh());  // not due: the alias is not even read
  EXPECT_EQ((*live)->Current()->version, "1");
  clock.AdvanceSeconds(0.5);
  EXPECT_TRUE(*(*live)->MaybeRefresh());
  EXPECT_EQ((*live)->Current()->version, "2");
  SetAlias(3);
  EXPECT_FALSE(*(*live)->MaybeRefresh());  // checked a moment ago
  clock.AdvanceSeconds(0.999);
  EXPECT_FALSE(*(*live)->MaybeRefresh());
  clock.AdvanceSeconds(0.001);
  EXPECT_TRUE(*(*live)->MaybeRefresh());
  EXPECT_EQ((*live)->Current()->version, "3");
  // Refresh() itself is never throttled.
  SetAlias(1);
  EXPECT_TRUE(*(*live)->Refresh());
}

// Readers score with whatever Current() gives them while two threads refresh and the alias
// walks through every version: each reader must always see a whole model (the score its
// version should give), versions only move forward, and every model outlives its last reader
// (ASan in `make check` would see a use after free).
TEST_P(LiveModelTest, ReadersNeverSeeATornModelWhileRefreshesSwapIt) {
  constexpr int64_t kVersions = 8;
  constexpr int kReaders = 4;
  for (int64_t v = 1; v <= kVersions; ++v) Register();
  SetAlias(1);
  auto live = Live("fraud@Production", {.refresh_interval_ms = 0});
  ASSERT_TRUE(live.ok()) << live.status();

  std::atomic<bool> done = false;
  std::atomic<int64_t> wrong = 0, backwards = 0, reads = 0;
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!done.load()) {
        const std::shared_ptr<const LoadedModel> model = (*live)->Current();
        const int64_t v = model->registry_version;
        if (model->version != std::to_string(v) || ScoreOf(*model) != Sigmoid(LeafOf(v))) ++wrong;
        if (v < last) ++backwards;
        last = v;
        ++reads;
      }
    });
  }
  // A second refresher: MaybeRefresh from another thread, as REST threads would.
  std::atomic<int64_t> refresh_errors = 0;
  std::thread background([&] {
    while (!done.load()) {
      if (!(*live)->MaybeRefresh().ok()) ++refresh_errors;
    }
  });
  for (int64_t v = 2; v <= kVersions; ++v) {
    SetAlias(v);
    for (int attempt = 0; attempt < 1000 && (*live)->Current()->registry_version != v; ++attempt) {
      auto refreshed = (*live)->Refresh();
      EXPECT_TRUE(refreshed.ok()) << refreshed.status();  // no ASSERT: the threads must join
    }
    EXPECT_EQ((*live)->Current()->registry_version, v);
  }
  // Let the readers run a little on the last version too.
  const int64_t reads_before = reads.load();
  while (reads.load() < reads_before + 1000) std::this_thread::yield();
  done = true;
  background.join();
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_EQ(refresh_errors.load(), 0);
  EXPECT_EQ((*live)->Current()->version, std::to_string(kVersions));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LiveModelTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, LiveModelTest, ::testing::Values("postgresql"));

// --model-dir: no registry; the version is the booster checksum and never changes.
TEST(LiveModelDirectory, ServesTheDirectoryAndNeverChanges) {
  ScopedTempDir dir;
  const std::string path = WriteModel(dir, "dir", LeafOf(5));
  ASSERT_FALSE(path.empty());
  auto live = LiveModel::FromDirectory(path);
  ASSERT_TRUE(live.ok()) << live.status();
  const std::shared_ptr<const LoadedModel> model = (*live)->Current();
  const auto manifest = ModelArtifact::Load(path);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(model->name, path);
  EXPECT_EQ(model->version, manifest->manifest["model"]["booster_checksum"].get<std::string>());
  EXPECT_EQ(model->registry_version, 0);
  EXPECT_EQ(ScoreOf(*model), Sigmoid(LeafOf(5)));
  EXPECT_FALSE((*live)->follows());
  // Rewriting the directory does not change what is serving.
  ASSERT_FALSE(WriteModel(dir, "dir", LeafOf(6)).empty());
  EXPECT_FALSE(*(*live)->Refresh());
  EXPECT_FALSE(*(*live)->MaybeRefresh());
  EXPECT_EQ((*live)->Current(), model);
}

TEST(LiveModelDirectory, RefusesABrokenOrMissingDirectory) {
  ScopedTempDir dir;
  EXPECT_EQ(LiveModel::FromDirectory(dir.Path("absent")).status().code(),
            absl::StatusCode::kNotFound);
  const std::string corrupt = WriteModel(dir, "corrupt", 1.0f);
  ASSERT_TRUE(WriteFile(corrupt + "/" + kBoosterFile, "{}").ok());
  EXPECT_EQ(LiveModel::FromDirectory(corrupt).status().code(), absl::StatusCode::kDataLoss);
  const std::string mismatched = WriteModel(dir, "mismatched", 1.0f, kHandbookV1, 4);
  auto refused = LiveModel::FromDirectory(mismatched);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("the booster has 4 features, the feature spec 15"),
            std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace fraud
