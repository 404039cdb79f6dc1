// Times ComputeFeatures (the batch path over FeatureState::Process), one thread, I/O excluded.
//   features_bench FILE [--feature-set NAME] [--runs N]
// Prints one JSON line: rows, feature_set, runs, best_seconds, tx_per_second.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "data/reader.h"
#include "features/batch.h"
#include "features/feature_spec.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [--feature-set NAME] [--runs N]\n", argv[0]);
    return 2;
  }
  std::string feature_set(fraud::kDefaultFeatureSet);
  int runs = 5;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--feature-set") feature_set = argv[i + 1];
    if (flag == "--runs") runs = std::atoi(argv[i + 1]);
  }
  const fraud::FeatureSpec* spec = fraud::FindFeatureSpec(feature_set);
  if (spec == nullptr) {
    std::fprintf(stderr, "unknown feature set %s\n", feature_set.c_str());
    return 2;
  }
  auto txs = fraud::ReadTransactions(argv[1]);
  if (!txs.ok()) {
    std::fprintf(stderr, "%s\n", txs.status().ToString().c_str());
    return 1;
  }
  fraud::Clock& clock = fraud::Clock::Real();
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const int64_t start = clock.NowNanos();
    auto matrix = fraud::ComputeFeatures(*txs, *spec);
    const double seconds = (clock.NowNanos() - start) * 1e-9;
    if (!matrix.ok() || matrix->rows != txs->size()) return 1;
    if (seconds < best) best = seconds;
  }
  std::printf(
      "{\"rows\": %zu, \"feature_set\": \"%s\", \"runs\": %d, \"best_seconds\": %.6f, "
      "\"tx_per_second\": %.0f}\n",
      txs->size(), spec->name.c_str(), runs, best, txs->size() / best);
  return 0;
}
