#include "registry/retrain.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/file.h"
#include "core/hash.h"
#include "core/status.h"
#include "core/time.h"
#include "data/cleaner.h"
#include "fmt/format.h"
#include "model/evaluation.h"

namespace fraud {
namespace fs = std::filesystem;
namespace {

absl::StatusOr<std::string> FingerprintFile(const std::string& path, uint64_t* bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return absl::NotFoundError("cannot read " + path);
  Fnv1a64 hash;
  std::vector<char> buffer(1 << 20);
  *bytes = 0;
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    hash.Add(std::string_view(buffer.data(), got));
    *bytes += got;
  }
  if (std::ferror(file.get())) return absl::UnavailableError("error reading " + path);
  return hash.Hex();
}

bool IsDataFileName(const std::string& name) {
  return !name.empty() && name[0] != '.' && !name.ends_with(".tmp") && name != "faults.jsonl" &&
         !name.ends_with(".faults.jsonl");
}

// Cleans `file` into the cache (once per fingerprint); returns the clean CSV's path.
absl::StatusOr<std::string> CleanCached(const DataFile& file, const std::string& cache) {
  const std::string stem = cache + "/" + file.fingerprint.substr(file.fingerprint.find(':') + 1);
  const std::string out = stem + ".csv";
  if (fs::exists(out)) return out;
  CleanOptions clean;
  clean.input = file.path;
  clean.output = out;
  clean.quarantine = stem + ".rejected.tsv";
  clean.report = stem + ".quality.json";
  clean.output_format = Format::kCsv;
  clean.progress = false;
  RETURN_IF_ERROR(Clean(clean).status());
  return out;
}

// Joins clean CSV files (each with the same header) into one, header once.
absl::Status JoinCsv(const std::vector<std::string>& parts, const std::string& out_path) {
  ASSIGN_OR_RETURN(auto out, OutputFile::Open(out_path));
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSIGN_OR_RETURN(const std::string text, ReadFile(parts[i]));
    const size_t body = i == 0 ? 0 : std::min(text.size(), text.find('\n') + 1);
    RETURN_IF_ERROR(out->Append(std::string_view(text).substr(body)));
  }
  return out->Close();
}

absl::StatusOr<std::vector<std::string>> KnownFingerprints(Store& store) {
  std::vector<std::string> known;
  RETURN_IF_ERROR(store.db().Read([&](Sql& sql) -> absl::Status {
    ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT fingerprint FROM data_files", {}));
    for (const SqlRow& row : rows) known.push_back(row.Text(0));
    return absl::OkStatus();
  }));
  return known;
}

absl::Status RecordTrainedOn(Store& store, const std::vector<DataFile>& files,
                             const std::string& run_id) {
  return store.db().Write([&](Sql& sql) -> absl::Status {
    for (const DataFile& f : files) {
      ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT 1 FROM data_files WHERE fingerprint = ?",
                                            {f.fingerprint}));
      if (!rows.empty()) continue;  // another retrain recorded it meanwhile
      RETURN_IF_ERROR(sql.Exec(
          "INSERT INTO data_files (fingerprint, path, run_id, creation_time) VALUES (?, ?, ?, ?)",
          {f.fingerprint, f.path, run_id, Store::NowMillis()}));
    }
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<int64_t> ParseInterval(const std::string& text) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        "bad interval '" + text + "': use a number with s, m, h or d (e.g. 60m)");
  };
  if (text.size() < 2) return bad();
  const char unit = text.back();
  const std::string digits = text.substr(0, text.size() - 1);
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return bad();
  const int64_t n = std::stoll(digits);
  int64_t scale = 0;
  switch (unit) {
    case 's': scale = 1; break;
    case 'm': scale = 60; break;
    case 'h': scale = 3600; break;
    case 'd': scale = 86400; break;
    default: return bad();
  }
  if (n <= 0) return bad();
  return n * scale;
}

absl::StatusOr<std::vector<DataFile>> ListDataFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(fmt::format("--data-dir {} is not a directory", dir));
  }
  std::vector<DataFile> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || !IsDataFileName(entry.path().filename().string())) continue;
    DataFile f;
    f.path = fs::absolute(entry.path()).string();
    ASSIGN_OR_RETURN(f.fingerprint, FingerprintFile(f.path, &f.bytes));
    files.push_back(std::move(f));
  }
  if (ec) return absl::UnavailableError(fmt::format("cannot list {}: {}", dir, ec.message()));
  std::sort(files.begin(), files.end(),
            [](const DataFile& a, const DataFile& b) { return a.path < b.path; });
  return files;
}

