#pragma once

// The transaction simulator of DESIGN §2: the generative process of the Fraud Detection
// Handbook (Le Borgne et al., "Reproducible Machine Learning for Credit Card Fraud Detection -
// Practical Handbook", chapter 3.2), deterministic for a seed.
//
// Process (the handbook's, with the differences listed below):
//   - customers: x, y ~ U(0,100); mean_amount ~ U(5,100); std_amount = mean_amount / 2;
//     mean_nb_tx_per_day ~ U(0,4). Terminals: x, y ~ U(0,100).
//   - a customer uses the terminals at Euclidean distance < radius (found through a grid).
//   - per customer per day: nb_tx ~ Poisson(mean_nb_tx_per_day); each transaction's time of
//     day t = int(N(43200, 20000)) s, kept only if 0 < t < 86400; amount ~ N(mean, std),
//     redrawn from U(0, 2 mean) when negative, rounded to cents; terminal uniform among the
//     available ones (a customer with none makes no transactions).
//   - rows sorted by time; transaction_id = row index, global over the whole data set.
//   - frauds, each later scenario overwriting the earlier label:
//     (1) amount > 220.00; (2) every day 2 random terminals are compromised for 28 days (that
//     day and the 27 after): all their transactions are fraud; (3) every day 3 random
//     customers are compromised for 14 days: a third of their transactions get amount x5 and
//     are fraud.
//
// Deliberate differences from the handbook's Python, each needed for streaming or hygiene:
//   - DEVIATION: an amount that rounds to 0.00 is redrawn, so clean generated data never
//     breaks the cleaner's "amount > 0" rule (in the handbook ~1 row in 10^5 is 0.00).
//   - Scenario 3 selects each transaction of a compromised customer with probability 1/3
//     (per compromise covering it) instead of sampling exactly n/3 of the 14-day window: the
//     data are made one day at a time, so the window's size is not known when its first day
//     is written. The expected share is the same.
//   - Compromises are drawn on every day of the data set (the handbook stops one day early).
//   - Our own random streams: std::mt19937_64 with our own uniform / normal (Marsaglia
//     polar) / Poisson (Knuth) code, because std:: distributions differ between standard
//     libraries. Profiles, transactions, frauds and dirty-data injection each use their own
//     stream derived from the seed, so e.g. --dirty never changes the clean rows.
//   - Ties in time are ordered by customer id, then by the customer's draw order.
//
// Memory: the profiles (O(customers + customer-terminal pairs)) and one day of transactions;
// the compromised sets carried across days are tiny. 1,000,000 customers x 1,000 terminals
// x 30 days (58 M rows, 3.5 GB of Otus text) peaks at ~550 MB through GenerateToFiles (two
// days in flight) and writes ~4.5 M rows/s on 2 cores.
//
// Thread safety: a Simulator is used from one thread at a time; separate Simulators are
// independent. GenerateToFiles() is thread-compatible (it writes only its own files); it
// uses one worker thread of its own to make the next day while the current one is written.
//
// Example, transactions in memory:
//   SimulatorConfig config;
//   config.customers = 1000;
//   ASSIGN_OR_RETURN(auto simulator, Simulator::Create(config));
//   RETURN_IF_ERROR(simulator->Run([&](int day, std::span<const Transaction> txs) {
//     for (const Transaction& tx : txs) Use(tx);
//     return absl::OkStatus();
//   }));
//
// Example, files (what `fraudstream generate` does):
//   GenerateOptions options;
//   options.out = "data";
//   options.days_per_file = 1;  // data/2018-04-01.txt, data/2018-04-02.txt, ...
//   ASSIGN_OR_RETURN(GenerateSummary summary, GenerateToFiles(options));
//   std::puts(SummaryLine(summary).c_str());

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/transaction.h"
#include "data/layout.h"

namespace fraud {

inline constexpr int64_t kHandbookStartEpoch = 1522540800;  // 2018-04-01 00:00:00
inline constexpr int kNumFraudScenarios = 4;                // 0 = genuine, 1..3

struct SimulatorConfig {
  int64_t customers = 5000;
  int64_t terminals = 10000;
  int days = 183;
  int64_t start_epoch = kHandbookStartEpoch;  // midnight of the first day
  double radius = 5.0;
  uint64_t seed = 0;
};

// InvalidArgument when a field is out of range (negative counts, radius <= 0, a start that
// is not a midnight, more than 2^31 customers or terminals).
absl::Status ValidateConfig(const SimulatorConfig& config);

// A random stream with distributions of our own, identical on every platform whose libm
// gives the same log/exp/sqrt (glibc does across versions in practice). Public for tests
// and for other simulators (e.g. the dirty-data injector).
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  // The seed of sub-stream `stream` of a user seed (splitmix64 of both), so streams of one
  // seed are independent of each other.
  static uint64_t StreamSeed(uint64_t seed, uint64_t stream);

  uint64_t Next() { return engine_(); }
  // [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // [a, b)
  double Uniform(double a, double b) { return a + (b - a) * Uniform01(); }
  // 0 .. n-1, unbiased (Lemire's multiply-and-reject); n > 0.
  uint64_t UniformInt(uint64_t n);
  // Marsaglia's polar method; keeps the second value of each pair for the next call.
  double Normal(double mean, double stddev);
  // Knuth's multiplication method, given exp(-lambda); exact, O(lambda) draws: meant for the
  // small means of the simulator (lambda < 4), usable up to lambda ~ 700.
  int PoissonWithExpMinusLambda(double exp_minus_lambda);
  int Poisson(double lambda);

