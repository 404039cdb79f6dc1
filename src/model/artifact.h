#pragma once

// The model artifact (DESIGN §4): a directory that says everything needed to score and to
// audit a model.
//
//   DIR/model.json        the booster, XGBoost JSON with feature_names (any XGBoost loads it)
//   DIR/fraudstream.json  the manifest: kind and params, feature spec (names, order, version,
//                         windows), operating threshold and its rule, training data
//                         fingerprint, metrics, signature (inputs/outputs), booster checksum
//   DIR/metrics.json      test and validation metrics
//   DIR/report.html       the evaluation report
//
// Load() verifies the manifest version and the booster checksum: a corrupt or foreign
// directory is a clear error (FailedPrecondition / DataLoss), never a crash.

#include <string>

#include "absl/status/statusor.h"
#include "features/feature_spec.h"
#include "nlohmann/json.hpp"

namespace fraud {

inline constexpr int kArtifactFormatVersion = 1;
inline constexpr char kManifestFile[] = "fraudstream.json";
inline constexpr char kBoosterFile[] = "model.json";

struct ModelArtifact {
  std::string dir;
  nlohmann::ordered_json manifest;
  FeatureSpec features;
  double threshold = 0.5;

  std::string booster_path() const { return dir + "/" + kBoosterFile; }
  std::string kind() const { return manifest["model"].value("kind", "gbdt"); }

  static absl::StatusOr<ModelArtifact> Load(const std::string& dir);
};

// Writes booster JSON and manifest (adding the booster checksum and the signature). The
// directory is created if needed.
absl::Status WriteArtifact(const std::string& dir, const std::string& booster_json,
                           nlohmann::ordered_json manifest, const FeatureSpec& features);

}  // namespace fraud
