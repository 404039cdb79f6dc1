#include "cli/registry_common.h"

#include <algorithm>
#include <filesystem>

#include "core/status.h"
#include "fmt/format.h"

namespace fraud::cli {

void RegistryFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--registry", uri,
                  fmt::format("tracking and registry store: a SQLite path, sqlite:///path or "
                              "postgresql://user@host/db (default: ${} or {})",
                              kRegistryEnv, kDefaultRegistryPath));
  cmd->add_option("--artifact-root", artifact_root,
                  fmt::format("directory for run and model artifacts (default: ${} or "
                              "'artifacts' beside the SQLite file)",
                              kArtifactRootEnv));
}

absl::StatusOr<std::unique_ptr<Store>> RegistryFlags::Open() const {
  ASSIGN_OR_RETURN(const StoreOptions options, ResolveStoreOptions(uri, artifact_root));
  return Store::Open(options);
}

void TrackFlags::AddTo(CLI::App* cmd, const std::string& what,
                       const std::string& default_experiment) {
  experiment = default_experiment;
  cmd->add_flag("--track", track, what);
  cmd->add_option("--experiment", experiment, "experiment of the tracked run")
      ->capture_default_str();
  registry.AddTo(cmd);
}

absl::StatusOr<std::shared_ptr<LiveModel>> OpenLiveModel(const std::string& model,
                                                         const RegistryFlags& registry,
                                                         int64_t refresh_ms) {
  if (std::filesystem::is_directory(model)) return LiveModel::FromDirectory(model);
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, registry.Open());
  return LiveModel::FromRegistry(std::move(store), model, {.refresh_interval_ms = refresh_ms});
}

absl::Status ApplyModelFlags(const SplitFlags& split, const std::string& kind,
                             const std::vector<std::string>& params, TrainOptions* options) {
  ASSIGN_OR_RETURN(options->train_start_day, split.TrainStartDay());
  options->train_days = split.train_days;
  options->delay_days = split.delay_days;
  options->test_days = split.test_days;
  options->kind = kind == "rf" ? ModelKind::kRandomForest : ModelKind::kGbdt;
  for (const std::string& param : params) {
    const size_t eq = param.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("--param takes key=value, got '" + param + "'");
    }
    options->params[param.substr(0, eq)] = param.substr(eq + 1);
  }
  return absl::OkStatus();
}

std::string GateSummary(const PromoteResult& r, uint64_t seed) {
  std::string out;
  if (r.stats) {
    const GateStatistics& s = *r.stats;
    out += fmt::format(
        "gate: {} paired bootstrap resamples of {} (seed {})\n"
        "  champion   v{}  mean ROC AUC {:.5f}\n"
        "  challenger v{}  mean ROC AUC {:.5f}\n"
        "  difference {:+.5f}, {:.0f}% CI [{:+.5f}, {:+.5f}], t = {:.3f}, p = {:.3g} "
        "(promote if > 0 and p < {})\n",
        s.resamples, r.data_path, seed, r.champion.value_or(0), s.champion_mean, r.challenger,
        s.challenger_mean, s.mean_difference, 100 * (1 - s.alpha), s.ci_low, s.ci_high,
        s.t_statistic, s.p_value, s.alpha);
  }
  if (!r.gate_error.empty()) out += "gate could not run: " + r.gate_error + "\n";
  return out;
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += c + 1 < cells.size() ? fmt::format("{:<{}}  ", cells[c], widths[c]) : cells[c];
    }
    out += text + "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

std::string FormatMetric(const std::map<std::string, double>& metrics, const std::string& key) {
  const auto it = metrics.find(key);
  return it == metrics.end() ? "-" : fmt::format("{:.4f}", it->second);
}

}  // namespace fraud::cli
