#pragma once

// Keyed window state: the one implementation of the features of DESIGN §3, used by the batch
// path (features/batch.h, a whole file in event-time order) and by streaming / REST (one
// transaction at a time).
//
//   FeatureState state(*FindFeatureSpec("handbook-v1"));
//   std::vector<float> row(state.spec().size());
//   state.Process(tx, row.data());     // features of tx, then tx joins the history
//   state.Compute(tx, row.data());     // features only (REST dry_run); the state is unchanged
//   state.SetLabel(id, terminal, time, 1);  // a label arriving later (transaction-labels)
//   std::string checkpoint = state.Serialize();
//   ASSIGN_OR_RETURN(FeatureState restored, FeatureState::Deserialize(checkpoint, spec));
//
// Definitions (t = the transaction's event time in seconds, a = its amount, N = a window in
// days, D = the terminal delay in days; "history" = the transactions recorded before this one):
//   TX_AMOUNT                  a in currency units (cents / 100)
//   TX_DURING_WEEKEND          1 when the weekday of t is Saturday or Sunday, else 0
//   TX_DURING_NIGHT            1 when the hour of t is <= 6 (00:00:00 .. 06:59:59), else 0
//   CUSTOMER_ID_NB_TX_N        1 + the customer's history with time in (t - N days, t]
//   CUSTOMER_ID_AVG_AMOUNT_N   mean amount of those transactions, this one included
//   TERMINAL_ID_NB_TX_N        the terminal's history with time in (t - (N+D) days, t - D days]
//   TERMINAL_ID_RISK_N         frauds among those / NB_TX_N; 0 when NB_TX_N is 0
// fraudstream-v2 adds the customer amount profile (Nmax = the longest customer window):
//   CUSTOMER_ID_AMOUNT_RATIO_N        a / mean amount of the customer's history in (t - N, t],
//                                     this transaction EXCLUDED (so a x5 amount shows as ~5
//                                     instead of being diluted by itself); 1 when that is empty
//   CUSTOMER_ID_STD_AMOUNT_Nmax       population standard deviation of the amounts counted by
//                                     AVG_AMOUNT_Nmax (this one included); 0 for one transaction
//   CUSTOMER_ID_AMOUNT_ZSCORE_Nmax    (a - mean) / max(std, 0.01) over the history in
//                                     (t - Nmax, t], this one EXCLUDED, population std;
//                                     0 with fewer than 2 earlier transactions
//   CUSTOMER_ID_SECONDS_SINCE_PREV_TX t - time of the customer's latest earlier transaction,
//                                     capped at Nmax days (also when there is none), so that
//                                     the value never depends on history the state has evicted
//   TERMINAL_ID_NB_FRAUD_N            known frauds (tx_fraud = 1) in (t - (N+D), t - D]
//   TERMINAL_ID_SECONDS_SINCE_KNOWN_FRAUD
//                                     (t - D) - time of the terminal's newest fraud at or
//                                     before t - D, capped at Nmax days (also when none)
//   TERMINAL_ID_SECONDS_SINCE_FIRST_KNOWN_FRAUD
//                                     (t - D) - time of the oldest fraud in
//                                     (t - (Nmax+D), t - D]; Nmax days when none: how long
//                                     the terminal has been known to be compromised
// fraudstream-v3 adds the customer anomaly profile (B = spec.customer_baseline_days; the
// baseline = the customer's history in (t - Nmax, t - B], n_b transactions summing s_b, so a
// compromise younger than B days cannot inflate it; "recent" = the customer's history in
// (t - B, t], this transaction EXCLUDED):
//   CUSTOMER_ID_AMOUNT_RATIO_BASELINE a * n_b / s_b; 1 when the baseline is empty (or sums 0)
//   CUSTOMER_ID_NB_TX_OVER_kX_BASELINE_BDAY_WINDOW
//                                     recent transactions with amount > k * s_b / n_b, for each
//                                     k of spec.anomaly_factors; 0 when the baseline is empty
//   CUSTOMER_ID_MAX_RATIO_BASELINE_BDAY_WINDOW
//                                     the largest amount * n_b / s_b of the recent
//                                     transactions; 0 when there is none or no baseline
//   (a compromised card's repeated x5 amounts show as a count; the state is unchanged: these
//   are read from the same per-key events, in O(recent transactions))
// fraudstream-v4 adds the terminal fraud streak:
//   TERMINAL_ID_KNOWN_FRAUD_STREAK    how many of the terminal's newest transactions in
//                                     (t - (Nmax+D), t - D] are known frauds in a row, counted
//                                     back from the newest one to the first not known to be
//                                     fraud; 0 when the newest is not a fraud or there is none
//   (every transaction of a compromised terminal is a fraud, while a compromised card's fraud
//   at a terminal is followed by genuine ones; read from the same events, in O(streak))
//
// Ties: transactions with the same event time count in arrival order: a transaction sees the
// same-second transactions recorded before it, never those recorded after it.
//
// Labels (terminal risk): each terminal event carries the tx_fraud of its transaction as it was
// recorded (Update/Process), or a label set later with SetLabel. Only events at least D days
// old enter a terminal window, so a label never influences a score before the delay has
// passed in event time. An event without a label (tx_fraud absent, e.g. a scored transaction
// whose chargeback never came) counts in NB_TX but not as a fraud: "not known to be fraud".
// When history is replayed, the label in the input row is used as if it had arrived after
// the delay (DESIGN §7).
//
// Out-of-order arrivals (streaming across partitions): a transaction older than the newest
// one of its key is inserted at its sorted position (after same-second ones) and its
// features see exactly the history with time <= t: the result is the one an in-order replay
// of the same arrivals gives. This path is slower (it shifts the key's events).
//
// Memory: each key keeps only the events that a window can still need: customers the last
// longest-customer-window seconds, terminals the last longest-terminal-window + delay
// seconds (30 and 37 days for the built-in sets), relative to the newest event time the
// state has seen, plus StateOptions::allowed_lateness_seconds. Eviction happens on every
// Update of a key; EvictExpired() sweeps keys that were not touched for a while. A
// transaction later than allowed_lateness_seconds behind the newest event time sees windows
// truncated at the retention limit.
//
// Keys: ids in [0, 2^24) live in a vector indexed by id (the dense ids of the simulator and
// the Otus data); other ids in an absl::flat_hash_map.
//
// Thread safety: none internally. Const methods (Compute, Serialize, accessors) may run
// concurrently with each other; anything else needs exclusive access. The stream engine owns
// one CustomerState per partition and shares a TerminalState behind its own lock.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/ids.h"
#include "core/transaction.h"
#include "features/feature_spec.h"

