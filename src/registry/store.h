#pragma once

// The tracking + registry store: a database (registry/database.h, schema migrated on open)
// and an artifact root, a local directory under which run artifacts and registered model
// copies live. Artifact URIs are recorded as file:///absolute/path.
//
// Where the store is (ResolveStoreOptions): --registry URI, else $FRAUDSTREAM_REGISTRY, else
// the default file ./fraudstream-registry/registry.db. The artifact root: --artifact-root,
// else $FRAUDSTREAM_ARTIFACT_ROOT, else "artifacts" beside a SQLite file, or
// ./fraudstream-registry/artifacts for PostgreSQL (point it at shared storage when several
// nodes share the database).
//
//   ASSIGN_OR_RETURN(StoreOptions where, ResolveStoreOptions(flag_uri, flag_root));
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(where));
//   Tracking tracking(*store);
//
// A Store is one database connection: not thread-safe; one per thread or process.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "registry/database.h"

namespace fraud {

inline constexpr char kRegistryEnv[] = "FRAUDSTREAM_REGISTRY";
inline constexpr char kArtifactRootEnv[] = "FRAUDSTREAM_ARTIFACT_ROOT";
inline constexpr char kDefaultRegistryPath[] = "fraudstream-registry/registry.db";

struct StoreOptions {
  std::string uri;            // database URI or SQLite path
  std::string artifact_root;  // absolute local directory
};

// Fills in the defaults described above. Empty arguments mean "not given".
absl::StatusOr<StoreOptions> ResolveStoreOptions(const std::string& uri,
                                                 const std::string& artifact_root);

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);

  Database& db() { return *db_; }
  const StoreOptions& options() const { return options_; }
  const std::string& artifact_root() const { return options_.artifact_root; }

  // Milliseconds since the Unix epoch (wall clock), as recorded in every table.
  static int64_t NowMillis();
  // A random 32-hex-digit id (MLflow's run id shape).
  static std::string NewId();

 private:
  Store(std::unique_ptr<Database> db, StoreOptions options)
      : db_(std::move(db)), options_(std::move(options)) {}
  std::unique_ptr<Database> db_;
  StoreOptions options_;
};

// A time in ms since the epoch as ISO 8601 UTC: "2026-11-22T01:54:37Z".
std::string FormatMillis(int64_t ms);

// "file:///abs/dir" for a local directory, and back. PathOfArtifactUri refuses other schemes
// (kUnimplemented: only local artifact roots are supported so far).
std::string ArtifactUriOf(const std::string& path);
absl::StatusOr<std::string> PathOfArtifactUri(const std::string& uri);

// Copies directory `from` to `to` atomically: into a sibling temporary directory first, then
// renamed, so `to` is either absent or complete. `to` must not exist.
absl::Status CopyDirectoryAtomically(const std::string& from, const std::string& to);

}  // namespace fraud
