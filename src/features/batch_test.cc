#include "features/batch.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

#include "core/file.h"
#include "core/strings.h"
#include "core/testing.h"
#include "data/reader.h"
#include "gtest/gtest.h"

namespace fraud {
namespace {

const FeatureSpec& V1() { return *FindFeatureSpec("handbook-v1"); }
const FeatureSpec& V2() { return *FindFeatureSpec("fraudstream-v2"); }
const FeatureSpec& V3() { return *FindFeatureSpec("fraudstream-v3"); }
const FeatureSpec& V4() { return *FindFeatureSpec("fraudstream-v4"); }

std::vector<Transaction> Golden() {
  auto txs = ReadTransactions(GoldenPath("features/small.csv"));
  EXPECT_TRUE(txs.ok()) << txs.status();
  return txs.ok() ? *txs : std::vector<Transaction>{};
}

// tests/golden/features/small.features.csv was written once by the handbook's own pandas code
// (bench/pandas_features.py golden small.csv small.features.csv): transaction_id, then the 15
// features. The fixture has no same-second transactions of one customer, so pandas' sort
// order cannot matter.
TEST(ComputeFeatures, MatchesTheHandbooksPandasCode) {
  const std::vector<Transaction> txs = Golden();
  ASSERT_GT(txs.size(), 5000u);
  auto matrix = ComputeFeatures(txs, V1());
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  ASSERT_EQ(matrix->cols, 15u);
  auto text = ReadFile(GoldenPath("features/small.features.csv"));
  ASSERT_TRUE(text.ok()) << text.status();
  std::vector<std::string_view> lines = Split(Trim(*text), '\n');
  ASSERT_EQ(lines.size(), txs.size() + 1);
  const std::vector<std::string_view> header = Split(lines[0], ',');
  ASSERT_EQ(header.size(), 16u);
  for (size_t c = 0; c < 15; ++c) EXPECT_EQ(header[c + 1], matrix->names[c]);
  size_t mismatches = 0;
  for (size_t r = 0; r < txs.size(); ++r) {
    const std::vector<std::string_view> fields = Split(lines[r + 1], ',');
    ASSERT_EQ(fields.size(), 16u);
    ASSERT_EQ(fields[0], std::to_string(txs[r].transaction_id.value()));
    for (size_t c = 0; c < 15; ++c) {
      const double want = std::strtod(std::string(fields[c + 1]).c_str(), nullptr);
      const double got = matrix->at(r, c);
      const bool is_count = matrix->names[c].find("_NB_TX_") != std::string::npos ||
                            matrix->names[c].starts_with("TX_DURING");
      const bool ok =
          is_count ? got == want : std::abs(got - want) <= 1e-4 * std::max(1.0, std::abs(want));
      if (!ok && ++mismatches <= 10) {
        ADD_FAILURE() << "row " << r << " " << matrix->names[c] << ": ours " << got << ", pandas "
                      << want;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(ComputeFeatures, V2StartsWithV1) {
  const std::vector<Transaction> txs = Golden();
  auto v1 = ComputeFeatures(txs, V1());
  auto v2 = ComputeFeatures(txs, V2());
  ASSERT_TRUE(v1.ok() && v2.ok());
  ASSERT_EQ(v2->cols, 26u);
  for (size_t r = 0; r < txs.size(); ++r) {
    ASSERT_TRUE(std::equal(v1->row(r), v1->row(r) + 15, v2->row(r))) << r;
  }
  EXPECT_EQ(v2->ColumnOf("CUSTOMER_ID_SECONDS_SINCE_PREV_TX"), 20);
}

TEST(ComputeFeatures, EachSetStartsWithThePreviousOne) {
  const std::vector<Transaction> txs = Golden();
  const FeatureSpec* sets[] = {&V2(), &V3(), &V4()};
  for (size_t i = 1; i < std::size(sets); ++i) {
    auto before = ComputeFeatures(txs, *sets[i - 1]);
    auto after = ComputeFeatures(txs, *sets[i], {.threads = 2});
    ASSERT_TRUE(before.ok() && after.ok());
    ASSERT_GT(after->cols, before->cols);
    std::vector<float> largest(after->cols - before->cols, 0.0f);
    for (size_t r = 0; r < txs.size(); ++r) {
      ASSERT_TRUE(std::equal(before->row(r), before->row(r) + before->cols, after->row(r)))
          << sets[i]->name << " " << r;
      for (size_t c = before->cols; c < after->cols; ++c) {
        largest[c - before->cols] = std::max(largest[c - before->cols], after->row(r)[c]);
      }
    }
    for (size_t c = 0; c < largest.size(); ++c) {  // the fixture exercises every new column
      EXPECT_GT(largest[c], 0.0f) << after->names[before->cols + c];
    }
  }
  EXPECT_EQ(ComputeFeatures(txs, V4())->cols, 31u);
}

TEST(ComputeFeatures, StreamingEqualsBatch) {
  // One transaction at a time through FeatureState, checkpointed and restored half way:
  // value for value the batch matrix.
  const std::vector<Transaction> txs = Golden();
  for (const FeatureSpec* spec : {&V1(), &V2(), &V3(), &V4()}) {
    auto batch = ComputeFeatures(txs, *spec);
    ASSERT_TRUE(batch.ok());
    auto state = std::make_unique<FeatureState>(*spec);
    std::vector<float> row(spec->size());
    for (size_t r = 0; r < txs.size(); ++r) {
      if (r == txs.size() / 2) {
        const std::string checkpoint = state->Serialize();
        state.reset();
        auto restored = FeatureState::Deserialize(checkpoint, *spec);
        ASSERT_TRUE(restored.ok()) << restored.status();
        state = std::make_unique<FeatureState>(std::move(*restored));
      }
      if (r % 3 == 0) {  // the REST path: dry run, then record
        state->Compute(txs[r], row.data());
        state->Update(txs[r]);
      } else {
        state->Process(txs[r], row.data());
      }
      ASSERT_TRUE(std::equal(row.begin(), row.end(), batch->row(r))) << spec->name << " " << r;
    }
  }
}

TEST(ComputeFeatures, UnsortedInputIsComputedInEventTimeOrder) {
  const std::vector<Transaction> txs = Golden();
  auto sorted = ComputeFeatures(txs, V3());
  ASSERT_TRUE(sorted.ok());
  std::vector<size_t> perm(txs.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), std::mt19937(4));
  std::vector<Transaction> shuffled;
  for (size_t i : perm) shuffled.push_back(txs[i]);
  auto m = ComputeFeatures(shuffled, V3());
  ASSERT_TRUE(m.ok());
  for (size_t k = 0; k < perm.size(); ++k) {
    ASSERT_TRUE(std::equal(m->row(k), m->row(k) + m->cols, sorted->row(perm[k]))) << k;
  }
}

TEST(ComputeFeatures, EmptyInputAndEmptySpec) {
  auto m = ComputeFeatures({}, V1());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->rows, 0u);
  EXPECT_EQ(m->cols, 15u);
  FeatureSpec empty;
  EXPECT_EQ(ComputeFeatures({}, empty).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fraud
