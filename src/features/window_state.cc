#include "features/window_state.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include "core/check.h"
#include "core/status.h"
#include "core/time.h"
#include "fmt/format.h"

namespace fraud {

static_assert(std::endian::native == std::endian::little,
              "checkpoints are written in host order, which must be little-endian");

using features_internal::CustomerEvent;
using features_internal::TerminalEvent;

namespace {

__extension__ using Int128 = __int128;

constexpr uint32_t kStateFormatVersion = 1;
constexpr char kCustomerMagic[4] = {'F', 'S', 'C', 'S'};
constexpr char kTerminalMagic[4] = {'F', 'S', 'T', 'S'};
constexpr char kFeatureMagic[4] = {'F', 'S', 'F', 'S'};

// First event with time > bound in [first, last).
template <typename Event>
const Event* After(const Event* first, const Event* last, int64_t bound) {
  return std::upper_bound(first, last, bound, [](int64_t b, const Event& e) { return b < e.time; });
}

// After(), galloping from the back: O(log d) for an answer d events before last. Windows
// that end at "now" start near the back of a key's history.
template <typename Event>
const Event* AfterFromBack(const Event* first, const Event* last, int64_t bound) {
  const Event* hi = last;  // every event in [hi, last) has time > bound
  size_t step = 1;
  while (hi != first) {
    const Event* probe = hi - std::min<size_t>(step, hi - first);
    if (probe->time <= bound) return After(probe + 1, hi, bound);
    hi = probe;
    step *= 2;
  }
  return first;
}

// After(), galloping from the front: the longest window starts near the oldest retained
// event, since retention is the longest window (+ delay).
template <typename Event>
const Event* AfterFromFront(const Event* first, const Event* last, int64_t bound) {
  const Event* lo = first;  // every event in [first, lo) has time <= bound
  size_t step = 1;
  while (lo != last) {
    const Event* probe = lo + (std::min<size_t>(step, last - lo) - 1);
    if (probe->time > bound) return After(lo, probe, bound);
    lo = probe + 1;
    step *= 2;
  }
  return last;
}

// After(), starting from a hint (where the answer was for the key's previous transaction):
// an in-order stream moves it by a step or two, a stale hint falls back to galloping.
template <typename Event>
const Event* Seek(const Event* first, const Event* last, const Event* base, uint32_t hint,
                  int64_t bound) {
  const Event* p = base + std::clamp<size_t>(hint, first - base, last - base);
  if (p != first && p[-1].time > bound) return AfterFromBack(first, p, bound);
  for (int steps = 0; p != last && p->time <= bound; ++p) {
    if (++steps == 8) return AfterFromFront(p, last, bound);
  }
  return p;
}

// Drops the events at the front with time <= cutoff; base_of(event) becomes the history's
// base. Compacts the vector once the dropped prefix is at least half of it.
template <typename HistoryT, typename SetBase>
void DropFront(HistoryT& h, int64_t cutoff, SetBase set_base) {
  if (cutoff == kAbsent) return;
  auto& events = h.events;
  uint32_t head = h.head;
  const uint32_t size = static_cast<uint32_t>(events.size());
  if (head == size || events[head].time > cutoff) return;
  while (head < size && events[head].time <= cutoff) ++head;
  set_base(events[head - 1]);
  if (head == size) {
    events.clear();
    head = 0;
  } else if (head >= 16 && head * 2 >= size) {
    events.erase(events.begin(), events.begin() + head);
    for (uint32_t& hint : h.hint) hint = hint > head ? hint - head : 0;
    head = 0;
  }
  h.head = head;
}

int64_t Cutoff(int64_t newest, int64_t retention) {
  return newest == kAbsent ? kAbsent : newest - retention;
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <typename T>
  void Put(T value) {
    char buf[sizeof(T)];
    std::memcpy(buf, &value, sizeof(T));
    out_->append(buf, sizeof(T));
  }
  void PutBytes(std::string_view bytes) {
    Put<uint64_t>(bytes.size());
    out_->append(bytes);
  }
  // Reserves a u64 count to fill in later.
  size_t PlaceHolder() {
    const size_t at = out_->size();
    Put<uint64_t>(0);
    return at;
  }
  void Fill(size_t at, uint64_t value) { std::memcpy(out_->data() + at, &value, sizeof value); }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Get(T* value) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool GetBytes(std::string_view* out) {
    uint64_t n = 0;
    if (!Get(&n) || bytes_.size() - pos_ < n) return false;
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Magic(const char (&magic)[4]) {
    if (bytes_.size() - pos_ < 4 || std::memcmp(bytes_.data() + pos_, magic, 4) != 0) {
      return false;
    }
    pos_ += 4;
    return true;
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

absl::Status Corrupt(std::string_view what, std::string_view detail) {
  return absl::DataLossError(fmt::format("{} checkpoint is corrupt: {}", what, detail));
}

// Header shared by both parts: magic, format version, retention, newest time, key count.
absl::Status ReadHeader(Reader& r, const char (&magic)[4], std::string_view what,
                        int64_t needed_retention, int64_t* newest, uint64_t* keys) {
  uint32_t version = 0;
  int64_t retention = 0;
  if (!r.Magic(magic)) return Corrupt(what, "bad magic");
  if (!r.Get(&version)) return Corrupt(what, "truncated header");
  if (version != kStateFormatVersion) {
    return absl::FailedPreconditionError(
        fmt::format("{} checkpoint has format version {}, this fraudstream reads {}", what, version,
                    kStateFormatVersion));
  }
  if (!r.Get(&retention) || !r.Get(newest) || !r.Get(keys)) {
    return Corrupt(what, "truncated header");
  }
  if (retention < needed_retention) {
    return absl::FailedPreconditionError(
        fmt::format("{} checkpoint keeps {} s of history, this feature set needs {} s", what,
                    retention, needed_retention));
  }
  return absl::OkStatus();
}

}  // namespace

void ComputeTransactionFeatures(const Transaction& tx, float* row) {
  row[FeatureSpec::kTxAmount] = static_cast<float>(tx.amount());
  row[FeatureSpec::kTxDuringWeekend] = Weekday(tx.tx_datetime) >= 5 ? 1.0f : 0.0f;
  row[FeatureSpec::kTxDuringNight] = HourOfDay(tx.tx_datetime) <= 6 ? 1.0f : 0.0f;
}

// ---------------------------------------------------------------------------------------------
// CustomerState

CustomerState::CustomerState(const FeatureSpec& spec, StateOptions options)
    : profile_(spec.customer_profile && !spec.customer_windows_days.empty()),
      first_column_(FeatureSpec::kFirstCustomerColumn),
      first_profile_column_(spec.first_profile_column()),
      retention_(spec.customer_horizon_seconds() +
                 std::max<int64_t>(0, options.allowed_lateness_seconds)),
      history_moves_time_(options.history_moves_time) {
  FRAUD_CHECK_LE(spec.customer_windows_days.size(), size_t{features_internal::kMaxHints});
  for (const int days : spec.customer_windows_days) windows_.push_back(days * kSecondsPerDay);
  if (spec.has_anomaly_profile()) {
    // The baseline boundary keeps its hint after the windows'.
    FRAUD_CHECK_LT(spec.customer_windows_days.size(), size_t{features_internal::kMaxHints});
    baseline_ = int64_t{spec.customer_baseline_days} * kSecondsPerDay;
    FRAUD_CHECK_LT(baseline_, windows_.back());
    for (const int k : spec.anomaly_factors) anomaly_factors_.push_back(k);
    first_anomaly_column_ = spec.first_anomaly_column();
  }
}

void CustomerState::ComputeFrom(const History* h, const Transaction& tx, float* row,
                                uint32_t* hints) const {
  const int64_t t = tx.tx_datetime;
  const int64_t amount = tx.amount_cents;
  const CustomerEvent* first = nullptr;
  const CustomerEvent* end = nullptr;
  uint64_t base_amount = 0;
  uint64_t base_squares = 0;
  if (h != nullptr) {
    first = h->begin();
    end = h->end();
    base_amount = h->base_amount;
    base_squares = h->base_squares;
    // Out of order: only the history up to t (same-second ones recorded earlier included).
    if (first != end && end[-1].time > t) end = AfterFromBack(first, end, t);
  }
  const auto cum_amount = [&](const CustomerEvent* p) {
    return p == first ? base_amount : p[-1].cum_amount;
  };
  const auto cum_squares = [&](const CustomerEvent* p) {
    return p == first ? base_squares : p[-1].cum_squares;
  };
  const uint64_t end_amount = cum_amount(end);

  float* out = row + first_column_;
  const int nw = static_cast<int>(windows_.size());
  // Longest window first; each shorter one starts searching where the longer one starts.
  const CustomerEvent* lo = first;
  const CustomerEvent* longest_lo = first;
  int64_t longest_count = 0;
  int64_t longest_sum = 0;
  uint64_t longest_squares = 0;
  float* ratio = profile_ ? row + first_profile_column_ : nullptr;
  for (int i = nw - 1; i >= 0; --i) {
    if (h != nullptr) {
      lo = Seek(lo, end, h->events.data(), h->hint[i], t - windows_[i]);
      if (hints != nullptr) hints[i] = static_cast<uint32_t>(lo - h->events.data());
    }
    if (i == nw - 1) longest_lo = lo;
    const int64_t count = end - lo;
    const int64_t sum = static_cast<int64_t>(end_amount - cum_amount(lo));
    out[2 * i] = static_cast<float>(count + 1);
    out[2 * i + 1] = static_cast<float>(static_cast<double>(sum + amount) /
                                        (static_cast<double>(count + 1) * 100.0));
    if (profile_) {
      ratio[i] = count > 0 && sum > 0
                     ? static_cast<float>(static_cast<double>(amount) * static_cast<double>(count) /
                                          static_cast<double>(sum))
                     : 1.0f;
      if (i == nw - 1) {
        longest_count = count;
        longest_sum = sum;
        longest_squares = cum_squares(end) - cum_squares(lo);
      }
    }
  }
  if (baseline_ > 0) {
    // The anomaly profile: baseline = [longest_lo, split), recent = [split, end).
    float* anomaly = row + first_anomaly_column_;
    const int nk = static_cast<int>(anomaly_factors_.size());
    const CustomerEvent* split = longest_lo;
    if (h != nullptr) {
      split = Seek(longest_lo, end, h->events.data(), h->hint[nw], t - baseline_);
      if (hints != nullptr) hints[nw] = static_cast<uint32_t>(split - h->events.data());
    }
    const int64_t nb = split - longest_lo;
    const int64_t sb = static_cast<int64_t>(cum_amount(split) - cum_amount(longest_lo));
    float* counts = anomaly + 1;
    for (int k = 0; k < nk; ++k) counts[k] = 0.0f;
    if (nb > 0 && sb > 0) {
      const double scale = static_cast<double>(nb) / static_cast<double>(sb);
      anomaly[0] = static_cast<float>(static_cast<double>(amount) * scale);
      // amount > k * s_b / n_b exactly, in integers: amount > floor(k * s_b / n_b). Recent
      // amounts are differences of the cumulative sums.
      Int128 limit[kMaxAnomalyFactors];
      for (int k = 0; k < nk; ++k) limit[k] = Int128{anomaly_factors_[k]} * sb / nb;
      int64_t largest = 0;
      uint64_t prev = cum_amount(split);
      for (const CustomerEvent* p = split; p != end; ++p) {
        const int64_t a = static_cast<int64_t>(p->cum_amount - prev);
        prev = p->cum_amount;
        largest = std::max(largest, a);
        for (int k = 0; k < nk; ++k) counts[k] += a > limit[k] ? 1.0f : 0.0f;
      }
      anomaly[nk + 1] =
          split != end ? static_cast<float>(static_cast<double>(largest) * scale) : 0.0f;
    } else {
      anomaly[0] = 1.0f;
      anomaly[nk + 1] = 0.0f;
    }
  }
  if (!profile_) return;
  float* profile = row + first_profile_column_ + nw;
  // Standard deviation including this transaction: sqrt(n*Q - S^2) / n, exact numerator.
  {
    const Int128 n = longest_count + 1;
    const Int128 s = Int128{longest_sum} + amount;
    const Int128 q = Int128{longest_squares} + Int128{amount} * amount;
    const Int128 num = n * q - s * s;
    const double sd = num > 0 ? std::sqrt(static_cast<double>(num)) / static_cast<double>(n) : 0;
    profile[0] = static_cast<float>(sd / 100.0);
  }
  // z-score against the earlier transactions only.
  {
    const int64_t m = longest_count;
    if (m < 2) {
      profile[1] = 0.0f;
    } else {
      const Int128 num = Int128{m} * longest_squares - Int128{longest_sum} * longest_sum;
      const double sd =
          num > 0 ? std::sqrt(static_cast<double>(num)) / static_cast<double>(m) : 0.0;
      const double mean = static_cast<double>(longest_sum) / static_cast<double>(m);
      profile[1] = static_cast<float>((static_cast<double>(amount) - mean) / std::max(sd, 1.0));
    }
  }
  const int64_t horizon = windows_.back();
  const int64_t since = end != first ? std::min(t - end[-1].time, horizon) : horizon;
  profile[2] = static_cast<float>(since);
}

void CustomerState::Compute(const Transaction& tx, float* row) const {
  ComputeFrom(store_.Find(tx.customer_id), tx, row, nullptr);
}

void CustomerState::Insert(History& h, int64_t time, int64_t amount_cents) {
  const uint64_t a = static_cast<uint64_t>(amount_cents);
  const uint64_t sq = a * a;
  auto& ev = h.events;
  if (h.empty() || ev.back().time <= time) {
    const uint64_t prev_amount = h.empty() ? h.base_amount : ev.back().cum_amount;
    const uint64_t prev_squares = h.empty() ? h.base_squares : ev.back().cum_squares;
    ev.push_back({time, prev_amount + a, prev_squares + sq});
    return;
  }
  // Out of order: insert after the same-second events, shift the cumulative sums after it.
  const size_t pos = After(h.begin(), h.end(), time) - ev.data();
  const uint64_t prev_amount = pos == h.head ? h.base_amount : ev[pos - 1].cum_amount;
  const uint64_t prev_squares = pos == h.head ? h.base_squares : ev[pos - 1].cum_squares;
  ev.insert(ev.begin() + pos, CustomerEvent{time, prev_amount + a, prev_squares + sq});
  for (size_t j = pos + 1; j < ev.size(); ++j) {
    ev[j].cum_amount += a;
    ev[j].cum_squares += sq;
  }
}

void CustomerState::Evict(History& h) {
  DropFront(h, Cutoff(newest_time_, retention_), [&h](const CustomerEvent& e) {
    h.base_amount = e.cum_amount;
    h.base_squares = e.cum_squares;
  });
}

void CustomerState::Update(const Transaction& tx) {
  const int64_t t = tx.tx_datetime;
  if (history_moves_time_ && (newest_time_ == kAbsent || t > newest_time_)) newest_time_ = t;
  const int64_t cutoff = Cutoff(newest_time_, retention_);
  if (t <= cutoff) {  // already expired: no window can need it
    if (History* h = store_.FindMutable(tx.customer_id)) Evict(*h);
    return;
  }
  History& h = store_.FindOrCreate(tx.customer_id);
  Insert(h, t, tx.amount_cents);
  Evict(h);
}

void CustomerState::Process(const Transaction& tx, float* row) {
  const int64_t t = tx.tx_datetime;
  History& h = store_.FindOrCreate(tx.customer_id);
  ComputeFrom(&h, tx, row, h.hint);
  if (newest_time_ == kAbsent || t > newest_time_) newest_time_ = t;
  if (t > Cutoff(newest_time_, retention_)) Insert(h, t, tx.amount_cents);
  Evict(h);
}

void CustomerState::EvictExpired() {
  store_.ForEach([this](CustomerId, History& h) { Evict(h); });
  store_.Compact();
}

size_t CustomerState::num_keys() const { return store_.NumKeys(); }
size_t CustomerState::num_events() const { return store_.NumEvents(); }
size_t CustomerState::EventCount(CustomerId id) const { return store_.EventCount(id); }
int64_t CustomerState::OldestTime(CustomerId id) const { return store_.OldestTime(id); }
void CustomerState::ForEachKey(const std::function<void(CustomerId)>& f) const {
  store_.ForEach([&f](CustomerId id, const History&) { f(id); });
}

CustomerState CustomerState::ExtractIf(const std::function<bool(CustomerId)>& keep) {
  // A copy of the configuration only: the events stay out of the copy.
  auto all = std::move(store_);
  store_ = {};
  CustomerState out = *this;
  store_ = std::move(all);
  out.store_ = store_.ExtractIf(keep);
  return out;
}

void CustomerState::Merge(const CustomerState& other) {
  if (history_moves_time_ && other.newest_time_ != kAbsent &&
      (newest_time_ == kAbsent || other.newest_time_ > newest_time_)) {
    newest_time_ = other.newest_time_;
  }
  other.store_.ForEach([&](CustomerId id, const History& h) {
    History& mine = store_.FindOrCreate(id);
    uint64_t prev = h.base_amount;
    for (const CustomerEvent* e = h.begin(); e != h.end(); ++e) {
      Insert(mine, e->time, static_cast<int64_t>(e->cum_amount - prev));
      prev = e->cum_amount;
    }
    Evict(mine);
  });
}

std::string CustomerState::Serialize(const std::function<bool(CustomerId)>& keep) const {
  std::string out;
  out.reserve(64 + num_events() * 16);
  Writer w(&out);
  out.append(kCustomerMagic, 4);
  w.Put<uint32_t>(kStateFormatVersion);
  w.Put<int64_t>(retention_);
  w.Put<int64_t>(newest_time_);
  const size_t count_at = w.PlaceHolder();
  uint64_t keys = 0;
  store_.ForEach([&](CustomerId id, const History& h) {
    if (keep && !keep(id)) return;
    ++keys;
    w.Put<int64_t>(id.value());
    w.Put<uint32_t>(static_cast<uint32_t>(h.size()));
    uint64_t prev = h.base_amount;
    for (const CustomerEvent* e = h.begin(); e != h.end(); ++e) {
      w.Put<int64_t>(e->time);
      w.Put<int64_t>(static_cast<int64_t>(e->cum_amount - prev));
      prev = e->cum_amount;
    }
  });
  w.Fill(count_at, keys);
  return out;
}

absl::StatusOr<CustomerState> CustomerState::Deserialize(std::string_view bytes,
                                                         const FeatureSpec& spec,
                                                         StateOptions options) {
  constexpr std::string_view kWhat = "customer state";
  CustomerState state(spec, options);
  Reader r(bytes);
  int64_t newest = kAbsent;
  uint64_t keys = 0;
  RETURN_IF_ERROR(
      ReadHeader(r, kCustomerMagic, kWhat, spec.customer_horizon_seconds(), &newest, &keys));
  if (options.history_moves_time) state.newest_time_ = newest;
  for (uint64_t k = 0; k < keys; ++k) {
    int64_t id = 0;
    uint32_t n = 0;
    if (!r.Get(&id) || !r.Get(&n)) return Corrupt(kWhat, "truncated key");
    if (n == 0 || r.remaining() / 16 < n) return Corrupt(kWhat, "bad event count");
    if (state.store_.Find(CustomerId(id)) != nullptr) return Corrupt(kWhat, "duplicate key");
    History& h = state.store_.FindOrCreate(CustomerId(id));
    h.events.reserve(n);
    int64_t last = kAbsent;
    for (uint32_t i = 0; i < n; ++i) {
      int64_t time = 0;
      int64_t amount = 0;
      r.Get(&time);
      r.Get(&amount);
      if (time < last || (newest != kAbsent && time > newest)) {
        return Corrupt(kWhat, "events out of order");
      }
      last = time;
      state.Insert(h, time, amount);
    }
  }
  if (r.remaining() != 0) return Corrupt(kWhat, "trailing bytes");
  return state;
}

// ---------------------------------------------------------------------------------------------
// TerminalState

TerminalState::TerminalState(const FeatureSpec& spec, StateOptions options)
    : delay_(int64_t{spec.terminal_delay_days} * kSecondsPerDay),
      first_column_(spec.first_terminal_column()),
      first_profile_column_(spec.terminal_profile && !spec.terminal_windows_days.empty()
                                ? spec.first_terminal_profile_column()
                                : -1),
      streak_column_(spec.has_terminal_streak() ? spec.streak_column() : -1),
      retention_(spec.terminal_horizon_seconds() +
                 std::max<int64_t>(0, options.allowed_lateness_seconds)),
      history_moves_time_(options.history_moves_time) {
  FRAUD_CHECK_LT(spec.terminal_windows_days.size(), size_t{features_internal::kMaxHints});
  for (const int days : spec.terminal_windows_days) windows_.push_back(days * kSecondsPerDay);
}

void TerminalState::ComputeFrom(const History* h, const Transaction& tx, float* row,
                                uint32_t* hints) const {
  float* out = row + first_column_;
  const int nw = static_cast<int>(windows_.size());
  // The terminal profile: known frauds per window, then the seconds from the newest known
  // fraud to t − delay, capped at the longest window (also when there is none), so the value
  // never depends on events that may have been evicted.
  float* profile = first_profile_column_ >= 0 ? row + first_profile_column_ : nullptr;
  const float no_fraud_seconds = static_cast<float>(windows_.back());
  if (h == nullptr) {
    for (int i = 0; i < 2 * nw; ++i) out[i] = 0.0f;
    if (profile != nullptr) {
      for (int i = 0; i < nw; ++i) profile[i] = 0.0f;
      profile[nw] = no_fraud_seconds;
      profile[nw + 1] = no_fraud_seconds;
    }
    if (streak_column_ >= 0) row[streak_column_] = 0.0f;
    return;
  }
  const int64_t t = tx.tx_datetime;
  const TerminalEvent* first = h->begin();
  const TerminalEvent* base = h->events.data();
  const TerminalEvent* end = Seek(first, h->end(), base, h->hint[0], t - delay_);
  if (hints != nullptr) hints[0] = static_cast<uint32_t>(end - base);
  const auto cum = [&](const TerminalEvent* p) {
    return p == first ? h->base_frauds : p[-1].cum_frauds;
  };
  const uint32_t end_frauds = cum(end);
  const TerminalEvent* lo = first;
  const TerminalEvent* longest_lo = first;
  for (int i = nw - 1; i >= 0; --i) {
    lo = Seek(lo, end, base, h->hint[i + 1], t - delay_ - windows_[i]);
    if (i == nw - 1) longest_lo = lo;
    if (hints != nullptr) hints[i + 1] = static_cast<uint32_t>(lo - base);
    const int64_t count = end - lo;
    const uint32_t frauds = end_frauds - cum(lo);
    out[2 * i] = static_cast<float>(count);
    out[2 * i + 1] =
        count > 0 ? static_cast<float>(static_cast<double>(frauds) / static_cast<double>(count))
                  : 0.0f;
    if (profile != nullptr) profile[i] = static_cast<float>(frauds);
  }
  if (profile != nullptr) {
    // cum_frauds never decreases: the first event reaching a value is the fraud that made it.
    const auto first_reaching = [&](const TerminalEvent* from, uint32_t value) {
      return std::lower_bound(from, end, value,
                              [](const TerminalEvent& e, uint32_t v) { return e.cum_frauds < v; });
    };
    profile[nw] = no_fraud_seconds;
    profile[nw + 1] = no_fraud_seconds;
    if (end_frauds != cum(first)) {
      const TerminalEvent* newest = first_reaching(first, end_frauds);
      profile[nw] = std::min(no_fraud_seconds, static_cast<float>(t - delay_ - newest->time));
    }
    if (end_frauds != cum(longest_lo)) {
      const TerminalEvent* oldest = first_reaching(longest_lo, cum(longest_lo) + 1);
      profile[nw + 1] = static_cast<float>(t - delay_ - oldest->time);
    }
  }
  if (streak_column_ >= 0) {
    const TerminalEvent* p = end;
    while (p != longest_lo && p[-1].label == 1) --p;
    row[streak_column_] = static_cast<float>(end - p);
  }
}

void TerminalState::Compute(const Transaction& tx, float* row) const {
  ComputeFrom(store_.Find(tx.terminal_id), tx, row, nullptr);
}

void TerminalState::Insert(History& h, int64_t time, int64_t transaction_id, int8_t label) {
  const uint32_t fraud = label == 1 ? 1 : 0;
  auto& ev = h.events;
  if (h.empty() || ev.back().time <= time) {
    const uint32_t prev = h.empty() ? h.base_frauds : ev.back().cum_frauds;
    ev.push_back({time, transaction_id, prev + fraud, label});
    return;
  }
  const size_t pos = After(h.begin(), h.end(), time) - ev.data();
  const uint32_t prev = pos == h.head ? h.base_frauds : ev[pos - 1].cum_frauds;
  ev.insert(ev.begin() + pos, TerminalEvent{time, transaction_id, prev + fraud, label});
  if (fraud != 0) {
    for (size_t j = pos + 1; j < ev.size(); ++j) ev[j].cum_frauds += fraud;
  }
}

void TerminalState::Evict(History& h) {
  DropFront(h, Cutoff(newest_time_, retention_),
            [&h](const TerminalEvent& e) { h.base_frauds = e.cum_frauds; });
}

void TerminalState::Update(const Transaction& tx) {
  const int64_t t = tx.tx_datetime;
  if (history_moves_time_ && (newest_time_ == kAbsent || t > newest_time_)) newest_time_ = t;
  if (t <= Cutoff(newest_time_, retention_)) {
    if (History* h = store_.FindMutable(tx.terminal_id)) Evict(*h);
    return;
  }
  History& h = store_.FindOrCreate(tx.terminal_id);
  Insert(h, t, tx.transaction_id.value(), tx.tx_fraud);
  Evict(h);
}

void TerminalState::Process(const Transaction& tx, float* row) {
  const int64_t t = tx.tx_datetime;
  History& h = store_.FindOrCreate(tx.terminal_id);
  ComputeFrom(&h, tx, row, h.hint);
  if (newest_time_ == kAbsent || t > newest_time_) newest_time_ = t;
  if (t > Cutoff(newest_time_, retention_)) Insert(h, t, tx.transaction_id.value(), tx.tx_fraud);
  Evict(h);
}

bool TerminalState::SetLabel(TransactionId id, TerminalId terminal, int64_t event_time,
                             int8_t fraud) {
  History* h = store_.FindMutable(terminal);
  if (h == nullptr) return false;
  auto& ev = h->events;
  const TerminalEvent* first = h->begin();
  const TerminalEvent* p = std::lower_bound(
      first, h->end(), event_time, [](const TerminalEvent& e, int64_t b) { return e.time < b; });
  for (; p != h->end() && p->time == event_time; ++p) {
    if (p->transaction_id != id.value()) continue;
    const size_t pos = p - ev.data();
    const uint32_t before = ev[pos].label == 1 ? 1 : 0;
    const uint32_t after = fraud == 1 ? 1 : 0;
    ev[pos].label = fraud;
    if (before != after) {
      const uint32_t delta = after - before;  // +1 or -1 modulo 2^32
      for (size_t j = pos; j < ev.size(); ++j) ev[j].cum_frauds += delta;
    }
    return true;
  }
  return false;
}

void TerminalState::EvictExpired() {
  store_.ForEach([this](TerminalId, History& h) { Evict(h); });
  store_.Compact();
}

size_t TerminalState::num_keys() const { return store_.NumKeys(); }
size_t TerminalState::num_events() const { return store_.NumEvents(); }
size_t TerminalState::EventCount(TerminalId id) const { return store_.EventCount(id); }
int64_t TerminalState::OldestTime(TerminalId id) const { return store_.OldestTime(id); }

TerminalState TerminalState::ExtractIf(const std::function<bool(TerminalId)>& keep) {
  // A copy of the configuration only: the events stay out of the copy.
  auto all = std::move(store_);
  store_ = {};
  TerminalState out = *this;
  store_ = std::move(all);
  out.store_ = store_.ExtractIf(keep);
  return out;
}

void TerminalState::Merge(const TerminalState& other) {
  if (history_moves_time_ && other.newest_time_ != kAbsent &&
      (newest_time_ == kAbsent || other.newest_time_ > newest_time_)) {
    newest_time_ = other.newest_time_;
  }
  other.store_.ForEach([&](TerminalId id, const History& h) {
    History& mine = store_.FindOrCreate(id);
    for (const TerminalEvent* e = h.begin(); e != h.end(); ++e) {
      Insert(mine, e->time, e->transaction_id, e->label);
    }
    Evict(mine);
  });
}

std::string TerminalState::Serialize(const std::function<bool(TerminalId)>& keep) const {
  std::string out;
  out.reserve(64 + num_events() * 17);
  Writer w(&out);
  out.append(kTerminalMagic, 4);
  w.Put<uint32_t>(kStateFormatVersion);
  w.Put<int64_t>(retention_);
  w.Put<int64_t>(newest_time_);
  const size_t count_at = w.PlaceHolder();
  uint64_t keys = 0;
  store_.ForEach([&](TerminalId id, const History& h) {
    if (keep && !keep(id)) return;
    ++keys;
    w.Put<int64_t>(id.value());
    w.Put<uint32_t>(static_cast<uint32_t>(h.size()));
    for (const TerminalEvent* e = h.begin(); e != h.end(); ++e) {
      w.Put<int64_t>(e->time);
      w.Put<int64_t>(e->transaction_id);
      w.Put<int8_t>(e->label);
    }
  });
  w.Fill(count_at, keys);
  return out;
}

absl::StatusOr<TerminalState> TerminalState::Deserialize(std::string_view bytes,
                                                         const FeatureSpec& spec,
                                                         StateOptions options) {
  constexpr std::string_view kWhat = "terminal state";
  TerminalState state(spec, options);
  Reader r(bytes);
  int64_t newest = kAbsent;
  uint64_t keys = 0;
  RETURN_IF_ERROR(
      ReadHeader(r, kTerminalMagic, kWhat, spec.terminal_horizon_seconds(), &newest, &keys));
  if (options.history_moves_time) state.newest_time_ = newest;
  for (uint64_t k = 0; k < keys; ++k) {
    int64_t id = 0;
    uint32_t n = 0;
    if (!r.Get(&id) || !r.Get(&n)) return Corrupt(kWhat, "truncated key");
    if (n == 0 || r.remaining() / 17 < n) return Corrupt(kWhat, "bad event count");
    if (state.store_.Find(TerminalId(id)) != nullptr) return Corrupt(kWhat, "duplicate key");
    History& h = state.store_.FindOrCreate(TerminalId(id));
    h.events.reserve(n);
    int64_t last = kAbsent;
    for (uint32_t i = 0; i < n; ++i) {
      int64_t time = 0;
      int64_t transaction_id = 0;
      int8_t label = 0;
      r.Get(&time);
      r.Get(&transaction_id);
      r.Get(&label);
      if (time < last || (newest != kAbsent && time > newest)) {
        return Corrupt(kWhat, "events out of order");
      }
      if (label != 0 && label != 1 && label != kAbsentLabel) return Corrupt(kWhat, "bad label");
      last = time;
      state.Insert(h, time, transaction_id, label);
    }
  }
  if (r.remaining() != 0) return Corrupt(kWhat, "trailing bytes");
  return state;
}

// ---------------------------------------------------------------------------------------------
// FeatureState

FeatureState::FeatureState(const FeatureSpec& spec, StateOptions options)
    : spec_(spec), customers_(spec, options), terminals_(spec, options) {}

FeatureState::FeatureState(FeatureSpec spec, CustomerState customers, TerminalState terminals)
    : spec_(std::move(spec)), customers_(std::move(customers)), terminals_(std::move(terminals)) {}

void FeatureState::Compute(const Transaction& tx, float* row) const {
  ComputeTransactionFeatures(tx, row);
  customers_.Compute(tx, row);
  terminals_.Compute(tx, row);
}

void FeatureState::Update(const Transaction& tx) {
  customers_.Update(tx);
  terminals_.Update(tx);
}

void FeatureState::Process(const Transaction& tx, float* row) {
  ComputeTransactionFeatures(tx, row);
  customers_.Process(tx, row);
  terminals_.Process(tx, row);
}

void FeatureState::EvictExpired() {
  customers_.EvictExpired();
  terminals_.EvictExpired();
}

std::string FeatureState::Serialize() const {
  std::string out;
  Writer w(&out);
  out.append(kFeatureMagic, 4);
  w.Put<uint32_t>(kStateFormatVersion);
  w.PutBytes(spec_.name);
  w.PutBytes(customers_.Serialize());
  w.PutBytes(terminals_.Serialize());
  return out;
}

absl::StatusOr<FeatureState> FeatureState::Deserialize(std::string_view bytes,
                                                       const FeatureSpec& spec,
                                                       StateOptions options) {
  constexpr std::string_view kWhat = "feature state";
  Reader r(bytes);
  uint32_t version = 0;
  std::string_view name;
  std::string_view customers;
  std::string_view terminals;
  if (!r.Magic(kFeatureMagic)) return Corrupt(kWhat, "bad magic");
  if (!r.Get(&version)) return Corrupt(kWhat, "truncated header");
  if (version != kStateFormatVersion) {
    return absl::FailedPreconditionError(
        fmt::format("feature state checkpoint has format version {}, this fraudstream reads {}",
                    version, kStateFormatVersion));
  }
  if (!r.GetBytes(&name) || !r.GetBytes(&customers) || !r.GetBytes(&terminals)) {
    return Corrupt(kWhat, "truncated");
  }
  if (r.remaining() != 0) return Corrupt(kWhat, "trailing bytes");
  if (name != spec.name) {
    return absl::FailedPreconditionError(
        fmt::format("feature state checkpoint is for feature set '{}', not '{}'", name, spec.name));
  }
  ASSIGN_OR_RETURN(CustomerState c, CustomerState::Deserialize(customers, spec, options));
  ASSIGN_OR_RETURN(TerminalState t, TerminalState::Deserialize(terminals, spec, options));
  return FeatureState(spec, std::move(c), std::move(t));
}

}  // namespace fraud
