#include "registry/store.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>

#include "core/status.h"
#include "fmt/format.h"
#include "registry/schema.h"

namespace fraud {

namespace fs = std::filesystem;

absl::StatusOr<StoreOptions> ResolveStoreOptions(const std::string& uri,
                                                 const std::string& artifact_root) {
  StoreOptions options;
  options.uri = uri;
  if (options.uri.empty()) {
    const char* env = std::getenv(kRegistryEnv);
    options.uri = env != nullptr && *env != '\0' ? env : kDefaultRegistryPath;
  }
  std::string root = artifact_root;
  if (root.empty()) {
    const char* env = std::getenv(kArtifactRootEnv);
    if (env != nullptr && *env != '\0') root = env;
  }
  if (root.empty()) {
    const std::optional<std::string> sqlite = SqlitePathOf(options.uri);
    const fs::path db_dir = sqlite ? fs::path(*sqlite).parent_path()
                                   : fs::path(kDefaultRegistryPath).parent_path();
    root = (db_dir / "artifacts").string();
  }
  if (root.starts_with("file://")) root = root.substr(7);
  if (root.find("://") != std::string::npos) {
    return absl::InvalidArgumentError("--artifact-root must be a local directory, got " + root);
  }
  std::error_code ec;
  options.artifact_root = fs::weakly_canonical(fs::absolute(root, ec), ec).string();
  if (ec) return absl::InvalidArgumentError(fmt::format("bad artifact root {}: {}", root, ec.message()));
  return options;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenDatabase(options.uri));
  RETURN_IF_ERROR(Migrate(*db));
  return std::unique_ptr<Store>(new Store(std::move(db), options));
}

int64_t Store::NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Store::NewId() {
  std::random_device device;
  std::uniform_int_distribution<uint64_t> dist;
  return fmt::format("{:016x}{:016x}", dist(device), dist(device));
}

std::string FormatMillis(int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string ArtifactUriOf(const std::string& path) { return "file://" + path; }

absl::StatusOr<std::string> PathOfArtifactUri(const std::string& uri) {
  if (uri.starts_with("file://")) return uri.substr(7);
  if (uri.find("://") == std::string::npos) return uri;
  return absl::UnimplementedError("artifact URI " + uri +
                                  ": only local (file://) artifact roots are supported");
}

absl::Status CopyDirectoryAtomically(const std::string& from, const std::string& to) {
  std::error_code ec;
  if (fs::exists(to, ec)) return absl::AlreadyExistsError(to + " already exists");
  fs::create_directories(fs::path(to).parent_path(), ec);
  if (ec) return absl::UnavailableError(fmt::format("cannot create {}: {}", to, ec.message()));
  const std::string temp = to + ".tmp-" + Store::NewId();
  fs::copy(from, temp, fs::copy_options::recursive, ec);
  if (!ec) fs::rename(temp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(temp, ignored);
    return absl::UnavailableError(
        fmt::format("cannot copy the artifact {} to {}: {}", from, to, ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace fraud
