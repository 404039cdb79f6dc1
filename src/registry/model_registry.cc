#include "registry/model_registry.h"

#include <algorithm>
#include <filesystem>

#include "core/status.h"
#include "fmt/format.h"
#include "model/artifact.h"
#include "registry/tracking.h"

namespace fraud {
namespace {

constexpr char kVersionColumns[] =
    "SELECT name, version, creation_time, run_id, source, storage_location, status "
    "FROM model_versions ";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

ModelVersion VersionOfRow(const SqlRow& row) {
  ModelVersion v;
  v.name = row.Text(0);
  v.version = row.Int(1);
  v.creation_time = row.Int(2);
  v.run_id = row.Text(3);
  v.source = row.Text(4);
  v.storage_location = row.Text(5);
  v.path = PathOfArtifactUri(v.storage_location).value_or(v.storage_location);
  v.status = row.Text(6);
  return v;
}

absl::Status RequireModel(Sql& sql, const std::string& name) {
  ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT 1 FROM registered_models WHERE name = ?", {name}));
  if (rows.empty()) {
    return absl::NotFoundError(
        fmt::format("no registered model '{}' (see 'fraudstream models list')", name));
  }
  return absl::OkStatus();
}

absl::Status AttachAliases(Sql& sql, ModelVersion* v) {
  ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT alias FROM model_aliases WHERE name = ? AND "
                                        "version = ? ORDER BY alias",
                                        {v->name, v->version}));
  for (const SqlRow& row : rows) v->aliases.push_back(row.Text(0));
  return absl::OkStatus();
}

absl::StatusOr<ModelVersion> VersionIn(Sql& sql, const std::string& name, int64_t version) {
  RETURN_IF_ERROR(RequireModel(sql, name));
  ASSIGN_OR_RETURN(auto rows, sql.Query(std::string(kVersionColumns) +
                                            "WHERE name = ? AND version = ?",
                                        {name, version}));
  if (rows.empty()) {
    return absl::NotFoundError(fmt::format(
        "model '{}' has no version {} (see 'fraudstream models show {}')", name, version, name));
  }
  ModelVersion v = VersionOfRow(rows[0]);
  RETURN_IF_ERROR(AttachAliases(sql, &v));
  return v;
}

absl::StatusOr<std::optional<int64_t>> AliasIn(Sql& sql, const std::string& name,
                                               const std::string& alias) {
  RETURN_IF_ERROR(RequireModel(sql, name));
  ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT version FROM model_aliases WHERE name = ? AND "
                                        "alias = ?",
                                        {name, alias}));
  if (rows.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows[0].Int(0));
}

absl::StatusOr<RegisteredModel> ModelIn(Sql& sql, const SqlRow& row) {
  RegisteredModel model;
  model.name = row.Text(0);
  model.description = row.Text(1);
  model.creation_time = row.Int(2);
  model.last_updated_time = row.Int(3);
  ASSIGN_OR_RETURN(auto latest, sql.Query("SELECT COALESCE(MAX(version), 0) FROM model_versions "
                                          "WHERE name = ?",
                                          {model.name}));
  model.latest_version = latest.at(0).Int(0);
  ASSIGN_OR_RETURN(auto aliases, sql.Query("SELECT alias, version FROM model_aliases WHERE "
                                           "name = ? ORDER BY alias",
                                           {model.name}));
  for (const SqlRow& a : aliases) model.aliases[a.Text(0)] = a.Int(1);
  return model;
}

}  // namespace

absl::Status ValidateModelName(const std::string& name) {
  if (name.empty() || name.size() > 200 || !std::all_of(name.begin(), name.end(), IsNameChar)) {
    return absl::InvalidArgumentError(fmt::format(
        "bad model name '{}': use letters, digits, '_', '-' and '.' (at most 200)", name));
  }
  return absl::OkStatus();
}

absl::Status ValidateAlias(const std::string& alias) {
  if (alias.empty() || alias.size() > 200 || !std::all_of(alias.begin(), alias.end(), IsNameChar) ||
      AllDigits(alias) || alias == "latest") {
    return absl::InvalidArgumentError(fmt::format(
        "bad alias '{}': use letters, digits, '_', '-' and '.'; not a number nor 'latest'", alias));
  }
  return absl::OkStatus();
}

nlohmann::ordered_json ModelVersion::ToJson() const {
  return {{"name", name},
          {"version", version},
          {"creation_time", creation_time},
          {"run_id", run_id.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(run_id)},
          {"source", source},
          {"storage_location", storage_location},
          {"path", path},
          {"status", status},
          {"aliases", aliases}};
}

