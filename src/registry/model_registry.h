#pragma once

// The model registry with MLflow's semantics: registered models (by name), their versions
// (1, 2, 3 ... per name, never reused; each with its source run, artifact and creation time)
// and aliases (a name such as "Production" or "Staging" that points at one version of a
// model).
//
//   ModelRegistry registry(*store);
//   ASSIGN_OR_RETURN(ModelVersion v, registry.CreateVersion("fraud", {.run_id = run.run_id}));
//   RETURN_IF_ERROR(registry.SetAlias("fraud", "Production", v.version));
//   ASSIGN_OR_RETURN(ModelVersion prod, registry.Resolve("fraud@Production"));
//   ASSIGN_OR_RETURN(ModelArtifact artifact, ModelArtifact::Load(prod.path));
//
// Guarantees, for any number of processes on one store:
// - a version's artifact is copied and verified before its row is committed, so a reader
//   never sees a version whose artifact is missing or half-written;
// - version numbers are allocated under the writer lock: concurrent registrations get
//   distinct numbers and none is lost;
// - an alias is one row keyed by (model, alias): it points at exactly one version, always.
// Errors: kNotFound for an unknown model, version or alias (the message names it and says
// where to look), kInvalidArgument for a malformed name or reference, kDataLoss /
// kFailedPrecondition for an artifact that does not load (nothing is registered),
// kAborted when SetAlias's expected current version no longer holds.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "registry/store.h"

namespace fraud {

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  int64_t creation_time = 0;
  std::string run_id;            // empty when registered from a path
  std::string source;            // where it was registered from (runs:/ID/model or a path)
  std::string storage_location;  // file:// URI of the registered artifact
  std::string path;              // the same, as a local directory
  std::string status;            // READY
  std::vector<std::string> aliases;

  nlohmann::ordered_json ToJson() const;
};

struct RegisteredModel {
  std::string name;
  std::string description;
  int64_t creation_time = 0;
  int64_t last_updated_time = 0;
  int64_t latest_version = 0;
  std::map<std::string, int64_t> aliases;

  nlohmann::ordered_json ToJson() const;
};

struct VersionSource {
  std::string run_id;        // register the run's "model" artifact
  std::string path;          // or a model directory, copied under the artifact root
  std::string description;   // for the registered model when it is created
};

class ModelRegistry {
 public:
  explicit ModelRegistry(Store& store) : store_(store) {}

  // Registers a new version (creating the model on its first version).
  absl::StatusOr<ModelVersion> CreateVersion(const std::string& name, const VersionSource& source);

  absl::StatusOr<std::vector<RegisteredModel>> ListModels();
  absl::StatusOr<RegisteredModel> GetModel(const std::string& name);
  absl::StatusOr<std::vector<ModelVersion>> ListVersions(const std::string& name);
  absl::StatusOr<ModelVersion> GetVersion(const std::string& name, int64_t version);

  // Points `alias` at `version`. With `expected`, only when the alias currently points at
  // *expected (0: is not set); otherwise kAborted and nothing changes.
  absl::Status SetAlias(const std::string& name, const std::string& alias, int64_t version,
                        std::optional<int64_t> expected = std::nullopt);
  absl::Status DeleteAlias(const std::string& name, const std::string& alias);
  // The version an alias points at, nullopt when the alias is not set (model must exist).
  absl::StatusOr<std::optional<int64_t>> AliasVersion(const std::string& name,
                                                      const std::string& alias);

  // "NAME@ALIAS", "NAME/VERSION" or "NAME/latest", optionally prefixed "models:/".
  absl::StatusOr<ModelVersion> Resolve(const std::string& reference);

 private:
  Store& store_;
};

// Model names: letters, digits, '_', '-', '.'; aliases the same, and neither a number nor
// "latest" (those are version references).
absl::Status ValidateModelName(const std::string& name);
absl::Status ValidateAlias(const std::string& alias);

}  // namespace fraud