 private:
  std::mt19937_64 engine_;
  double spare_normal_ = 0;
  bool has_spare_normal_ = false;
};

struct CustomerProfile {
  double x = 0, y = 0;
  double mean_amount = 0, std_amount = 0;
  double mean_nb_tx_per_day = 0;
};

struct TerminalProfile {
  double x = 0, y = 0;
};

struct SimulatorStats {
  int64_t rows = 0;
  std::array<int64_t, kNumFraudScenarios> rows_per_scenario{};  // index = tx_fraud_scenario
  int64_t fraud_rows() const {
    return rows_per_scenario[1] + rows_per_scenario[2] + rows_per_scenario[3];
  }
};

class Simulator {
 public:
  // Transactions of one day, sorted by time, ids continuing from the previous day. The span
  // is valid only during the call. A non-ok status stops Run() and is returned by it.
  using DayCallback = std::function<absl::Status(int day, std::span<const Transaction>)>;

  // Draws the customer and terminal profiles and each customer's terminals.
  static absl::StatusOr<std::unique_ptr<Simulator>> Create(const SimulatorConfig& config);

  // Makes the next day into *out (replacing its contents); returns its day index (0-based),
  // or -1 when all days are done.
  int NextDay(std::vector<Transaction>* out);
  // Makes every remaining day, calling on_day for each.
  absl::Status Run(const DayCallback& on_day);

  const SimulatorConfig& config() const { return config_; }
  const std::vector<CustomerProfile>& customers() const { return customers_; }
  const std::vector<TerminalProfile>& terminals() const { return terminals_; }
  // Terminal ids within the radius of a customer, ascending.
  std::span<const int32_t> TerminalsOf(int64_t customer) const {
    return {customer_terminals_.data() + customer_terminal_begin_[customer],
            customer_terminals_.data() + customer_terminal_begin_[customer + 1]};
  }
  // Totals of the days made so far.
  const SimulatorStats& stats() const { return stats_; }

  static constexpr int kRadixBits = 9;  // 2 passes sort the 17 bits of a second of the day

 private:
  // One generated transaction before sorting; 24 bytes so a big day stays small.
  struct RawTx {
    int64_t amount_cents;
    int32_t customer;
    int32_t terminal;
    int32_t second;  // of the day
    int8_t fraud;
    int8_t scenario;
  };

  explicit Simulator(const SimulatorConfig& config);
  void MakeProfiles();
  void FindTerminals();
  void CompromiseForDay(int day);
  void GenerateCustomerDay(int32_t customer, int day);
  // One stable counting-sort pass on kRadixBits bits of RawTx::second from bit `shift`.
  static void RadixPass(const std::vector<RawTx>& from, int shift, std::vector<RawTx>* to);
  int64_t DrawAmountCents(const CustomerProfile& profile);

  SimulatorConfig config_;
  Random profile_random_;
  Random tx_random_;
  Random fraud_random_;

  std::vector<CustomerProfile> customers_;
  std::vector<double> exp_minus_rate_;  // exp(-mean_nb_tx_per_day) per customer
  std::vector<TerminalProfile> terminals_;
  std::vector<int64_t> customer_terminal_begin_;  // CSR: customers + 1 offsets
  std::vector<int32_t> customer_terminals_;

  // Scenario 2: the last day each terminal was compromised (or kNever).
  std::vector<int32_t> terminal_compromised_on_;
  // Scenario 3: active compromises (customer, first day) and how many cover each customer.
  std::vector<std::pair<int32_t, int32_t>> customer_compromises_;
  std::vector<uint8_t> customer_compromise_count_;

  int next_day_ = 0;
  int64_t next_id_ = 0;
  std::vector<RawTx> raw_;
  std::vector<RawTx> sorted_;  // radix sort scratch
  SimulatorStats stats_;
};

// Convenience for tests and small data sets: every transaction in memory.
absl::StatusOr<std::vector<Transaction>> SimulateAll(const SimulatorConfig& config);

struct GenerateOptions {
  SimulatorConfig simulator;
  Format format = Format::kOtus;  // kOtus, kCsv or kJsonLines (no --dirty for JSON lines)
  // One file (or "-" for stdout) when days_per_file == 0; otherwise a directory, created if
  // needed, holding <first date of the file>.txt (Otus) / .csv / .jsonl.
  std::string out;
  int days_per_file = 0;
  // Share of rows that get one injected fault (data/dirty.h); 0 = clean. Sidecar:
  // <out>.faults.jsonl for one file, <out>/faults.jsonl for a directory.
  double dirty_rate = 0;
  bool show_progress = true;  // on a terminal only (core/progress.h)
};

struct GenerateSummary {
  SimulatorStats stats;
  std::vector<std::string> files;  // data files, in order
  uint64_t bytes = 0;              // of the data files
  int64_t faults = 0;              // injected by --dirty
  std::string faults_path;         // the sidecar, empty without --dirty
  double seconds = 0;
};

// Generates the data set and writes it. Files are written atomically (core/file.h): on
// error, no partial file is left under its final name. Errors: InvalidArgument for bad
// options, the file system's errors otherwise.
absl::StatusOr<GenerateSummary> GenerateToFiles(const GenerateOptions& options);

// "generated 1759361 rows, fraud 0.858 % (15087: scenario 1: 1032, 2: 9159, 3: 4896), 1 file,
//  103.4 MB, 0.6 s (2.85 M rows/s)[, 1864 faults injected (see out.txt.faults.jsonl)]"
std::string SummaryLine(const GenerateSummary& summary);

}  // namespace fraud
