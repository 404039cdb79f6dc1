#pragma once

// Helpers for tests only: the fixture of the tests that check parity with batch scoring.
//
//   SimulatorConfig sim;  sim.customers = 200; ...
//   ASSIGN_OR_RETURN(ScoredDataSet set, MakeScoredDataSet(dir.Path("set"), sim));
//   set.data_path    the generated transactions (OTUS format)
//   set.model        a model trained on them with the defaults, one thread
//   set.scores       transaction_id -> the score `fraudstream predict` gives it (6 decimals)

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"
#include "data/simulator.h"
#include "model/artifact.h"
#include "model/evaluation.h"
#include "model/trainer.h"

namespace fraud {

struct ScoredDataSet {
  std::string data_path;
  ModelArtifact model;
  std::map<int64_t, double> scores;
};

// transaction_id -> score of a `fraudstream predict` output file.
inline absl::StatusOr<std::map<int64_t, double>> ReadPredictScores(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  std::map<int64_t, double> scores;
  bool header = true;
  for (const std::string_view line : Split(text, '\n')) {
    if (!header && !line.empty()) {  // transaction_id, ..., score, is_fraud
      const std::vector<std::string_view> fields = Split(line, ',');
      scores[std::stoll(std::string(fields.front()))] =
          std::stod(std::string(fields[fields.size() - 2]));
    }
    header = false;
  }
  return scores;
}

inline absl::StatusOr<ScoredDataSet> MakeScoredDataSet(const std::string& dir,
                                                       const SimulatorConfig& simulator) {
  std::filesystem::create_directories(dir);
  ScoredDataSet set;
  GenerateOptions generate;
  generate.simulator = simulator;
  generate.out = dir + "/data.txt";
  generate.show_progress = false;
  RETURN_IF_ERROR(GenerateToFiles(generate).status());
  set.data_path = generate.out;
  TrainOptions train;
  train.data_path = generate.out;
  train.out_dir = dir + "/model";
  train.write_report = false;
  train.threads = 1;
  RETURN_IF_ERROR(Train(train).status());
  ASSIGN_OR_RETURN(set.model, ModelArtifact::Load(train.out_dir));
  const std::string predicted = dir + "/predict.csv";
  RETURN_IF_ERROR(PredictFile(set.model, generate.out, predicted).status());
  ASSIGN_OR_RETURN(set.scores, ReadPredictScores(predicted));
  return set;
}

}  // namespace fraud