nlohmann::ordered_json RegisteredModel::ToJson() const {
  return {{"name", name},
          {"description", description},
          {"creation_time", creation_time},
          {"last_updated_time", last_updated_time},
          {"latest_version", latest_version},
          {"aliases", aliases}};
}

absl::StatusOr<ModelVersion> ModelRegistry::CreateVersion(const std::string& name,
                                                          const VersionSource& source) {
  RETURN_IF_ERROR(ValidateModelName(name));
  if (source.run_id.empty() == source.path.empty()) {
    return absl::InvalidArgumentError("register a version from a run or from a path (one of them)");
  }
  ModelVersion v;
  v.name = name;
  v.status = "READY";
  std::string copied;  // a copy we made, removed again if the registration fails
  if (!source.run_id.empty()) {
    ASSIGN_OR_RETURN(const Run run, Tracking(store_).GetRun(source.run_id));
    ASSIGN_OR_RETURN(const std::string artifacts, PathOfArtifactUri(run.info.artifact_uri));
    v.run_id = run.info.run_id;
    v.source = fmt::format("runs:/{}/model", run.info.run_id);
    v.path = artifacts + "/model";
  } else {
    std::error_code ec;
    v.source = std::filesystem::absolute(source.path, ec).string();
    // Verify before copying: a corrupt artifact is refused with nothing written.
    auto artifact = ModelArtifact::Load(source.path);
    if (!artifact.ok()) {
      return absl::Status(artifact.status().code(),
                          fmt::format("cannot register {}: {}", source.path,
                                      std::string(artifact.status().message())));
    }
    v.path = fmt::format("{}/models/{}/{}", store_.artifact_root(), name, Store::NewId());
    RETURN_IF_ERROR(CopyDirectoryAtomically(source.path, v.path));
    copied = v.path;
  }
  // The artifact as it will be served must load (checksums included).
  absl::Status status = ModelArtifact::Load(v.path).status();
  if (!status.ok()) {
    status = absl::Status(status.code(),
                          fmt::format("cannot register {}: {}", v.source, std::string(status.message())));
  }
  v.storage_location = ArtifactUriOf(v.path);
  if (status.ok()) {
    status = store_.db().Write([&](Sql& sql) -> absl::Status {
      v.creation_time = Store::NowMillis();
      ASSIGN_OR_RETURN(auto exists,
                       sql.Query("SELECT 1 FROM registered_models WHERE name = ?", {name}));
      if (exists.empty()) {
        RETURN_IF_ERROR(sql.Exec(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, "
            "description) VALUES (?, ?, ?, ?)",
            {name, v.creation_time, v.creation_time, source.description}));
      } else {
        RETURN_IF_ERROR(sql.Exec("UPDATE registered_models SET last_updated_time = ? WHERE name = ?",
                                 {v.creation_time, name}));
      }
      ASSIGN_OR_RETURN(auto next, sql.Query("SELECT COALESCE(MAX(version), 0) + 1 FROM "
                                            "model_versions WHERE name = ?",
                                            {name}));
      v.version = next.at(0).Int(0);
      return sql.Exec(
          "INSERT INTO model_versions (name, version, creation_time, run_id, source, "
          "storage_location, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
          {name, v.version, v.creation_time,
           v.run_id.empty() ? SqlParam(nullptr) : SqlParam(v.run_id), v.source,
           v.storage_location, v.status});
    });
  }
  if (!status.ok()) {
    if (!copied.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(copied, ignored);
    }
    return status;
  }
  return v;
}

absl::StatusOr<std::vector<RegisteredModel>> ModelRegistry::ListModels() {
  std::vector<RegisteredModel> out;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT name, description, creation_time, "
                                          "last_updated_time FROM registered_models ORDER BY name",
                                          {}));
    for (const SqlRow& row : rows) {
      ASSIGN_OR_RETURN(RegisteredModel model, ModelIn(sql, row));
      out.push_back(std::move(model));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<RegisteredModel> ModelRegistry::GetModel(const std::string& name) {
  RegisteredModel model;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    RETURN_IF_ERROR(RequireModel(sql, name));
    ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT name, description, creation_time, "
                                          "last_updated_time FROM registered_models WHERE name = ?",
                                          {name}));
    ASSIGN_OR_RETURN(model, ModelIn(sql, rows.at(0)));
    return absl::OkStatus();
  }));
  return model;
}