namespace fraud {

struct StateOptions {
  // Extra history kept beyond the windows, so transactions that arrive up to this much
  // behind the newest event time still get exact windows.
  int64_t allowed_lateness_seconds = 0;
  // Whether Update, Merge and Deserialize move the newest event time that eviction follows,
  // or only Process does. false where history is loaded ahead of what is processed (the
  // stream: a partition rebuilt up to where a faster worker left it, the terminal feed):
  // events recorded but not processed cannot then evict what processing still needs.
  bool history_moves_time = true;
};

namespace features_internal {

inline constexpr int kMaxHints = 8;

// Per-key events in event-time order, with the evicted prefix dropped lazily.
template <typename Event>
struct History {
  std::vector<Event> events;  // [head, size) are live
  uint32_t head = 0;
  // Where each window started at the key's previous transaction (indexes into events): the
  // next in-order transaction moves them forward by a step or two instead of searching.
  // Only hints: a stale one costs time, never correctness.
  uint32_t hint[kMaxHints] = {};

  size_t size() const { return events.size() - head; }
  bool empty() const { return events.size() == head; }
  const Event* begin() const { return events.data() + head; }
  const Event* end() const { return events.data() + events.size(); }
};

// Events in a vector indexed by id for ids in [0, kDenseLimit), others in a hash map.
template <typename Id, typename Entry>
class KeyedStore {
 public:
  static constexpr int64_t kDenseLimit = int64_t{1} << 24;

