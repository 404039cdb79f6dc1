#include "data/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_format.h"
#include "core/file.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/time.h"
#include "data/dirty.h"
#include "data/row_writer.h"

namespace fraud {
namespace {

// Sub-streams of one seed.
constexpr uint64_t kProfileStream = 1;
constexpr uint64_t kTransactionStream = 2;
constexpr uint64_t kFraudStream = 3;
constexpr uint64_t kDirtyStream = 4;

constexpr double kAreaSize = 100.0;  // customers and terminals live in [0,100)^2
constexpr double kMinMeanAmount = 5.0;
constexpr double kMaxMeanAmount = 100.0;
constexpr double kMaxMeanTxPerDay = 4.0;
constexpr double kMeanTimeOfDay = 43200.0;
constexpr double kStdTimeOfDay = 20000.0;

constexpr int64_t kScenario1MinCents = 22000;  // fraud when amount > 220.00
constexpr int kTerminalsCompromisedPerDay = 2;
constexpr int kTerminalCompromiseDays = 28;
constexpr int kCustomersCompromisedPerDay = 3;
constexpr int kCustomerCompromiseDays = 14;
constexpr double kCustomerCompromiseShare = 1.0 / 3.0;
constexpr int64_t kAmountMultiplier = 5;

constexpr int32_t kNever = std::numeric_limits<int32_t>::min() / 2;
constexpr int kMaxGridCells = 1024;  // per axis
static_assert(kSecondsPerDay <= (int64_t{1} << (2 * Simulator::kRadixBits)));

constexpr size_t kWriteBlock = 4 << 20;
constexpr size_t kSidecarBlock = 1 << 20;

// Draws `k` distinct values of 0..n-1 (all of them when n <= k), in draw order.
std::vector<int64_t> DistinctSample(Random& random, int64_t n, int k) {
  std::vector<int64_t> chosen;
  const int64_t want = std::min<int64_t>(k, n);
  while (static_cast<int64_t>(chosen.size()) < want) {
    const auto v = static_cast<int64_t>(random.UniformInt(static_cast<uint64_t>(n)));
    if (std::find(chosen.begin(), chosen.end(), v) == chosen.end()) chosen.push_back(v);
  }
  return chosen;
}

std::string_view Extension(Format format) {
  switch (format) {
    case Format::kOtus:
      return ".txt";
    case Format::kCsv:
      return ".csv";
    case Format::kJsonLines:
      return ".jsonl";
  }
  return ".txt";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Random

uint64_t Random::StreamSeed(uint64_t seed, uint64_t stream) {
  // splitmix64 (Steele, Lea, Flood) over seed and stream.
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Random::UniformInt(uint64_t n) {
  __extension__ using Uint128 = unsigned __int128;
  Uint128 m = static_cast<Uint128>(engine_()) * n;
  auto low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<Uint128>(engine_()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double Random::Normal(double mean, double stddev) {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return mean + stddev * spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * Uniform01() - 1.0;
    v = 2.0 * Uniform01() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double scale = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * scale;
  has_spare_normal_ = true;
  return mean + stddev * (u * scale);
}

int Random::PoissonWithExpMinusLambda(double exp_minus_lambda) {
  int k = 0;
  double p = Uniform01();
  while (p > exp_minus_lambda) {
    ++k;
    p *= Uniform01();
  }
  return k;
}

int Random::Poisson(double lambda) { return PoissonWithExpMinusLambda(std::exp(-lambda)); }

// ---------------------------------------------------------------------------------------------
// Simulator

absl::Status ValidateConfig(const SimulatorConfig& config) {
  constexpr int64_t kMaxIds = std::numeric_limits<int32_t>::max();
  if (config.customers < 0 || config.customers > kMaxIds) {
    return absl::InvalidArgumentError(
        absl::StrFormat("customers must be in 0..%d, got %d", kMaxIds, config.customers));
  }
  if (config.terminals < 0 || config.terminals > kMaxIds) {
    return absl::InvalidArgumentError(
        absl::StrFormat("terminals must be in 0..%d, got %d", kMaxIds, config.terminals));
  }
  if (config.days < 1 || config.days > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrFormat("days must be in 1..1000000, got %d", config.days));
  }
  if (!(config.radius > 0) || !std::isfinite(config.radius)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("radius must be a positive number, got %g", config.radius));
  }
  if (DayIndex(config.start_epoch) * kSecondsPerDay != config.start_epoch) {
    return absl::InvalidArgumentError("the start must be a midnight, got " +
                                      FormatDateTime(config.start_epoch));
  }
  return absl::OkStatus();
}

Simulator::Simulator(const SimulatorConfig& config)
    : config_(config),
      profile_random_(Random::StreamSeed(config.seed, kProfileStream)),
      tx_random_(Random::StreamSeed(config.seed, kTransactionStream)),
      fraud_random_(Random::StreamSeed(config.seed, kFraudStream)) {}

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Create(const SimulatorConfig& config) {
  RETURN_IF_ERROR(ValidateConfig(config));
  std::unique_ptr<Simulator> simulator(new Simulator(config));
  simulator->MakeProfiles();
  simulator->FindTerminals();
  // Room for a typical day (the mean plus a margin far beyond its spread), so the buffers
  // are not doubled past what the days need.
  double daily_mean = 0;
  for (int64_t c = 0; c < config.customers; ++c) {
    if (!simulator->TerminalsOf(c).empty()) {
      daily_mean += simulator->customers_[c].mean_nb_tx_per_day;
    }
  }
  const auto typical_day = static_cast<size_t>(daily_mean * 1.02 + 1000);
  simulator->raw_.reserve(typical_day);
  simulator->sorted_.reserve(typical_day);
  return simulator;
}

void Simulator::MakeProfiles() {
  customers_.resize(config_.customers);
  exp_minus_rate_.resize(config_.customers);
  for (int64_t c = 0; c < config_.customers; ++c) {
    CustomerProfile& p = customers_[c];
    p.x = profile_random_.Uniform(0, kAreaSize);
    p.y = profile_random_.Uniform(0, kAreaSize);
    p.mean_amount = profile_random_.Uniform(kMinMeanAmount, kMaxMeanAmount);
    p.std_amount = p.mean_amount / 2;
    p.mean_nb_tx_per_day = profile_random_.Uniform(0, kMaxMeanTxPerDay);
    exp_minus_rate_[c] = std::exp(-p.mean_nb_tx_per_day);
  }
  terminals_.resize(config_.terminals);
  for (TerminalProfile& t : terminals_) {
    t.x = profile_random_.Uniform(0, kAreaSize);
    t.y = profile_random_.Uniform(0, kAreaSize);
  }
  terminal_compromised_on_.assign(config_.terminals, kNever);
  customer_compromise_count_.assign(config_.customers, 0);
}

void Simulator::FindTerminals() {
  // Square cells at least `radius` wide, so the terminals within the radius of a point lie
  // in its cell and the 8 around it.
  const double r = config_.radius;
  const int cells = static_cast<int>(
      std::clamp(std::floor(kAreaSize / r), 1.0, static_cast<double>(kMaxGridCells)));
  const double cell_size = kAreaSize / cells;
  auto cell_of = [&](double v) {
    return std::clamp(static_cast<int>(v / cell_size), 0, cells - 1);
  };

  // Terminals by cell (CSR), ascending ids within a cell.
  std::vector<int64_t> cell_begin(static_cast<size_t>(cells) * cells + 1, 0);
  std::vector<int32_t> terminal_cell(terminals_.size());
  for (size_t t = 0; t < terminals_.size(); ++t) {
    terminal_cell[t] = cell_of(terminals_[t].y) * cells + cell_of(terminals_[t].x);
    ++cell_begin[terminal_cell[t] + 1];
  }
  for (size_t i = 1; i < cell_begin.size(); ++i) cell_begin[i] += cell_begin[i - 1];
  std::vector<int32_t> cell_terminals(terminals_.size());
  {
    std::vector<int64_t> fill(cell_begin.begin(), cell_begin.end() - 1);
    for (size_t t = 0; t < terminals_.size(); ++t) {
      cell_terminals[fill[terminal_cell[t]]++] = static_cast<int32_t>(t);
    }
  }

  const double r2 = r * r;
  customer_terminal_begin_.assign(customers_.size() + 1, 0);
  customer_terminals_.clear();
  for (size_t c = 0; c < customers_.size(); ++c) {
    const CustomerProfile& p = customers_[c];
    const int cx = cell_of(p.x), cy = cell_of(p.y);
    const size_t first = customer_terminals_.size();
    for (int y = std::max(cy - 1, 0); y <= std::min(cy + 1, cells - 1); ++y) {
      for (int x = std::max(cx - 1, 0); x <= std::min(cx + 1, cells - 1); ++x) {
        const int cell = y * cells + x;
        for (int64_t i = cell_begin[cell]; i < cell_begin[cell + 1]; ++i) {
          const TerminalProfile& t = terminals_[cell_terminals[i]];
          const double dx = p.x - t.x, dy = p.y - t.y;
          if (dx * dx + dy * dy < r2) customer_terminals_.push_back(cell_terminals[i]);
        }
      }
    }
    std::sort(customer_terminals_.begin() + static_cast<std::ptrdiff_t>(first),
              customer_terminals_.end());
    customer_terminal_begin_[c + 1] = static_cast<int64_t>(customer_terminals_.size());
  }
  customer_terminals_.shrink_to_fit();
}

void Simulator::CompromiseForDay(int day) {
  // Scenario 3 compromises that ended yesterday.
  std::erase_if(customer_compromises_, [&](const std::pair<int32_t, int32_t>& c) {
    if (day - c.second < kCustomerCompromiseDays) return false;
    --customer_compromise_count_[c.first];
    return true;
  });
  for (int64_t t : DistinctSample(fraud_random_, config_.terminals, kTerminalsCompromisedPerDay)) {
    terminal_compromised_on_[t] = day;
  }
  for (int64_t c : DistinctSample(fraud_random_, config_.customers, kCustomersCompromisedPerDay)) {
    customer_compromises_.emplace_back(static_cast<int32_t>(c), day);
    ++customer_compromise_count_[c];
  }
}

int64_t Simulator::DrawAmountCents(const CustomerProfile& profile) {
  while (true) {
    double amount = tx_random_.Normal(profile.mean_amount, profile.std_amount);
    if (amount < 0) amount = tx_random_.Uniform(0, 2 * profile.mean_amount);
    const int64_t cents = std::llround(amount * 100);
    if (cents > 0) return cents;  // DEVIATION from the handbook: 0.00 is redrawn
  }
}

void Simulator::GenerateCustomerDay(int32_t customer, int day) {
  const std::span<const int32_t> available = TerminalsOf(customer);
  if (available.empty()) return;
  const CustomerProfile& profile = customers_[customer];
  const int nb_tx = tx_random_.PoissonWithExpMinusLambda(exp_minus_rate_[customer]);
  for (int i = 0; i < nb_tx; ++i) {
    const auto second =
        static_cast<int64_t>(tx_random_.Normal(kMeanTimeOfDay, kStdTimeOfDay));  // truncates
    if (second <= 0 || second >= kSecondsPerDay) continue;
    RawTx tx;
    tx.amount_cents = DrawAmountCents(profile);
    tx.customer = customer;
    tx.terminal = available[tx_random_.UniformInt(available.size())];
    tx.second = static_cast<int32_t>(second);
    tx.fraud = 0;
    tx.scenario = 0;
    if (tx.amount_cents > kScenario1MinCents) {
      tx.fraud = 1;
      tx.scenario = 1;
    }
    if (day - terminal_compromised_on_[tx.terminal] < kTerminalCompromiseDays) {
      tx.fraud = 1;
      tx.scenario = 2;
    }
    if (customer_compromise_count_[customer] > 0) {
      for (const auto& [compromised, first_day] : customer_compromises_) {
        if (compromised != customer) continue;
        if (fraud_random_.Uniform01() < kCustomerCompromiseShare) {
          tx.amount_cents *= kAmountMultiplier;
          tx.fraud = 1;
          tx.scenario = 3;
        }
      }
    }
    raw_.push_back(tx);
  }
}

void Simulator::RadixPass(const std::vector<RawTx>& from, int shift, std::vector<RawTx>* to) {
  constexpr uint32_t kBuckets = 1u << kRadixBits;
  auto bucket = [shift](const RawTx& tx) {
    return (static_cast<uint32_t>(tx.second) >> shift) & (kBuckets - 1);
  };
  uint32_t starts[kBuckets + 1] = {};
  for (const RawTx& tx : from) ++starts[bucket(tx) + 1];
  for (uint32_t b = 1; b <= kBuckets; ++b) starts[b] += starts[b - 1];
  for (const RawTx& tx : from) (*to)[starts[bucket(tx)]++] = tx;
}

int Simulator::NextDay(std::vector<Transaction>* out) {
  out->clear();
  if (next_day_ >= config_.days) return -1;
  const int day = next_day_++;
  CompromiseForDay(day);
  raw_.clear();
  for (int64_t c = 0; c < config_.customers; ++c) {
    GenerateCustomerDay(static_cast<int32_t>(c), day);
  }

  // Stable LSD radix sort by second of the day (two passes of ~9 bits: few enough buckets to
  // stay in cache), so ties keep customer then draw order.
  sorted_.resize(raw_.size());
  RadixPass(raw_, 0, &sorted_);
  RadixPass(sorted_, kRadixBits, &raw_);

  out->resize(raw_.size());
  const int64_t day_start = static_cast<int64_t>(day) * kSecondsPerDay;
  for (size_t i = 0; i < raw_.size(); ++i) {
    const RawTx& raw = raw_[i];
    Transaction& tx = (*out)[i];
    tx.transaction_id = TransactionId(next_id_ + static_cast<int64_t>(i));
    tx.tx_time_seconds = day_start + raw.second;
    tx.tx_datetime = config_.start_epoch + tx.tx_time_seconds;
    tx.customer_id = CustomerId(raw.customer);
    tx.terminal_id = TerminalId(raw.terminal);
    tx.amount_cents = raw.amount_cents;
    tx.tx_time_days = day;
    tx.tx_fraud = raw.fraud;
    tx.tx_fraud_scenario = raw.scenario;
    tx.amount_decimals = 2;
    ++stats_.rows_per_scenario[raw.scenario];
  }
  next_id_ += static_cast<int64_t>(raw_.size());
  stats_.rows += static_cast<int64_t>(raw_.size());
  return day;
}

absl::Status Simulator::Run(const DayCallback& on_day) {
  std::vector<Transaction> transactions;
  for (int day = NextDay(&transactions); day >= 0; day = NextDay(&transactions)) {
    RETURN_IF_ERROR(on_day(day, transactions));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Transaction>> SimulateAll(const SimulatorConfig& config) {
  ASSIGN_OR_RETURN(auto simulator, Simulator::Create(config));
  std::vector<Transaction> all;
  RETURN_IF_ERROR(simulator->Run([&](int, std::span<const Transaction> day) {
    all.insert(all.end(), day.begin(), day.end());
    return absl::OkStatus();
  }));
  return all;
}

// ---------------------------------------------------------------------------------------------
// Files

namespace {

class DataSetWriter {
 public:
  explicit DataSetWriter(const GenerateOptions& options) : options_(options) {}

  absl::Status Start() {
    if (options_.out.empty()) return absl::InvalidArgumentError("--out is required");
    if (options_.days_per_file < 0) {
      return absl::InvalidArgumentError("--days-per-file must be >= 1");
    }
    if (!(options_.dirty_rate >= 0 && options_.dirty_rate <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--dirty must be in [0, 1], got %g", options_.dirty_rate));
    }
    const bool dirty = options_.dirty_rate > 0;
    if (dirty && options_.format == Format::kJsonLines) {
      return absl::InvalidArgumentError("--dirty needs the otus or csv format");
    }
    std::error_code error;
    if (options_.days_per_file > 0) {
      if (options_.out == "-") {
        return absl::InvalidArgumentError("--days-per-file needs a directory for --out, not -");
      }
      const std::filesystem::path dir(options_.out);
      if (std::filesystem::exists(dir, error) && !std::filesystem::is_directory(dir, error)) {
        return absl::InvalidArgumentError("--out " + options_.out +
                                          " is a file; with --days-per-file it is a directory");
      }
      std::filesystem::create_directories(dir, error);
      if (error) {
        return absl::PermissionDeniedError("cannot create directory " + options_.out + ": " +
                                           error.message());
      }
      summary_.faults_path = (dir / "faults.jsonl").string();
    } else {
      if (options_.out != "-" && std::filesystem::is_directory(options_.out, error)) {
        return absl::InvalidArgumentError(
            "--out " + options_.out +
            " is a directory; give a file name, or --days-per-file to write one file per day(s)");
      }
      if (dirty && options_.out == "-") {
        return absl::InvalidArgumentError("--dirty needs a file for --out, not stdout");
      }
      summary_.faults_path = options_.out + ".faults.jsonl";
    }
    if (dirty) {
      injector_.emplace(options_.dirty_rate,
                        Random::StreamSeed(options_.simulator.seed, kDirtyStream));
      ASSIGN_OR_RETURN(sidecar_, OutputFile::Open(summary_.faults_path));
    } else {
      // A sidecar left by an earlier dirty run would describe faults these files lack.
      if (options_.out != "-") std::filesystem::remove(summary_.faults_path, error);
      summary_.faults_path.clear();
    }
    if (options_.show_progress) progress_.emplace("generate", 0);
    buffer_.reserve(kWriteBlock + (64 << 10));
    return absl::OkStatus();
  }

  absl::Status Day(int day, std::span<const Transaction> transactions) {
    if (file_ == nullptr || (options_.days_per_file > 0 && day % options_.days_per_file == 0)) {
      RETURN_IF_ERROR(CloseFile());
      RETURN_IF_ERROR(OpenFile(day));
    }
    const Format format = options_.format;
    for (const Transaction& tx : transactions) {
      const size_t start = buffer_.size();
      AppendRow(format, tx, &buffer_);
      if (injector_) injector_->AfterRow(tx.transaction_id.value(), &buffer_, start);
      if (buffer_.size() >= kWriteBlock) RETURN_IF_ERROR(Flush());
    }
    rows_ += static_cast<int64_t>(transactions.size());
    if (progress_) progress_->Update(static_cast<uint64_t>(rows_), bytes_ + buffer_.size());
    return absl::OkStatus();
  }

  absl::StatusOr<GenerateSummary> Finish(const SimulatorStats& stats) {
    RETURN_IF_ERROR(CloseFile());
    if (sidecar_ != nullptr) RETURN_IF_ERROR(sidecar_->Close());
    if (progress_) progress_->Finish();
    summary_.stats = stats;
    summary_.bytes = bytes_;
    if (injector_) summary_.faults = injector_->total_faults();
    return summary_;
  }

 private:
  absl::Status OpenFile(int first_day) {
    std::string path = options_.out;
    if (options_.days_per_file > 0) {
      const std::string name =
          FormatDate(options_.simulator.start_epoch + first_day * kSecondsPerDay) +
          std::string(Extension(options_.format));
      path = (std::filesystem::path(options_.out) / name).string();
    }
    ASSIGN_OR_RETURN(file_, OutputFile::Open(path));
    summary_.files.push_back(path);
    const std::string_view header = HeaderLine(options_.format);
    buffer_.append(header);
    if (injector_) injector_->StartFile(path, header.empty() ? 0 : 1);
    return absl::OkStatus();
  }

  absl::Status Flush() {
    RETURN_IF_ERROR(file_->Append(buffer_));
    bytes_ += buffer_.size();
    buffer_.clear();
    if (injector_ && injector_->sidecar().size() >= kSidecarBlock) {
      RETURN_IF_ERROR(sidecar_->Append(injector_->sidecar()));
      injector_->ClearSidecar();
    }
    return absl::OkStatus();
  }

  absl::Status CloseFile() {
    if (file_ == nullptr) return absl::OkStatus();
    RETURN_IF_ERROR(Flush());
    if (injector_) {
      RETURN_IF_ERROR(sidecar_->Append(injector_->sidecar()));
      injector_->ClearSidecar();
    }
    RETURN_IF_ERROR(file_->Close());
    file_.reset();
    return absl::OkStatus();
  }

  const GenerateOptions& options_;
  GenerateSummary summary_;
  std::unique_ptr<OutputFile> file_;
  std::unique_ptr<OutputFile> sidecar_;
  std::optional<DirtyInjector> injector_;
  std::optional<Progress> progress_;
  std::string buffer_;
  int64_t rows_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

absl::StatusOr<GenerateSummary> GenerateToFiles(const GenerateOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto simulator, Simulator::Create(options.simulator));
  DataSetWriter writer(options);
  RETURN_IF_ERROR(writer.Start());
  // Two-stage pipeline: a worker thread makes day d+1 while this one formats and writes day d
  // (each stage is about half the work). Only the worker touches the simulator until get().
  std::vector<Transaction> current, next;
  for (int day = simulator->NextDay(&current); day >= 0;) {
    auto next_day =
        std::async(std::launch::async, [&simulator, &next] { return simulator->NextDay(&next); });
    const absl::Status written = writer.Day(day, current);
    day = next_day.get();
    RETURN_IF_ERROR(written);
    std::swap(current, next);
  }
  ASSIGN_OR_RETURN(GenerateSummary summary, writer.Finish(simulator->stats()));
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

std::string SummaryLine(const GenerateSummary& summary) {
  const SimulatorStats& s = summary.stats;
  const double fraud_percent =
      s.rows == 0 ? 0.0 : 100.0 * static_cast<double>(s.fraud_rows()) / static_cast<double>(s.rows);
  std::string line = absl::StrFormat(
      "generated %d rows, fraud %.3f %% (%d: scenario 1: %d, 2: %d, 3: %d), %d file%s, %.1f MB, "
      "%.1f s (%.2f M rows/s)",
      s.rows, fraud_percent, s.fraud_rows(), s.rows_per_scenario[1], s.rows_per_scenario[2],
      s.rows_per_scenario[3], summary.files.size(), summary.files.size() == 1 ? "" : "s",
      static_cast<double>(summary.bytes) / 1e6, summary.seconds,
      summary.seconds > 0 ? static_cast<double>(s.rows) / summary.seconds / 1e6 : 0.0);
  if (!summary.faults_path.empty()) {
    absl::StrAppendFormat(&line, ", %d faults injected (see %s)", summary.faults,
                          summary.faults_path);
  }
  return line;
}

}  // namespace fraud
