#include "registry/live_model.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/status.h"
#include "fmt/format.h"
#include "registry/model_registry.h"

namespace fraud {
namespace {

// The same error with `context` in front of its message.
absl::Status WithContext(const absl::Status& status, const std::string& context) {
  return absl::Status(status.code(),
                      fmt::format("{}: {}", context, std::string(status.message())));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const LoadedModel>> LoadedModel::Load(const std::string& dir,
                                                                     std::string name,
                                                                     std::string version,
                                                                     int64_t registry_version) {
  ASSIGN_OR_RETURN(ModelArtifact artifact, ModelArtifact::Load(dir));
  ASSIGN_OR_RETURN(Forest forest, Forest::LoadFile(artifact.booster_path()));
  if (forest.num_features() != artifact.features.names.size()) {
    return absl::FailedPreconditionError(fmt::format(
        "{}: the booster has {} features, the feature spec {} ({})", artifact.booster_path(),
        forest.num_features(), artifact.features.names.size(), artifact.features.name));
  }
  // One prediction before anyone is handed the model: all inputs missing walks every tree
  // along its default branches.
  const std::vector<float> probe(forest.num_features(), std::numeric_limits<float>::quiet_NaN());
  const float score = forest.Predict(probe.data());
  if (!std::isfinite(score)) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the probe prediction is {}", artifact.booster_path(), score));
  }
  if (!std::isfinite(artifact.threshold)) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the operating threshold is {}", dir, artifact.threshold));
  }
  return std::make_shared<const LoadedModel>(LoadedModel{.name = std::move(name),
                                                         .version = std::move(version),
                                                         .registry_version = registry_version,
                                                         .artifact = std::move(artifact),
                                                         .forest = std::move(forest)});
}

LiveModel::LiveModel(std::unique_ptr<Store> store, std::string reference,
                     LiveModelOptions options, std::shared_ptr<const LoadedModel> first)
    : store_(std::move(store)),
      reference_(std::move(reference)),
      options_(options),
      current_(std::move(first)) {
  next_check_nanos_.store(options_.clock->NowNanos() + options_.refresh_interval_ms * 1'000'000);
}

LiveModel::~LiveModel() = default;

absl::StatusOr<std::unique_ptr<LiveModel>> LiveModel::FromRegistry(std::unique_ptr<Store> store,
                                                                   const std::string& reference,
                                                                   LiveModelOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("LiveModel::FromRegistry: no store");
  ASSIGN_OR_RETURN(const ModelVersion version, ModelRegistry(*store).Resolve(reference));
  absl::StatusOr<std::shared_ptr<const LoadedModel>> loaded = LoadedModel::Load(
      version.path, version.name, std::to_string(version.version), version.version);
  if (!loaded.ok()) {
    return WithContext(loaded.status(),
                       fmt::format("{} (version {}) does not load", reference, version.version));
  }
  std::unique_ptr<LiveModel> live(
      new LiveModel(std::move(store), reference, options, *std::move(loaded)));
  // Resolve accepted the reference, so its shape is known: [models:/]NAME@ALIAS,
  // NAME/latest or NAME/VERSION.
  std::string ref = reference;
  if (ref.starts_with("models:/")) ref = ref.substr(8);
  live->model_name_ = version.name;
  if (const size_t at = ref.find('@'); at != std::string::npos) {
    live->kind_ = Kind::kAlias;
    live->alias_ = ref.substr(at + 1);
  } else if (ref.ends_with("/latest")) {
    live->kind_ = Kind::kLatest;
  }
  return live;
}

absl::StatusOr<std::unique_ptr<LiveModel>> LiveModel::FromDirectory(const std::string& dir) {
  ASSIGN_OR_RETURN(const ModelArtifact artifact, ModelArtifact::Load(dir));
  std::string checksum = artifact.manifest["model"].value("booster_checksum", std::string());
  ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> loaded,
                   LoadedModel::Load(dir, dir, std::move(checksum)));
  return std::unique_ptr<LiveModel>(new LiveModel(nullptr, dir, {}, std::move(loaded)));
}

absl::StatusOr<bool> LiveModel::Refresh() {
  std::lock_guard lock(refresh_mutex_);
  return RefreshLocked();
}

absl::StatusOr<bool> LiveModel::MaybeRefresh() {
  if (kind_ == Kind::kFixed) return false;
  const int64_t now = options_.clock->NowNanos();
  if (now < next_check_nanos_.load(std::memory_order_relaxed)) return false;
  std::unique_lock lock(refresh_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;  // another thread is checking right now
  // A thread that checked while this one waited for the lock moved the next check on.
  if (now < next_check_nanos_.load(std::memory_order_relaxed)) return false;
  next_check_nanos_.store(now + options_.refresh_interval_ms * 1'000'000,
                          std::memory_order_relaxed);
  return RefreshLocked();
}

absl::StatusOr<bool> LiveModel::RefreshLocked() {
  if (kind_ == Kind::kFixed) return false;
  const std::shared_ptr<const LoadedModel> serving = current_.load();
  ModelRegistry registry(*store_);
  ModelVersion target;
  if (kind_ == Kind::kAlias) {
    ASSIGN_OR_RETURN(const std::optional<int64_t> version,
                     registry.AliasVersion(model_name_, alias_));
    if (!version) {
      return absl::NotFoundError(
          fmt::format("model '{}' has no alias '{}' any more; still serving version {}",
                      model_name_, alias_, serving->version));
    }
    if (*version == serving->registry_version) return false;
    ASSIGN_OR_RETURN(target, registry.GetVersion(model_name_, *version));
  } else {
    ASSIGN_OR_RETURN(target, registry.Resolve(reference_));
    if (target.version == serving->registry_version) return false;
  }
  absl::StatusOr<std::shared_ptr<const LoadedModel>> loaded = LoadedModel::Load(
      target.path, target.name, std::to_string(target.version), target.version);
  if (!loaded.ok()) {
    return WithContext(loaded.status(),
                       fmt::format("{} moved to version {}, which does not load (still serving "
                                   "version {})",
                                   reference_, target.version, serving->version));
  }
  current_.store(*std::move(loaded));
  return true;
}

}  // namespace fraud