  const Entry* Find(Id id) const {
    const int64_t v = id.value();
    if (v >= 0 && v < static_cast<int64_t>(dense_.size())) {
      const Entry& e = dense_[v];
      return e.empty() ? nullptr : &e;
    }
    if (sparse_.empty()) return nullptr;
    const auto it = sparse_.find(v);
    return it == sparse_.end() ? nullptr : &it->second;
  }
  Entry* FindMutable(Id id) { return const_cast<Entry*>(std::as_const(*this).Find(id)); }

  // Cache hints for batch loops: the slot of a dense id, and the ends of its events.
  void PrefetchSlot(Id id) const {
    const int64_t v = id.value();
    if (v >= 0 && v < static_cast<int64_t>(dense_.size())) __builtin_prefetch(&dense_[v]);
  }
  void PrefetchEvents(Id id) const {
    const int64_t v = id.value();
    if (v < 0 || v >= static_cast<int64_t>(dense_.size())) return;
    const Entry& e = dense_[v];
    const size_t n = e.size();
    if (n == 0) return;
    const char* first = reinterpret_cast<const char*>(e.begin());
    const char* last = reinterpret_cast<const char*>(e.end() - 1);
    __builtin_prefetch(first);
    __builtin_prefetch(last);
    // The windows that end "now" (customers) or D days ago (terminals) start a few events back.
    for (size_t back = 64; back <= 256 && back < static_cast<size_t>(last - first); back += 64) {
      __builtin_prefetch(last - back);
    }
  }

  Entry& FindOrCreate(Id id) {
    const int64_t v = id.value();
    if (v >= 0 && v < static_cast<int64_t>(dense_.size())) return dense_[v];
    if (v >= 0 && v < kDenseLimit && v < 2 * static_cast<int64_t>(dense_.size()) + 65536) {
      Grow(std::min(kDenseLimit, std::max<int64_t>(v + 1, 2 * dense_.size())));
      return dense_[v];
    }
    return sparse_[v];
  }

  // f(Id, Entry&) for every non-empty entry, in no particular order.
  template <typename F>
  void ForEach(F&& f) {
    for (size_t i = 0; i < dense_.size(); ++i) {
      if (!dense_[i].empty()) f(Id(static_cast<int64_t>(i)), dense_[i]);
    }
    for (auto& [k, e] : sparse_) {
      if (!e.empty()) f(Id(k), e);
    }
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < dense_.size(); ++i) {
      if (!dense_[i].empty()) f(Id(static_cast<int64_t>(i)), dense_[i]);
    }
    for (const auto& [k, e] : sparse_) {
      if (!e.empty()) f(Id(k), e);
    }
  }

  // Frees entries without events.
  void Compact() {
    for (Entry& e : dense_) {
      if (e.empty()) e = Entry();
    }
    absl::erase_if(sparse_, [](const auto& kv) { return kv.second.empty(); });
  }

  size_t NumKeys() const {
    size_t n = 0;
    ForEach([&n](Id, const Entry&) { ++n; });
    return n;
  }
  size_t NumEvents() const {
    size_t n = 0;
    ForEach([&n](Id, const Entry& e) { n += e.size(); });
    return n;
  }
  size_t EventCount(Id id) const {
    const Entry* e = Find(id);
    return e == nullptr ? 0 : e->size();
  }
  int64_t OldestTime(Id id) const {
    const Entry* e = Find(id);
    return e == nullptr ? kAbsent : e->begin()->time;
  }
  // Moves the entries whose id passes `keep` into a new store.
  KeyedStore ExtractIf(const std::function<bool(Id)>& keep) {
    KeyedStore out;
    ForEach([&](Id id, Entry& e) {
      if (keep(id)) {
        out.FindOrCreate(id) = std::move(e);
        e = Entry();
      }
    });
    Compact();
    return out;
  }

 private:
  void Grow(int64_t size) {
    const int64_t old = static_cast<int64_t>(dense_.size());
    dense_.resize(size);
    if (sparse_.empty()) return;
    for (auto it = sparse_.begin(); it != sparse_.end();) {
      if (it->first >= old && it->first < size) {
        dense_[it->first] = std::move(it->second);
        sparse_.erase(it++);
      } else {
        ++it;
      }
    }
  }

