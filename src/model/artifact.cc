#include "model/artifact.h"

#include <filesystem>

#include "core/file.h"
#include "core/hash.h"
#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

absl::Status WriteArtifact(const std::string& dir, const std::string& booster_json,
                           nlohmann::ordered_json manifest, const FeatureSpec& features) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(fmt::format("cannot create {}: {}", dir, ec.message()));
  manifest["format_version"] = kArtifactFormatVersion;
  manifest["model"]["booster_file"] = kBoosterFile;
  manifest["model"]["booster_checksum"] = Fnv1a64().Add(booster_json).Hex();
  manifest["features"] = features.ToJson();
  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  for (const std::string& name : features.names) {
    inputs.push_back({{"name", name}, {"type", "float32"}});
  }
  manifest["signature"] = {
      {"inputs", inputs},
      {"outputs",
       {{{"name", "score"}, {"type", "float32"}}, {{"name", "is_fraud"}, {"type", "bool"}}}}};
  RETURN_IF_ERROR(WriteFile(dir + "/" + kBoosterFile, booster_json));
  return WriteFile(dir + "/" + kManifestFile, manifest.dump(2) + "\n");
}

absl::StatusOr<ModelArtifact> ModelArtifact::Load(const std::string& dir) {
  ModelArtifact artifact;
  artifact.dir = dir;
  const std::string manifest_path = dir + "/" + kManifestFile;
  auto text = ReadFile(manifest_path);
  if (!text.ok()) {
    return absl::NotFoundError(fmt::format(
        "{} is not a fraudstream model directory (no {}); train one with 'fraudstream train'",
        dir, kManifestFile));
  }
  try {
    artifact.manifest = nlohmann::ordered_json::parse(*text);
    const int version = artifact.manifest.at("format_version").get<int>();
    if (version > kArtifactFormatVersion) {
      return absl::FailedPreconditionError(fmt::format(
          "{} has artifact format {}, newer than this fraudstream reads ({}): upgrade fraudstream",
          dir, version, kArtifactFormatVersion));
    }
    ASSIGN_OR_RETURN(artifact.features, FeatureSpec::FromJson(artifact.manifest.at("features")));
    artifact.threshold = artifact.manifest.at("threshold").at("value").get<double>();
    const std::string expected = artifact.manifest.at("model").at("booster_checksum");
    auto booster = ReadFile(artifact.booster_path());
    if (!booster.ok()) {
      return absl::DataLossError(fmt::format("{} is missing its {}", dir, kBoosterFile));
    }
    const std::string actual = Fnv1a64().Add(*booster).Hex();
    if (actual != expected) {
      return absl::DataLossError(fmt::format(
          "{}/{} is corrupt: checksum {} but the manifest says {}", dir, kBoosterFile, actual,
          expected));
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(fmt::format("{} is not a valid manifest: {}", manifest_path, e.what()));
  }
  return artifact;
}

}  // namespace fraud
