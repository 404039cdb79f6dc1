#include "features/batch.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "fmt/format.h"

namespace fraud {

int FeatureMatrix::ColumnOf(std::string_view name) const {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

absl::StatusOr<FeatureMatrix> ComputeFeatures(std::span<const Transaction> txs,
                                              const FeatureSpec& spec,
                                              const BatchOptions& options) {
  if (spec.names.empty()) {
    return absl::InvalidArgumentError(fmt::format("feature set '{}' has no features", spec.name));
  }
  FeatureMatrix m;
  m.rows = txs.size();
  m.cols = spec.size();
  m.names = spec.names;
  m.values.resize(m.rows * m.cols);
  FeatureState state(spec, options.state);

  const bool sorted = std::is_sorted(txs.begin(), txs.end(), [](const auto& a, const auto& b) {
    return a.tx_datetime < b.tx_datetime;
  });
  std::vector<size_t> order;
  if (!sorted) {
    order.resize(txs.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return txs[a].tx_datetime < txs[b].tx_datetime; });
  }
  const size_t every = std::max<size_t>(1, options.progress_every);
  const size_t n = txs.size();
  const auto at = [&](size_t k) -> const Transaction& { return txs[sorted ? k : order[k]]; };
  // One pass over the rows in event-time order through one half of the state (customers or
  // terminals: they share nothing, and write disjoint columns), exactly as
  // FeatureState::Process would.
  const auto pass = [&](auto& part, auto key_of, bool main_pass) {
    const auto key_at = [&](size_t k) { return key_of(at(k)); };
    for (size_t k = 0; k < n; ++k) {
      const size_t i = sorted ? k : order[k];
      PrefetchAhead(part, k, n, key_at);
      float* row = m.values.data() + i * m.cols;
      if (main_pass) ComputeTransactionFeatures(txs[i], row);
      part.Process(txs[i], row);
      if (main_pass && options.progress && (k + 1) % every == 0) options.progress(k + 1);
    }
  };
  const auto customer_of = [](const Transaction& tx) { return tx.customer_id; };
  const auto terminal_of = [](const Transaction& tx) { return tx.terminal_id; };
  if (options.threads >= 2) {
    std::thread terminals([&] { pass(state.terminals(), terminal_of, false); });
    pass(state.customers(), customer_of, true);
    terminals.join();
  } else {
    pass(state.customers(), customer_of, true);
    pass(state.terminals(), terminal_of, false);
  }
  if (options.progress) options.progress(txs.size());
  return m;
}

}  // namespace fraud
