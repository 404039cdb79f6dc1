#include "model/scorer.h"

#include <algorithm>
#include <thread>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud {

absl::StatusOr<std::unique_ptr<Scorer>> Scorer::Create(const ModelArtifact& model) {
  ASSIGN_OR_RETURN(Forest forest, Forest::LoadFile(model.booster_path()));
  const size_t cols = model.features.names.size();
  if (forest.num_features() != cols) {
    return absl::FailedPreconditionError(
        fmt::format("{}: the booster has {} features, the feature spec {}", model.booster_path(),
                    forest.num_features(), cols));
  }
  return std::unique_ptr<Scorer>(new Scorer(std::move(forest), cols));
}

absl::StatusOr<std::vector<float>> Scorer::Score(std::span<const float> values, size_t rows) const {
  if (values.size() != rows * cols_) {
    return absl::InternalError(
        fmt::format("{} values for {} rows of {} features", values.size(), rows, cols_));
  }
  if (rows == 0) return std::vector<float>();
  std::vector<float> scores(rows);
  // Large batches (files) are split over the cores; the forest is immutable and thread-safe.
  constexpr size_t kRowsPerThread = 1 << 16;
  const size_t threads =
      std::clamp<size_t>(rows / kRowsPerThread, 1, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  const size_t per_thread = (rows + threads - 1) / threads;
  for (size_t begin = per_thread; begin < rows; begin += per_thread) {
    pool.emplace_back([&, begin] {
      const size_t n = std::min(per_thread, rows - begin);
      forest_.PredictBatch(values.data() + begin * cols_, n, cols_, scores.data() + begin);
    });
  }
  forest_.PredictBatch(values.data(), std::min(per_thread, rows), cols_, scores.data());
  for (std::thread& t : pool) t.join();
  return scores;
}

}  // namespace fraud
