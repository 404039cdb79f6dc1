#pragma once

// The model a scoring surface (stream workers, the REST API) serves, following the registry:
// "when the registry alias moves, the new version is used from the next batch without
// stopping consumption; each prediction carries its version" (DESIGN §7).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(where));
//   ASSIGN_OR_RETURN(auto live, LiveModel::FromRegistry(std::move(store), "fraud@Production"));
//   // or: ASSIGN_OR_RETURN(auto live, LiveModel::FromDirectory("models/m1"));
//
//   for (;;) {  // one micro-batch (or one request)
//     absl::StatusOr<bool> moved = live->MaybeRefresh();   // at most every refresh_interval
//     if (!moved.ok()) log(moved.status());                // still serving the old version
//     std::shared_ptr<const LoadedModel> model = live->Current();  // held for the whole batch
//     if (model->artifact.features.name != features_in_use) rebuild_feature_state(model);
//     score(model->forest, ...); tag_predictions(model->name, model->version);
//   }
//
// References: whatever ModelRegistry::Resolve accepts. NAME@ALIAS follows the alias and
// NAME/latest the highest version; NAME/VERSION is pinned and a model directory never changes
// (Refresh returns false without touching the store).
//
// A version is loaded and validated completely before anyone sees it: the artifact (manifest,
// booster checksum), the forest, the forest's feature count against the feature spec's, and
// one probe prediction. A new version that fails any of it is not swapped in: Refresh returns
// the error, Current() keeps returning the version already serving, and the next Refresh tries
// again (so a version repaired in place, or the alias moved on, is picked up).
//
// Feature sets may differ between versions (a retrained model may use another spec): the
// LiveModel does not refuse that. A caller whose state depends on the spec (the stream's
// window state) compares artifact.features (name, or the whole FeatureSpec) with the spec it
// runs and rebuilds or refuses as it sees fit.
//
// Thread safety: Current() may be called from any number of threads at any time, including
// while another thread refreshes (an atomic shared_ptr; a LoadedModel is immutable and lives
// as long as someone holds it). Refresh() and MaybeRefresh() may be called from any thread;
// refreshes are serialised by a mutex, and the registry connection (a Store, not thread-safe)
// is owned by the LiveModel and only used under it. MaybeRefresh never waits for a refresh in
// progress in another thread: it returns false at once.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "model/artifact.h"
#include "model/forest.h"
#include "registry/store.h"

namespace fraud {

// One model version, loaded and validated. Immutable once built.
struct LoadedModel {
  std::string name;     // the registered model's name, or the directory
  std::string version;  // the registry version ("3"), or the booster checksum for a directory
  int64_t registry_version = 0;  // the same as a number; 0 for a directory
  ModelArtifact artifact;
  Forest forest;

  // Loads the artifact in `dir` and its forest and checks that they fit together: kNotFound /
  // kDataLoss / kFailedPrecondition from ModelArtifact::Load, the forest's load errors, and
  // kFailedPrecondition when the booster's feature count is not the feature spec's.
  static absl::StatusOr<std::shared_ptr<const LoadedModel>> Load(const std::string& dir,
                                                                std::string name,
                                                                std::string version,
                                                                int64_t registry_version = 0);
};

struct LiveModelOptions {
  // MaybeRefresh checks the registry at most this often (0: on every call).
  int64_t refresh_interval_ms = 1000;
  Clock* clock = &Clock::Real();  // for MaybeRefresh; not owned
};

class LiveModel {
 public:
  // Resolves `reference` and loads that version; the LiveModel keeps `store` (its own
  // connection) for later refreshes. Errors: kInvalidArgument for a malformed reference,
  // kNotFound for an unknown model, version or alias (the message names it), the version's
  // load errors (LoadedModel::Load) prefixed with the reference.
  static absl::StatusOr<std::unique_ptr<LiveModel>> FromRegistry(std::unique_ptr<Store> store,
                                                                 const std::string& reference,
                                                                 LiveModelOptions options = {});
  // A model directory: name = the directory, version = the booster checksum; never changes.
  static absl::StatusOr<std::unique_ptr<LiveModel>> FromDirectory(const std::string& dir);

  ~LiveModel();
  LiveModel(const LiveModel&) = delete;
  LiveModel& operator=(const LiveModel&) = delete;

  // The version serving now. Never null. Cheap (an atomic load), thread-safe.
  std::shared_ptr<const LoadedModel> Current() const { return current_.load(); }

  // Asks the registry where the reference points now (one small read transaction) and, when
  // it moved, loads and validates that version, then swaps it in. true: a new version is
  // serving; false: nothing changed (or the reference cannot move). An error (the alias was
  // deleted, the store is unreachable, the new version does not load or does not fit) leaves
  // the current version serving.
  absl::StatusOr<bool> Refresh();

  // Refresh() when refresh_interval_ms has passed since the last check, else false at once;
  // also false at once while another thread is refreshing. Meant to be called every batch.
  absl::StatusOr<bool> MaybeRefresh();

  const std::string& reference() const { return reference_; }
  // Whether Refresh can ever change the version (an alias or "latest").
  bool follows() const { return kind_ != Kind::kFixed; }

 private:
  enum class Kind { kFixed, kAlias, kLatest };

  LiveModel(std::unique_ptr<Store> store, std::string reference, LiveModelOptions options,
            std::shared_ptr<const LoadedModel> first);
  absl::StatusOr<bool> RefreshLocked();

  std::unique_ptr<Store> store_;  // null for a directory; used only under refresh_mutex_
  const std::string reference_;
  const LiveModelOptions options_;
  Kind kind_ = Kind::kFixed;
  std::string model_name_;  // for an alias / latest reference
  std::string alias_;       // for an alias reference

  std::atomic<std::shared_ptr<const LoadedModel>> current_;
  std::mutex refresh_mutex_;
  std::atomic<int64_t> next_check_nanos_{0};
};

}  // namespace fraud