  std::vector<Entry> dense_;
  absl::flat_hash_map<int64_t, Entry> sparse_;
};

// Cumulative sums are kept modulo 2^64 (inclusive of the event); window sums are
// differences, exact whenever the true window sum fits, whatever the key's lifetime total.
struct CustomerEvent {
  int64_t time;
  uint64_t cum_amount;   // sum of amount_cents
  uint64_t cum_squares;  // sum of amount_cents^2
};
struct CustomerHistory : History<CustomerEvent> {
  uint64_t base_amount = 0;  // cumulative values before the first live event
  uint64_t base_squares = 0;
};

struct TerminalEvent {
  int64_t time;
  int64_t transaction_id;
  uint32_t cum_frauds;  // modulo 2^32
  int8_t label;         // 0, 1 or kAbsentLabel
};
struct TerminalHistory : History<TerminalEvent> {
  uint32_t base_frauds = 0;
};

}  // namespace features_internal

// TX_AMOUNT, TX_DURING_WEEKEND, TX_DURING_NIGHT into row[0..2]. Stateless.
void ComputeTransactionFeatures(const Transaction& tx, float* row);

// The customer part: CUSTOMER_ID_* columns (windows and, for v2, the profile). Keyed by
// CustomerId; moves with the Kafka partition (the producer keys by customer_id).
class CustomerState {
 public:
  explicit CustomerState(const FeatureSpec& spec, StateOptions options = {});

  // Writes this part's columns of a full feature row (row has spec.size() floats).
  void Compute(const Transaction& tx, float* row) const;
  void Update(const Transaction& tx);
  void Process(const Transaction& tx, float* row);

  // Drops expired events of every key and frees keys left empty.
  void EvictExpired();

  // Optional cache hints (see PrefetchAhead).
  void PrefetchKey(CustomerId id) const { store_.PrefetchSlot(id); }
  void PrefetchEvents(CustomerId id) const { store_.PrefetchEvents(id); }

  // The keys for which keep(id) is true move into the returned state (same spec); e.g. the
  // customers of a partition that is being handed to another worker.
  CustomerState ExtractIf(const std::function<bool(CustomerId)>& keep);
  // Adds the events of other (keys present in both are merged in event-time order).
  void Merge(const CustomerState& other);

  // Versioned little-endian binary; keep = nullptr: every key.
  std::string Serialize(const std::function<bool(CustomerId)>& keep = nullptr) const;
  // Fails with kDataLoss on a corrupt or truncated blob, kFailedPrecondition when it was
  // written for other windows.
  static absl::StatusOr<CustomerState> Deserialize(std::string_view bytes, const FeatureSpec& spec,
                                                   StateOptions options = {});

  int64_t newest_time() const { return newest_time_; }
  int64_t retention_seconds() const { return retention_; }
  size_t num_keys() const;
  size_t num_events() const;
  size_t EventCount(CustomerId id) const;
  // Event time of the key's oldest retained event, or kAbsent.
  int64_t OldestTime(CustomerId id) const;
  // f(id) for every key, in no particular order.
  void ForEachKey(const std::function<void(CustomerId)>& f) const;

 private:
  using History = features_internal::CustomerHistory;

  // hints: where to store the window starts found (Process), or nullptr (Compute).
  void ComputeFrom(const History* h, const Transaction& tx, float* row, uint32_t* hints) const;
  void Insert(History& h, int64_t time, int64_t amount_cents);
  void Evict(History& h);

  std::vector<int64_t> windows_;  // seconds, ascending
  bool profile_;
  int first_column_;
  int first_profile_column_;
  // The anomaly profile (fraudstream-v3): baseline_ = B in seconds, 0 when off.
  int64_t baseline_ = 0;
  std::vector<int64_t> anomaly_factors_;
  int first_anomaly_column_ = -1;
  int64_t retention_;
  bool history_moves_time_;
  int64_t newest_time_ = kAbsent;
  features_internal::KeyedStore<CustomerId, History> store_;
};

// The terminal part: TERMINAL_ID_* columns, keyed by TerminalId. Only uses events at least
// the delay old, so it can be shared by every worker.
class TerminalState {
 public:
  explicit TerminalState(const FeatureSpec& spec, StateOptions options = {});

