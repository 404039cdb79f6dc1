#include "model/xgboost.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <mutex>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {
namespace {

absl::Status XgbError(const char* call) {
  return absl::InternalError(fmt::format("XGBoost {} failed: {}", call, XGBGetLastError()));
}

#define XGB_RETURN_IF_ERROR(call)                        \
  do {                                                   \
    if ((call) != 0) return XgbError(#call);             \
  } while (false)

std::vector<const char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<const char*> out;
  out.reserve(strings.size());
  for (const std::string& s : strings) out.push_back(s.c_str());
  return out;
}

}  // namespace

void InitXgboost() {
  static std::once_flag once;
  std::call_once(once, [] { XGBSetGlobalConfig(R"({"verbosity": 0})"); });
}

void DMatrix::Free::operator()(void* handle) const { XGDMatrixFree(handle); }
void Booster::Free::operator()(void* handle) const { XGBoosterFree(handle); }

absl::StatusOr<DMatrix> DMatrix::FromDense(const float* values, uint64_t rows, uint64_t cols,
                                           int threads) {
  InitXgboost();
  DMatrixHandle handle = nullptr;
  XGB_RETURN_IF_ERROR(
      XGDMatrixCreateFromMat_omp(values, rows, cols, std::nanf(""), &handle, threads));
  DMatrix matrix;
  matrix.handle_.reset(handle);
  matrix.rows_ = rows;
  return matrix;
}

absl::Status DMatrix::SetFloatInfo(const char* field, std::span<const float> values) {
  if (values.size() != rows_) {
    return absl::InternalError(fmt::format("{}: {} values for {} rows", field, values.size(), rows_));
  }
  XGB_RETURN_IF_ERROR(XGDMatrixSetFloatInfo(handle(), field, values.data(), values.size()));
  return absl::OkStatus();
}

absl::Status DMatrix::SetFeatureNames(const std::vector<std::string>& names) {
  std::vector<const char*> c = CStrings(names);
  XGB_RETURN_IF_ERROR(XGDMatrixSetStrFeatureInfo(handle(), "feature_name", c.data(), c.size()));
  return absl::OkStatus();
}

absl::StatusOr<Booster> Booster::Create(const std::vector<const DMatrix*>& cache) {
  InitXgboost();
  std::vector<DMatrixHandle> handles;
  for (const DMatrix* m : cache) handles.push_back(m->handle());
  BoosterHandle handle = nullptr;
  XGB_RETURN_IF_ERROR(XGBoosterCreate(handles.data(), handles.size(), &handle));
  Booster booster;
  booster.handle_.reset(handle);
  return booster;
}

absl::StatusOr<Booster> Booster::LoadModel(const std::string& path) {
  ASSIGN_OR_RETURN(Booster booster, Create({}));
  XGB_RETURN_IF_ERROR(XGBoosterLoadModel(booster.handle(), path.c_str()));
  return booster;
}

absl::StatusOr<Booster> Booster::FromJson(std::string_view json) {
  ASSIGN_OR_RETURN(Booster booster, Create({}));
  XGB_RETURN_IF_ERROR(XGBoosterLoadModelFromBuffer(booster.handle(), json.data(), json.size()));
  return booster;
}

absl::Status Booster::SetParam(const std::string& name, const std::string& value) {
  if (XGBoosterSetParam(handle(), name.c_str(), value.c_str()) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("XGBoost parameter {}={}: {}", name, value, XGBGetLastError()));
  }
  return absl::OkStatus();
}

absl::Status Booster::UpdateOneIter(int iteration, const DMatrix& train) {
  XGB_RETURN_IF_ERROR(XGBoosterUpdateOneIter(handle(), iteration, train.handle()));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> Booster::Predict(const DMatrix& data, bool margin) const {
  const std::string config = fmt::format(
      R"({{"type": {}, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
      R"("strict_shape": false}})",
      margin ? 1 : 0);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  XGB_RETURN_IF_ERROR(XGBoosterPredictFromDMatrix(handle(), data.handle(), config.c_str(),
                                                  &shape, &dim, &result));
  return std::vector<float>(result, result + data.rows());
}

absl::StatusOr<std::span<const float>> Booster::PredictFromDense(const float* values,
                                                                 uint64_t rows, uint64_t cols,
                                                                 bool margin) const {
  // The array interface protocol (version 3) that XGBoost reads the values through.
  const std::string array = fmt::format(
      R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
      reinterpret_cast<uintptr_t>(values), rows, cols);
  const std::string config = fmt::format(
      R"({{"type": {}, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
      R"("strict_shape": false, "missing": NaN, "cache_id": 0}})",
      margin ? 1 : 0);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  XGB_RETURN_IF_ERROR(XGBoosterPredictFromDense(handle(), array.c_str(), config.c_str(), nullptr,
                                                &shape, &dim, &result));
  return std::span<const float>(result, rows);
}

absl::Status Booster::SetFeatureNames(const std::vector<std::string>& names) {
  std::vector<const char*> c = CStrings(names);
  XGB_RETURN_IF_ERROR(XGBoosterSetStrFeatureInfo(handle(), "feature_name", c.data(), c.size()));
  return absl::OkStatus();
}

absl::Status Booster::SaveModel(const std::string& path) const {
  XGB_RETURN_IF_ERROR(XGBoosterSaveModel(handle(), path.c_str()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Booster::SaveJson() const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  XGB_RETURN_IF_ERROR(
      XGBoosterSaveModelToBuffer(handle(), R"({"format": "json"})", &length, &bytes));
  return std::string(bytes, length);
}

absl::StatusOr<int> Booster::BoostedRounds() const {
  int rounds = 0;
  XGB_RETURN_IF_ERROR(XGBoosterBoostedRounds(handle(), &rounds));
  return rounds;
}

}  // namespace fraud
