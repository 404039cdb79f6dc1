// Several processes on one store at once (fork; each child opens its own connection): version
// numbers stay distinct and none is lost, an alias always points at exactly one version,
// compare-and-set alias moves never overwrite each other, and a reader never sees a version
// whose artifact is not complete. Instantiated for SQLite (unit) and PostgreSQL (postgres).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>

#include "features/feature_spec.h"
#include "model/artifact.h"
#include "registry/model_registry.h"
#include "registry/test_store.h"

namespace fraud {
namespace {

constexpr int kWriters = 4;
constexpr int kVersionsPerWriter = 6;

// Runs `body` in a child process; the child's exit code is 0 when body returns true.
pid_t Spawn(const std::function<bool()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    bool ok = false;
    try {
      ok = body();
    } catch (...) {
      ok = false;
    }
    _exit(ok ? 0 : 1);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class ConcurrencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto test_store = TestStore::Create(GetParam());
    ASSERT_TRUE(test_store.ok()) << test_store.status();
    test_store_ = std::move(*test_store);
    auto store = test_store_->Open();  // migrates the schema before the children start
    ASSERT_TRUE(store.ok()) << store.status();
  }

  std::unique_ptr<TestStore> test_store_;
};

TEST_P(ConcurrencyTest, ConcurrentRegistrationsLoseNothingAndReadersSeeWholeVersions) {
  std::vector<std::string> artifacts;
  for (int i = 0; i < kWriters * kVersionsPerWriter; ++i) {
    artifacts.push_back(WriteFakeArtifact(test_store_->dir(), std::to_string(i), 1 << 20));
    ASSERT_FALSE(artifacts.back().empty());
  }
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.push_back(Spawn([&, w] {
      auto store = test_store_->Open();
      if (!store.ok()) return false;
      ModelRegistry registry(**store);
      for (int i = 0; i < kVersionsPerWriter; ++i) {
        auto v = registry.CreateVersion("fraud", {.path = artifacts[w * kVersionsPerWriter + i]});
        if (!v.ok()) {
          std::fprintf(stderr, "writer %d: %s\n", w, v.status().ToString().c_str());
          return false;
        }
        // Move Production along too: readers resolve it all the time.
        if (!registry.SetAlias("fraud", "Production", v->version).ok()) return false;
      }
      return true;
    }));
  }
  // A reader: every version it sees is READY and its artifact loads; the alias resolves to one
  // version that loads.
  const pid_t reader = Spawn([&] {
    auto store = test_store_->Open();
    if (!store.ok()) return false;
    ModelRegistry registry(**store);
    int64_t seen = 0;
    for (int round = 0; round < 400 && seen < kWriters * kVersionsPerWriter; ++round) {
      auto versions = registry.ListVersions("fraud");
      if (!versions.ok()) continue;  // the model does not exist yet
      seen = static_cast<int64_t>(versions->size());
      for (const ModelVersion& v : *versions) {
        if (v.status != "READY" || !ModelArtifact::Load(v.path).ok()) {
          std::fprintf(stderr, "reader: version %lld is not whole\n", static_cast<long long>(v.version));
          return false;
        }
      }
      auto production = registry.Resolve("fraud@Production");
      if (production.ok() && !ModelArtifact::Load(production->path).ok()) return false;
    }
    return true;
  });
  for (pid_t pid : writers) EXPECT_EQ(Wait(pid), 0);
  EXPECT_EQ(Wait(reader), 0);

  auto store = test_store_->Open();
  ASSERT_TRUE(store.ok());
  ModelRegistry registry(**store);
  auto versions = registry.ListVersions("fraud");
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), static_cast<size_t>(kWriters * kVersionsPerWriter));
  std::set<int64_t> numbers;
  std::set<std::string> paths;
  for (const ModelVersion& v : *versions) {
    numbers.insert(v.version);
    paths.insert(v.path);
    EXPECT_TRUE(ModelArtifact::Load(v.path).ok()) << v.path;
  }
  EXPECT_EQ(numbers.size(), versions->size());
  EXPECT_EQ(*numbers.begin(), 1);
  EXPECT_EQ(*numbers.rbegin(), kWriters * kVersionsPerWriter);  // no gaps
  EXPECT_EQ(paths.size(), versions->size());
  // No temporary copies left behind.
  for (const auto& entry : std::filesystem::directory_iterator(
           (*store)->artifact_root() + "/models/fraud")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
  auto count = (*store)->db().Query(
      "SELECT COUNT(*) FROM model_aliases WHERE name = 'fraud' AND alias = 'Production'", {});
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->at(0).Int(0), 1);
}

TEST_P(ConcurrencyTest, CompareAndSetPromotionsNeverOverwriteEachOther) {
  {
    auto store = test_store_->Open();
    ASSERT_TRUE(store.ok());
    ModelRegistry registry(**store);
    for (int i = 0; i < kWriters + 1; ++i) {
      const std::string artifact = WriteFakeArtifact(test_store_->dir(), "p" + std::to_string(i));
      ASSERT_TRUE(registry.CreateVersion("fraud", {.path = artifact}).ok());
    }
    ASSERT_TRUE(registry.SetAlias("fraud", "Production", 1).ok());
  }
  // Each process reads the champion, then moves the alias from it to its own version, as
  // promote does after its gate. Every move that succeeds must have seen the alias where it
  // left the previous successful move.
  std::vector<pid_t> promoters;
  for (int w = 0; w < kWriters; ++w) {
    promoters.push_back(Spawn([&, w] {
      auto store = test_store_->Open();
      if (!store.ok()) return false;
      ModelRegistry registry(**store);
      auto champion = registry.AliasVersion("fraud", "Production");
      if (!champion.ok() || !*champion) return false;
      usleep(20'000);  // the gate's work: the others read the same champion meanwhile
      const absl::Status moved = registry.SetAlias("fraud", "Production", 2 + w, **champion);
      return moved.ok() || absl::IsAborted(moved);
    }));
  }
  for (pid_t pid : promoters) EXPECT_EQ(Wait(pid), 0);
  auto store = test_store_->Open();
  ASSERT_TRUE(store.ok());
  auto rows = (*store)->db().Query(
      "SELECT version FROM model_aliases WHERE name = 'fraud' AND alias = 'Production'", {});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_GE(rows->at(0).Int(0), 2);
  EXPECT_LE(rows->at(0).Int(0), 1 + kWriters);
  EXPECT_EQ(ModelRegistry(**store).ListVersions("fraud")->size(), static_cast<size_t>(kWriters + 1));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ConcurrencyTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Postgres, ConcurrencyTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace fraud
