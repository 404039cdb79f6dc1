#include "registry/test_store.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "core/status.h"
#include "features/feature_spec.h"
#include "fmt/format.h"
#include "model/artifact.h"

namespace fraud {

std::string WriteFakeArtifact(const ScopedTempDir& dir, const std::string& tag,
                              size_t pad_bytes) {
  const std::string path = dir.Path("artifact-" + tag);
  nlohmann::ordered_json manifest;
  manifest["model"] = {{"kind", "gbdt"}};
  manifest["threshold"] = {{"value", 0.5}};
  const std::string booster =
      fmt::format(R"({{"tag": "{}", "pad": "{}"}})", tag, std::string(pad_bytes, 'x'));
  const absl::Status written =
      WriteArtifact(path, booster, manifest, *FindFeatureSpec("handbook-v1"));
  return written.ok() ? path : "";
}

std::string WithDatabase(const std::string& uri, const std::string& database) {
  const size_t scheme = uri.find("://");
  const size_t slash = uri.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const size_t query = uri.find('?');
  const std::string tail = query == std::string::npos ? "" : uri.substr(query);
  const std::string head = slash == std::string::npos
                               ? uri.substr(0, query == std::string::npos ? uri.size() : query)
                               : uri.substr(0, slash);
  return head + "/" + database + tail;
}

absl::StatusOr<std::unique_ptr<TestStore>> TestStore::Create(const std::string& backend) {
  std::unique_ptr<TestStore> store(new TestStore());
  store->options_.artifact_root = store->dir_.Path("artifacts");
  if (backend == "sqlite") {
    store->options_.uri = "sqlite://" + store->dir_.Path("registry.db");
    return store;
  }
  const char* env = std::getenv(kTestPostgresEnv);
  if (env == nullptr || *env == '\0') {
    return absl::FailedPreconditionError(fmt::format(
        "${} is not set: the PostgreSQL tests need a server. Start one with "
        "scripts/start-postgres.sh and export the URI it prints (make check does both)",
        kTestPostgresEnv));
  }
  static std::atomic<int> counter{0};
  store->admin_uri_ = env;
  store->database_ = fmt::format("fraudstream_test_{}_{}", ::getpid(), counter++);
  ASSIGN_OR_RETURN(auto admin, OpenDatabase(store->admin_uri_));
  RETURN_IF_ERROR(admin->ExecScript(fmt::format("DROP DATABASE IF EXISTS {}", store->database_)));
  RETURN_IF_ERROR(admin->ExecScript(fmt::format("CREATE DATABASE {}", store->database_)));
  store->options_.uri = WithDatabase(store->admin_uri_, store->database_);
  return store;
}

TestStore::~TestStore() {
  if (database_.empty()) return;
  auto admin = OpenDatabase(admin_uri_);
  if (admin.ok()) {
    (void)(*admin)->ExecScript(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_));
  }
}

}  // namespace fraud
