#include "data/simulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/time.h"
#include "data/dirty.h"
#include "data/row_writer.h"
#include "nlohmann/json.hpp"

namespace fraud {
namespace {

namespace fs = std::filesystem;

// A fresh, empty directory for one test.
std::string TestDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("simulator_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

SimulatorConfig SmallConfig() {
  SimulatorConfig config;
  config.customers = 200;
  config.terminals = 400;
  config.days = 12;
  return config;
}

GenerateOptions Options(const SimulatorConfig& config, const std::string& out) {
  GenerateOptions options;
  options.simulator = config;
  options.out = out;
  options.show_progress = false;
  return options;
}

TEST(SimulatorRandom, DistributionsHaveTheirMoments) {
  Random random(Random::StreamSeed(7, 1));
  constexpr int kDraws = 200000;
  double sum = 0, sum2 = 0, poisson_sum = 0, uniform_sum = 0;
  std::vector<int> int_counts(5, 0);
  for (int i = 0; i < kDraws; ++i) {
    const double x = random.Normal(10, 2);
    sum += x;
    sum2 += x * x;
    poisson_sum += random.Poisson(2.5);
    const double u = random.Uniform(5, 100);
    ASSERT_GE(u, 5);
    ASSERT_LT(u, 100);
    uniform_sum += u;
    ++int_counts[random.UniformInt(5)];
  }
  const double mean = sum / kDraws;
  EXPECT_NEAR(mean, 10, 0.02);
  EXPECT_NEAR(std::sqrt(sum2 / kDraws - mean * mean), 2, 0.02);
  EXPECT_NEAR(poisson_sum / kDraws, 2.5, 0.02);
  EXPECT_NEAR(uniform_sum / kDraws, 52.5, 0.3);
  for (int n : int_counts) EXPECT_NEAR(n, kDraws / 5, kDraws / 100);
  EXPECT_NE(Random::StreamSeed(7, 1), Random::StreamSeed(7, 2));
  EXPECT_NE(Random::StreamSeed(7, 1), Random::StreamSeed(8, 1));
}

TEST(Simulator, RejectsBadConfig) {
  SimulatorConfig config = SmallConfig();
  config.radius = 0;
  EXPECT_EQ(Simulator::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = SmallConfig();
  config.days = 0;
  EXPECT_EQ(Simulator::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = SmallConfig();
  config.start_epoch += 5;
  EXPECT_EQ(Simulator::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config = SmallConfig();
  config.customers = -1;
  EXPECT_EQ(Simulator::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Simulator, TerminalsWithinRadiusMatchBruteForce) {
  SimulatorConfig config = SmallConfig();
  config.radius = 7.5;
  auto simulator = Simulator::Create(config);
  ASSERT_TRUE(simulator.ok()) << simulator.status();
  const auto& customers = (*simulator)->customers();
  const auto& terminals = (*simulator)->terminals();
  for (size_t c = 0; c < customers.size(); ++c) {
    std::vector<int32_t> expected;
    for (size_t t = 0; t < terminals.size(); ++t) {
      const double dx = customers[c].x - terminals[t].x, dy = customers[c].y - terminals[t].y;
      if (dx * dx + dy * dy < config.radius * config.radius) {
        expected.push_back(static_cast<int32_t>(t));
      }
    }
    const auto got = (*simulator)->TerminalsOf(static_cast<int64_t>(c));
    ASSERT_EQ(std::vector<int32_t>(got.begin(), got.end()), expected) << "customer " << c;
  }
}

TEST(Simulator, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string dir = TestDir("determinism");
  SimulatorConfig config = SmallConfig();
  ASSERT_TRUE(GenerateToFiles(Options(config, dir + "/a.txt")).ok());
  ASSERT_TRUE(GenerateToFiles(Options(config, dir + "/b.txt")).ok());
  config.seed = 1;
  ASSERT_TRUE(GenerateToFiles(Options(config, dir + "/c.txt")).ok());
  const std::string a = ReadAll(dir + "/a.txt");
  EXPECT_GT(a.size(), 10000u);
  EXPECT_EQ(a, ReadAll(dir + "/b.txt"));
  EXPECT_NE(a, ReadAll(dir + "/c.txt"));
  EXPECT_EQ(a.substr(0, HeaderLine(Format::kOtus).size()), HeaderLine(Format::kOtus));
  EXPECT_FALSE(fs::exists(dir + "/a.txt.faults.jsonl"));
}

TEST(Simulator, StatisticsAndInvariantsOfAMediumDataSet) {
  SimulatorConfig config;
  config.customers = 1000;
  config.terminals = 2000;
  config.days = 60;
  auto simulator = Simulator::Create(config);
  ASSERT_TRUE(simulator.ok()) << simulator.status();
  Simulator& sim = **simulator;

  int64_t rows = 0, previous_time = -1;
  std::array<int64_t, kNumFraudScenarios> per_scenario{};
  int64_t over_220 = 0;
  int next_day = 0;
  const absl::Status status = sim.Run([&](int day, std::span<const Transaction> txs) {
    EXPECT_EQ(day, next_day++);
    for (const Transaction& tx : txs) {
      EXPECT_EQ(tx.transaction_id.value(), rows);
      ++rows;
      EXPECT_GT(tx.amount_cents, 0);
      EXPECT_EQ(tx.amount_decimals, 2);
      const int64_t second = tx.tx_time_seconds - day * kSecondsPerDay;
      EXPECT_GT(second, 0);
      EXPECT_LT(second, kSecondsPerDay);
      EXPECT_GE(tx.tx_time_seconds, previous_time);
      previous_time = tx.tx_time_seconds;
      EXPECT_EQ(tx.tx_time_days, day);
      EXPECT_EQ(tx.tx_time_days, tx.tx_time_seconds / kSecondsPerDay);
      EXPECT_EQ(tx.tx_datetime, config.start_epoch + tx.tx_time_seconds);
      EXPECT_EQ(tx.tx_fraud, tx.tx_fraud_scenario > 0 ? 1 : 0);
      if (tx.tx_fraud_scenario < 0 || tx.tx_fraud_scenario >= kNumFraudScenarios) {
        return absl::InternalError("bad scenario");
      }
      ++per_scenario[tx.tx_fraud_scenario];
      if (tx.amount_cents > 22000) ++over_220;
      // Scenario 1 is exactly "amount > 220" among rows no later scenario took.
      if (tx.tx_fraud_scenario <= 1) {
        EXPECT_EQ(tx.tx_fraud_scenario == 1, tx.amount_cents > 22000);
      }
      if (tx.tx_fraud_scenario == 3) {
        EXPECT_EQ(tx.amount_cents % 5, 0);
      }
      // The terminal is one the customer can use.
      const auto available = sim.TerminalsOf(tx.customer_id.value());
      EXPECT_TRUE(std::binary_search(available.begin(), available.end(),
                                     static_cast<int32_t>(tx.terminal_id.value())));
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(next_day, config.days);
  EXPECT_EQ(sim.stats().rows, rows);
  EXPECT_EQ(sim.stats().rows_per_scenario, per_scenario);

  // Rows: days x P(0 < int(t) < 86400) x sum of the daily means of customers with terminals.
  double daily_mean = 0;
  for (int64_t c = 0; c < config.customers; ++c) {
    if (!sim.TerminalsOf(c).empty()) daily_mean += sim.customers()[c].mean_nb_tx_per_day;
  }
  const auto phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const double keep = phi((86400 - 43200) / 20000.0) - phi((1 - 43200) / 20000.0);
  const double expected_rows = config.days * keep * daily_mean;
  EXPECT_NEAR(static_cast<double>(rows) / expected_rows, 1.0, 0.02)
      << rows << " rows, expected " << expected_rows;

  // Every scenario is present; with 2000 terminals (2 x 28 compromised at a time) and 1000
  // customers (3 x 14), the expected fraud rate is ~ 2.8 % + 1.4 % + ~0.1 %.
  EXPECT_GT(per_scenario[1], 0);
  EXPECT_GT(per_scenario[2], 0);
  EXPECT_GT(per_scenario[3], 0);
  const double fraud_rate = static_cast<double>(sim.stats().fraud_rows()) / rows;
  EXPECT_GT(fraud_rate, 0.02);
  EXPECT_LT(fraud_rate, 0.08);
  EXPECT_GT(over_220, 0);
}

TEST(Simulator, HandbookLikeFraudRate) {
  // The handbook's sizes over 40 days: the handbook reports 0.84 % over 183 days; over the
  // first 40 the compromised terminals are still building up to their 28-day plateau.
  SimulatorConfig config;  // handbook sizes, fewer days
  config.days = 40;
  auto all = SimulateAll(config);
  ASSERT_TRUE(all.ok()) << all.status();
  int64_t fraud = 0;
  for (const Transaction& tx : *all) fraud += tx.tx_fraud;
  const double rate = static_cast<double>(fraud) / static_cast<double>(all->size());
  EXPECT_GT(rate, 0.004);
  EXPECT_LT(rate, 0.015);
}

TEST(Simulator, DaysPerFileSplitsTheSameRows) {
  const std::string dir = TestDir("split");
  SimulatorConfig config = SmallConfig();
  config.days = 10;
  GenerateOptions split = Options(config, dir + "/days");
  split.days_per_file = 3;
  split.format = Format::kCsv;
  GenerateOptions single = Options(config, dir + "/all.csv");
  single.format = Format::kCsv;
  auto whole = GenerateToFiles(single);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto parts = GenerateToFiles(split);
  ASSERT_TRUE(parts.ok()) << parts.status();

  const std::vector<std::string> names = {"2018-04-01.csv", "2018-04-04.csv", "2018-04-07.csv",
                                          "2018-04-10.csv"};
  ASSERT_EQ(parts->files.size(), names.size());
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(dir + "/days")) {
    on_disk.insert(entry.path().filename().string());
  }
  EXPECT_EQ(on_disk, std::set<std::string>(names.begin(), names.end()));

  const std::string_view header_line = HeaderLine(Format::kCsv);
  const std::string header(header_line.substr(0, header_line.size() - 1));
  std::vector<std::string> union_rows;
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(parts->files[i], (fs::path(dir) / "days" / names[i]).string());
    const auto lines = ReadLines(parts->files[i]);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0], header);
    // Every row of the file lies in its 3 days (the last file holds 1 day).
    const std::string first_date = names[i].substr(0, 10);
    for (size_t l = 1; l < lines.size(); ++l) {
      std::vector<std::string> fields;
      std::stringstream row(lines[l]);
      for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
      ASSERT_EQ(fields.size(), 9u) << lines[l];
      const int64_t day = std::stoll(fields[6]);  // tx_time_days
      EXPECT_GE(day, static_cast<int64_t>(3 * i));
      EXPECT_LT(day, static_cast<int64_t>(3 * i + 3));
      union_rows.push_back(lines[l]);
    }
    EXPECT_EQ(lines[1].substr(lines[1].find(',') + 1, 10), first_date);
  }
  auto whole_lines = ReadLines(dir + "/all.csv");
  ASSERT_FALSE(whole_lines.empty());
  whole_lines.erase(whole_lines.begin());
  EXPECT_EQ(union_rows, whole_lines);
  EXPECT_EQ(static_cast<int64_t>(whole_lines.size()), whole->stats.rows);
  EXPECT_EQ(parts->stats.rows, whole->stats.rows);
}

TEST(Simulator, RejectsBadOptions) {
  const std::string dir = TestDir("bad_options");
  GenerateOptions options = Options(SmallConfig(), "");
  EXPECT_EQ(GenerateToFiles(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.out = dir;  // a directory without --days-per-file
  EXPECT_EQ(GenerateToFiles(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.out = dir + "/x.txt";
  options.dirty_rate = 1.5;
  EXPECT_EQ(GenerateToFiles(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.dirty_rate = 0.1;
  options.format = Format::kJsonLines;
  EXPECT_EQ(GenerateToFiles(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DirtyFaults, ApplyFaultRewritesTheRightField) {
  const std::string row = "7,2018-04-01 07:19:05,42,817,12.34,26345,0,0,0\n";
  auto apply = [&](FaultKind kind) {
    std::string out;
    ApplyFault(kind, row, &out);
    return out;
  };
  EXPECT_EQ(apply(FaultKind::kTerminalEmpty), "7,2018-04-01 07:19:05,42,,12.34,26345,0,0,0\n");
  EXPECT_EQ(apply(FaultKind::kTerminalErr), "7,2018-04-01 07:19:05,42,Err,12.34,26345,0,0,0\n");
  EXPECT_EQ(apply(FaultKind::kCustomerNegative),
            "7,2018-04-01 07:19:05,-999999,817,12.34,26345,0,0,0\n");
  EXPECT_EQ(apply(FaultKind::kHour24), "7,2018-04-01 24:00:00,42,817,12.34,26345,0,0,0\n");
  EXPECT_EQ(apply(FaultKind::kAmountZero), "7,2018-04-01 07:19:05,42,817,0.00,26345,0,0,0\n");
  EXPECT_EQ(apply(FaultKind::kDuplicateRow), row + row);
  EXPECT_EQ(apply(FaultKind::kTooFewFields), "7,2018-04-01 07:19:05,42,817,12.34,26345,0\n");
  EXPECT_EQ(apply(FaultKind::kTextInNumeric), "7,2018-04-01 07:19:05,42,817,N/A,26345,0,0,0\n");
  EXPECT_EQ(FaultName(FaultKind::kHour24), "hour24");
  EXPECT_EQ(ExpectedRule(FaultKind::kHour24), "tx_datetime_hour24_rebuilt");
  EXPECT_EQ(ExpectedRule(FaultKind::kTooFewFields), "wrong_field_count");
}

FaultKind KindNamed(const std::string& name) {
  for (int k = 0; k < kNumFaultKinds; ++k) {
    if (FaultName(static_cast<FaultKind>(k)) == name) return static_cast<FaultKind>(k);
  }
  ADD_FAILURE() << "unknown fault " << name;
  return FaultKind::kDuplicateRow;
}

// Checks the dirty files against the clean ones: every sidecar entry names a line that is the
// clean row with that fault, every other line is the clean row itself.
void ExpectFaultsAsDescribed(const std::vector<std::string>& clean_files,
                             const std::vector<std::string>& dirty_files,
                             const std::string& sidecar, double rate) {
  struct Entry {
    int64_t transaction_id;
    FaultKind kind;
  };
  std::map<std::string, std::map<int64_t, Entry>> by_file;  // file -> line -> entry
  int64_t entries = 0;
  std::array<int64_t, kNumFaultKinds> per_kind{};
  for (const std::string& text : ReadLines(sidecar)) {
    const auto json = nlohmann::json::parse(text);
    const FaultKind kind = KindNamed(json.at("fault").get<std::string>());
    EXPECT_EQ(json.at("expect").get<std::string>(), ExpectedRule(kind));
    by_file[json.at("file").get<std::string>()][json.at("line").get<int64_t>()] =
        Entry{json.at("transaction_id").get<int64_t>(), kind};
    ++entries;
    ++per_kind[static_cast<int>(kind)];
  }
  ASSERT_EQ(clean_files.size(), dirty_files.size());
  int64_t eligible_rows = 0;
  for (size_t f = 0; f < dirty_files.size(); ++f) {
    const auto clean = ReadLines(clean_files[f]);
    const auto dirty = ReadLines(dirty_files[f]);
    const auto& faults = by_file[dirty_files[f]];
    eligible_rows += std::max<int64_t>(0, static_cast<int64_t>(clean.size()) - 1 - 1000);
    size_t c = 0;  // index in clean
    for (size_t d = 0; d < dirty.size(); ++d) {
      const int64_t line = static_cast<int64_t>(d) + 1;
      const auto it = faults.find(line);
      if (it == faults.end()) {
        ASSERT_LT(c, clean.size());
        ASSERT_EQ(dirty[d], clean[c]) << dirty_files[f] << ":" << line;
        ++c;
        continue;
      }
      EXPECT_GT(line, 1001) << "fault in the first 1000 rows";
      const Entry& entry = it->second;
      if (entry.kind == FaultKind::kDuplicateRow) {
        ASSERT_GE(d, 1u);
        EXPECT_EQ(dirty[d], dirty[d - 1]) << line;  // the copy follows the original
        EXPECT_EQ(dirty[d].substr(0, dirty[d].find(',')), std::to_string(entry.transaction_id));
        continue;  // the original was already matched
      }
      ASSERT_LT(c, clean.size());
      EXPECT_EQ(clean[c].substr(0, clean[c].find(',')), std::to_string(entry.transaction_id));
      std::string expected;
      ApplyFault(entry.kind, clean[c] + "\n", &expected);
      EXPECT_EQ(dirty[d] + "\n", expected) << dirty_files[f] << ":" << line;
      ++c;
    }
    EXPECT_EQ(c, clean.size());
  }
  // About rate x eligible rows, every kind seen.
  const double expected = rate * static_cast<double>(eligible_rows);
  EXPECT_NEAR(static_cast<double>(entries), expected, 5 * std::sqrt(expected) + 1);
  for (int64_t n : per_kind) EXPECT_GT(n, 0);
}

TEST(DirtyInjection, SingleFileSidecarDescribesEveryFault) {
  const std::string dir = TestDir("dirty_single");
  SimulatorConfig config = SmallConfig();
  config.days = 30;
  auto clean = GenerateToFiles(Options(config, dir + "/clean.txt"));
  ASSERT_TRUE(clean.ok()) << clean.status();
  GenerateOptions options = Options(config, dir + "/dirty.txt");
  options.dirty_rate = 0.05;
  auto dirty = GenerateToFiles(options);
  ASSERT_TRUE(dirty.ok()) << dirty.status();
  EXPECT_EQ(dirty->faults_path, dir + "/dirty.txt.faults.jsonl");
  EXPECT_GT(dirty->faults, 0);
  EXPECT_EQ(dirty->stats.rows, clean->stats.rows);  // stats count generated rows
  ExpectFaultsAsDescribed(clean->files, dirty->files, dirty->faults_path, options.dirty_rate);
  EXPECT_EQ(static_cast<int64_t>(ReadLines(dirty->faults_path).size()), dirty->faults);

  // Same seed, same faults.
  options.out = dir + "/dirty2.txt";
  ASSERT_TRUE(GenerateToFiles(options).ok());
  EXPECT_EQ(ReadAll(dir + "/dirty.txt"), ReadAll(dir + "/dirty2.txt"));

  // A clean run over the same name removes the stale sidecar.
  options.out = dir + "/dirty.txt";
  options.dirty_rate = 0;
  ASSERT_TRUE(GenerateToFiles(options).ok());
  EXPECT_FALSE(fs::exists(dir + "/dirty.txt.faults.jsonl"));
}

TEST(DirtyInjection, DirectorySidecarAndPerFileSkip) {
  const std::string dir = TestDir("dirty_dir");
  SimulatorConfig config = SmallConfig();
  config.days = 30;
  GenerateOptions clean_options = Options(config, dir + "/clean");
  clean_options.days_per_file = 7;
  auto clean = GenerateToFiles(clean_options);
  ASSERT_TRUE(clean.ok()) << clean.status();
  GenerateOptions options = clean_options;
  options.out = dir + "/dirty";
  options.dirty_rate = 0.05;
  auto dirty = GenerateToFiles(options);
  ASSERT_TRUE(dirty.ok()) << dirty.status();
  EXPECT_EQ(dirty->faults_path, (fs::path(dir) / "dirty" / "faults.jsonl").string());
  EXPECT_EQ(dirty->files.size(), 5u);
  ExpectFaultsAsDescribed(clean->files, dirty->files, dirty->faults_path, options.dirty_rate);
}

}  // namespace
}  // namespace fraud
