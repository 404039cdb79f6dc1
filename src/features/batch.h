#pragma once

// Features of a whole data set (training, evaluation, `fraudstream features`): the
// transactions are replayed through one FeatureState, so the values are exactly those the
// stream engine computes for the same transactions arriving in the same order.
//
//   ASSIGN_OR_RETURN(std::vector<Transaction> txs, ReadTransactions("history.csv"));
//   ASSIGN_OR_RETURN(FeatureMatrix m, ComputeFeatures(txs, *FindFeatureSpec("handbook-v1")));
//   float amount = m.at(0, m.ColumnOf("TX_AMOUNT"));
//
// Order: features are computed in event-time order (tx_datetime; ties keep their order in the
// span, which is their arrival order). A span that is not sorted is replayed in stably sorted
// order; row i of the matrix is always the features of txs[i]. Each row's labels (tx_fraud)
// feed the terminal risk of later rows once they are older than the delay.
//
// Thread-safe: a pure function of its arguments.

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "features/feature_spec.h"
#include "features/window_state.h"

namespace fraud {

// Row-major float features: values[r * cols + c].
struct FeatureMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;
  std::vector<std::string> names;  // cols names, the spec's order

  const float* row(size_t r) const { return values.data() + r * cols; }
  float at(size_t r, size_t c) const { return values[r * cols + c]; }
  // Column index of a feature name, or -1.
  int ColumnOf(std::string_view name) const;
};

struct BatchOptions {
  StateOptions state;
  // Called every `progress_every` rows with the number of rows done (e.g. a Progress line).
  std::function<void(size_t)> progress;
  size_t progress_every = 1 << 16;
  // 2 or more: the customer and the terminal halves of the state run on two threads (they
  // share nothing); the result is the same.
  int threads = 1;
};

// Fails with kInvalidArgument when the spec has no features.
absl::StatusOr<FeatureMatrix> ComputeFeatures(std::span<const Transaction> txs,
                                              const FeatureSpec& spec,
                                              const BatchOptions& options = {});

}  // namespace fraud
