#pragma once

// The XGBoost C API (Debian libxgboost-dev), owned by RAII wrappers. Every call goes through
// XGB_RETURN_IF_ERROR, which turns a non-zero return and XGBGetLastError() into a Status, so
// no XGBoost error escapes as a crash or an exception.
//
//   ASSIGN_OR_RETURN(auto train, DMatrix::FromDense(values, rows, cols));
//   RETURN_IF_ERROR(train.SetFloatInfo("label", labels));
//   ASSIGN_OR_RETURN(auto booster, Booster::Create({&train}));
//   RETURN_IF_ERROR(booster.SetParam("max_depth", "6"));
//   for (int i = 0; i < rounds; ++i) RETURN_IF_ERROR(booster.UpdateOneIter(i, train));
//
// Handles are not thread-safe; use one wrapper per thread (XGBoost itself uses its own pool,
// set with the "nthread" parameter).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fraud {

class DMatrix {
 public:
  // Row-major values; NaN marks a missing value. threads: 0 = OpenMP's default (all cores).
  static absl::StatusOr<DMatrix> FromDense(const float* values, uint64_t rows, uint64_t cols,
                                           int threads = 0);

  absl::Status SetFloatInfo(const char* field, std::span<const float> values);  // label, weight
  absl::Status SetFeatureNames(const std::vector<std::string>& names);
  void* handle() const { return handle_.get(); }
  uint64_t rows() const { return rows_; }

 private:
  struct Free {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, Free> handle_;
  uint64_t rows_ = 0;
};

class Booster {
 public:
  static absl::StatusOr<Booster> Create(const std::vector<const DMatrix*>& cache);
  static absl::StatusOr<Booster> LoadModel(const std::string& path);  // .json or .ubj
  static absl::StatusOr<Booster> FromJson(std::string_view json);      // a booster's JSON

  absl::Status SetParam(const std::string& name, const std::string& value);
  absl::Status UpdateOneIter(int iteration, const DMatrix& train);
  // Probabilities (or margins) for every row of data.
  absl::StatusOr<std::vector<float>> Predict(const DMatrix& data, bool margin = false) const;
  // XGBoost's in-place predict (XGBoosterPredictFromDense) on row-major values, NaN = missing.
  // The span points into the booster's own buffer: valid until the next call on this booster.
  absl::StatusOr<std::span<const float>> PredictFromDense(const float* values, uint64_t rows,
                                                          uint64_t cols, bool margin) const;
  absl::Status SetFeatureNames(const std::vector<std::string>& names);
  absl::Status SaveModel(const std::string& path) const;  // format from the extension
  absl::StatusOr<std::string> SaveJson() const;
  absl::StatusOr<int> BoostedRounds() const;
  void* handle() const { return handle_.get(); }

 private:
  struct Free {
    void operator()(void* handle) const;
  };
  std::unique_ptr<void, Free> handle_;
};

// Quietens XGBoost's own logging. Called by every factory above; idempotent.
void InitXgboost();

}  // namespace fraud