absl::StatusOr<RetrainResult> RetrainOnce(Store& store, const RetrainOptions& options) {
  RETURN_IF_ERROR(ValidateModelName(options.model));
  RETURN_IF_ERROR(ValidateAlias(options.alias));
  RetrainResult result;
  ASSIGN_OR_RETURN(result.files, ListDataFiles(options.data_dir));
  ASSIGN_OR_RETURN(const std::vector<std::string> known, KnownFingerprints(store));
  for (const DataFile& f : result.files) {
    if (std::find(known.begin(), known.end(), f.fingerprint) == known.end()) {
      result.new_files.push_back(f);
    }
  }
  if (result.files.empty()) {
    result.message = fmt::format("no data files in {}: nothing to do", options.data_dir);
    return result;
  }
  if (result.new_files.empty()) {
    result.message = fmt::format("no new data in {} ({} files, all trained on): nothing to do",
                                 options.data_dir, result.files.size());
    return result;
  }

  const std::string work = options.work_dir.empty() ? store.artifact_root() + "/retrain"
                                                    : options.work_dir;
  std::error_code ec;
  fs::create_directories(work + "/clean", ec);
  if (ec) return absl::UnavailableError(fmt::format("cannot create {}: {}", work, ec.message()));
  std::vector<std::string> cleaned;
  Fnv1a64 set_hash;
  for (const DataFile& f : result.files) {
    ASSIGN_OR_RETURN(std::string clean, CleanCached(f, work + "/clean"));
    cleaned.push_back(std::move(clean));
    set_hash.Add(f.fingerprint);
  }
  const std::string id = fmt::format("{:016x}", set_hash.value());
  const std::string data_path = fmt::format("{}/train-{}.csv", work, id);
  RETURN_IF_ERROR(JoinCsv(cleaned, data_path));

  TrackedTrainOptions train;
  train.train = options.train;
  train.train.data_path = data_path;
  train.train.out_dir = fmt::format("{}/model-{}-{}", work, id, Store::NewId().substr(0, 8));
  if (!train.train.train_start_day) {
    // The newest split that fits: its test period ends on the data's last day.
    ASSIGN_OR_RETURN(const std::vector<Transaction> txs, ReadHistory(data_path));
    if (txs.empty()) return absl::FailedPreconditionError("the data files hold no clean rows");
    train.train.train_start_day = DayIndex(txs.back().tx_datetime) -
                                  (train.train.train_days + train.train.delay_days +
                                   train.train.test_days) + 1;
  }
  train.experiment = options.experiment;
  train.run_name = fmt::format("retrain {} ({} new files)", options.model, result.new_files.size());
  train.register_as = options.model;
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const DataFile& f : result.new_files) {
    files.push_back({{"path", f.path}, {"fingerprint", f.fingerprint}, {"bytes", f.bytes}});
  }
  train.tags = {{"fraudstream.trigger", "retrain"}, {"fraudstream.new_data_files", files.dump()}};
  ASSIGN_OR_RETURN(result.train, TrainTracked(store, train));
  result.trained = true;
  fs::remove_all(train.train.out_dir, ec);  // the run and the version hold the artifact
  RETURN_IF_ERROR(RecordTrainedOn(store, result.files, result.train->run.run_id));

  PromoteOptions promote;
  promote.model = options.model;
  promote.challenger = result.train->version->version;
  promote.alias = options.alias;
  promote.data_path = data_path;
  promote.split = result.train->train.split;
  promote.gate = options.gate;
  auto promoted = Promote(store, promote);
  if (!promoted.ok()) {
    return absl::Status(promoted.status().code(),
                        fmt::format("trained and registered {} version {}, but the promotion "
                                    "failed (run 'fraudstream promote' again): {}",
                                    options.model, promote.challenger,
                                    std::string(promoted.status().message())));
  }
  result.promote = *promoted;
  result.message = fmt::format("trained on {} files ({} new): {} version {} {} @{} ({})",
                               result.files.size(), result.new_files.size(), options.model,
                               promote.challenger, promoted->promoted ? "promoted to" : "not promoted to",
                               options.alias, promoted->reason);
  return result;
}

}  // namespace fraud