  void Compute(const Transaction& tx, float* row) const;
  void Update(const Transaction& tx);
  void Process(const Transaction& tx, float* row);

  // Sets the label of a recorded transaction (a message of transaction-labels): found by
  // terminal, event time and id. fraud: 0, 1 or kAbsentLabel. Returns false when the state
  // does not hold that transaction (not seen yet, or already evicted).
  bool SetLabel(TransactionId id, TerminalId terminal, int64_t event_time, int8_t fraud);

  void EvictExpired();

  void PrefetchKey(TerminalId id) const { store_.PrefetchSlot(id); }
  void PrefetchEvents(TerminalId id) const { store_.PrefetchEvents(id); }

  TerminalState ExtractIf(const std::function<bool(TerminalId)>& keep);
  void Merge(const TerminalState& other);

  std::string Serialize(const std::function<bool(TerminalId)>& keep = nullptr) const;
  static absl::StatusOr<TerminalState> Deserialize(std::string_view bytes, const FeatureSpec& spec,
                                                   StateOptions options = {});

  int64_t newest_time() const { return newest_time_; }
  int64_t retention_seconds() const { return retention_; }
  size_t num_keys() const;
  size_t num_events() const;
  size_t EventCount(TerminalId id) const;
  int64_t OldestTime(TerminalId id) const;

 private:
  using History = features_internal::TerminalHistory;

  void ComputeFrom(const History* h, const Transaction& tx, float* row, uint32_t* hints) const;
  void Insert(History& h, int64_t time, int64_t transaction_id, int8_t label);
  void Evict(History& h);

  std::vector<int64_t> windows_;  // seconds, ascending
  int64_t delay_;
  int first_column_;
  int first_profile_column_;  // -1 without the terminal profile
  int streak_column_;         // -1 without the fraud streak
  int64_t retention_;
  bool history_moves_time_;
  int64_t newest_time_ = kAbsent;
  features_internal::KeyedStore<TerminalId, History> store_;
};

// Cache hints for a loop that processes n transactions in order through one part of the
// state (CustomerState or TerminalState): call it before processing the i-th; key_at(j) is the
// j-th transaction's key of that part. Each key's slot is fetched 16 transactions ahead, its
// events 6 ahead. They change nothing; a key's history is otherwise a cache miss per transaction.
template <class Part, class KeyAt>
void PrefetchAhead(const Part& part, size_t i, size_t n, KeyAt key_at) {
  constexpr size_t kSlotsAhead = 16;
  constexpr size_t kEventsAhead = 6;
  if (i + kSlotsAhead < n) part.PrefetchKey(key_at(i + kSlotsAhead));
  if (i + kEventsAhead < n) part.PrefetchEvents(key_at(i + kEventsAhead));
}

// The whole state for one feature spec: transaction columns + customers + terminals.
class FeatureState {
 public:
  explicit FeatureState(const FeatureSpec& spec, StateOptions options = {});

  const FeatureSpec& spec() const { return spec_; }

  // Features of tx into row[0 .. spec().size()), from the history only; no change.
  void Compute(const Transaction& tx, float* row) const;
  // Records tx in the history (customer and terminal).
  void Update(const Transaction& tx);
  // Compute, then Update: the usual path, one key lookup per part.
  void Process(const Transaction& tx, float* row);

  bool SetLabel(TransactionId id, TerminalId terminal, int64_t event_time, int8_t fraud) {
    return terminals_.SetLabel(id, terminal, event_time, fraud);
  }
  void EvictExpired();

  CustomerState& customers() { return customers_; }
  const CustomerState& customers() const { return customers_; }
  TerminalState& terminals() { return terminals_; }
  const TerminalState& terminals() const { return terminals_; }

  // Spec name + both parts, versioned binary.
  std::string Serialize() const;
  // kFailedPrecondition when the blob was written for another feature set.
  static absl::StatusOr<FeatureState> Deserialize(std::string_view bytes, const FeatureSpec& spec,
                                                  StateOptions options = {});

 private:
  FeatureState(FeatureSpec spec, CustomerState customers, TerminalState terminals);

  FeatureSpec spec_;
  CustomerState customers_;
  TerminalState terminals_;
};

}  // namespace fraud