absl::StatusOr<std::vector<ModelVersion>> ModelRegistry::ListVersions(const std::string& name) {
  std::vector<ModelVersion> out;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    RETURN_IF_ERROR(RequireModel(sql, name));
    ASSIGN_OR_RETURN(auto rows, sql.Query(std::string(kVersionColumns) +
                                              "WHERE name = ? ORDER BY version DESC",
                                          {name}));
    for (const SqlRow& row : rows) {
      ModelVersion v = VersionOfRow(row);
      RETURN_IF_ERROR(AttachAliases(sql, &v));
      out.push_back(std::move(v));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<ModelVersion> ModelRegistry::GetVersion(const std::string& name, int64_t version) {
  ModelVersion v;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(v, VersionIn(sql, name, version));
    return absl::OkStatus();
  }));
  return v;
}

absl::Status ModelRegistry::SetAlias(const std::string& name, const std::string& alias,
                                     int64_t version, std::optional<int64_t> expected) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  return store_.db().Write([&](Sql& sql) -> absl::Status {
    RETURN_IF_ERROR(VersionIn(sql, name, version).status());
    ASSIGN_OR_RETURN(const std::optional<int64_t> current, AliasIn(sql, name, alias));
    if (expected && current.value_or(0) != *expected) {
      return absl::AbortedError(fmt::format(
          "{}@{} moved to {} while this ran (expected {}); nothing changed: run it again", name,
          alias, current ? "version " + std::to_string(*current) : "nowhere",
          *expected == 0 ? "not set" : "version " + std::to_string(*expected)));
    }
    RETURN_IF_ERROR(
        sql.Exec("DELETE FROM model_aliases WHERE name = ? AND alias = ?", {name, alias}));
    RETURN_IF_ERROR(sql.Exec("INSERT INTO model_aliases (name, alias, version) VALUES (?, ?, ?)",
                             {name, alias, version}));
    return sql.Exec("UPDATE registered_models SET last_updated_time = ? WHERE name = ?",
                    {Store::NowMillis(), name});
  });
}

absl::Status ModelRegistry::DeleteAlias(const std::string& name, const std::string& alias) {
  return store_.db().Write([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(const std::optional<int64_t> current, AliasIn(sql, name, alias));
    if (!current) {
      return absl::NotFoundError(fmt::format("model '{}' has no alias '{}'", name, alias));
    }
    return sql.Exec("DELETE FROM model_aliases WHERE name = ? AND alias = ?", {name, alias});
  });
}

absl::StatusOr<std::optional<int64_t>> ModelRegistry::AliasVersion(const std::string& name,
                                                                   const std::string& alias) {
  std::optional<int64_t> version;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(version, AliasIn(sql, name, alias));
    return absl::OkStatus();
  }));
  return version;
}

absl::StatusOr<ModelVersion> ModelRegistry::Resolve(const std::string& reference) {
  std::string ref = reference;
  if (ref.starts_with("models:/")) ref = ref.substr(8);
  const size_t at = ref.find('@');
  const size_t slash = ref.find('/');
  if ((at == std::string::npos) == (slash == std::string::npos)) {
    return absl::InvalidArgumentError(fmt::format(
        "bad model reference '{}': use NAME@ALIAS, NAME/VERSION or NAME/latest", reference));
  }
  const size_t cut = at != std::string::npos ? at : slash;
  const std::string name = ref.substr(0, cut);
  const std::string rest = ref.substr(cut + 1);
  RETURN_IF_ERROR(ValidateModelName(name));
  ModelVersion v;
  RETURN_IF_ERROR(store_.db().Read([&](Sql& sql) -> absl::Status {
    int64_t version = 0;
    if (at != std::string::npos) {
      ASSIGN_OR_RETURN(const std::optional<int64_t> target, AliasIn(sql, name, rest));
      if (!target) {
        return absl::NotFoundError(fmt::format(
            "model '{}' has no alias '{}' (see 'fraudstream models show {}')", name, rest, name));
      }
      version = *target;
    } else if (rest == "latest") {
      RETURN_IF_ERROR(RequireModel(sql, name));
      ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT COALESCE(MAX(version), 0) FROM "
                                            "model_versions WHERE name = ?",
                                            {name}));
      version = rows.at(0).Int(0);
    } else if (AllDigits(rest) && rest.size() < 18) {
      version = std::stoll(rest);
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "bad version '{}' in '{}': a version is a number or 'latest'", rest, reference));
    }
    ASSIGN_OR_RETURN(v, VersionIn(sql, name, version));
    return absl::OkStatus();
  }));
  return v;
}

}  // namespace fraud
