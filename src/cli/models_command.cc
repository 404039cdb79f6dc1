// fraudstream models list | show NAME | register NAME (--run ID | --path DIR)
//   | alias set NAME ALIAS VERSION | alias delete NAME ALIAS | get NAME@ALIAS|NAME/VERSION

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/registry_common.h"
#include "core/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "registry/model_registry.h"

namespace fraud::cli {
namespace {

struct ModelsFlags {
  RegistryFlags registry;
  std::string name;
  std::string alias;
  int64_t version = 0;
  std::string reference;
  VersionSource source;
  bool json = false;
};

std::string Aliases(const std::vector<std::string>& aliases) {
  if (aliases.empty()) return "-";
  std::string out;
  for (const std::string& a : aliases) out += (out.empty() ? "@" : ",@") + a;
  return out;
}

void PrintVersion(const ModelVersion& v, bool json) {
  if (json) {
    std::puts(v.ToJson().dump(2).c_str());
    return;
  }
  std::printf("%s version %lld  %s\n", v.name.c_str(), static_cast<long long>(v.version),
              Aliases(v.aliases).c_str());
  std::printf("  status   %s\n  created  %s\n  run      %s\n  source   %s\n  path     %s\n",
              v.status.c_str(), FormatMillis(v.creation_time).c_str(),
              v.run_id.empty() ? "-" : v.run_id.c_str(), v.source.c_str(), v.path.c_str());
}

absl::Status ModelsList(const ModelsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const std::vector<RegisteredModel> models, ModelRegistry(*store).ListModels());
  if (flags.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const RegisteredModel& m : models) out.push_back(m.ToJson());
    std::puts(out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const RegisteredModel& m : models) {
    std::vector<std::string> aliases;
    for (const auto& [alias, version] : m.aliases) aliases.push_back(fmt::format("{}={}", alias, version));
    rows.push_back({m.name, std::to_string(m.latest_version),
                    aliases.empty() ? "-" : fmt::format("{}", fmt::join(aliases, ",")),
                    FormatMillis(m.last_updated_time)});
  }
  std::fputs(Table({"NAME", "LATEST", "ALIASES", "UPDATED"}, rows).c_str(), stdout);
  if (models.empty()) std::puts("(no registered models)");
  return absl::OkStatus();
}

absl::Status ModelsShow(const ModelsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ModelRegistry registry(*store);
  ASSIGN_OR_RETURN(const RegisteredModel model, registry.GetModel(flags.name));
  ASSIGN_OR_RETURN(const std::vector<ModelVersion> versions, registry.ListVersions(flags.name));
  if (flags.json) {
    nlohmann::ordered_json out = model.ToJson();
    out["versions"] = nlohmann::ordered_json::array();
    for (const ModelVersion& v : versions) out["versions"].push_back(v.ToJson());
    std::puts(out.dump(2).c_str());
    return absl::OkStatus();
  }
  std::printf("model %s: %zu versions, created %s, updated %s\n", model.name.c_str(),
              versions.size(), FormatMillis(model.creation_time).c_str(),
              FormatMillis(model.last_updated_time).c_str());
  if (!model.description.empty()) std::printf("  %s\n", model.description.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const ModelVersion& v : versions) {
    rows.push_back({std::to_string(v.version), Aliases(v.aliases), v.status,
                    FormatMillis(v.creation_time), v.run_id.empty() ? "-" : v.run_id, v.source});
  }
  std::fputs(Table({"VERSION", "ALIASES", "STATUS", "CREATED", "RUN_ID", "SOURCE"}, rows).c_str(),
             stdout);
  return absl::OkStatus();
}

absl::Status ModelsRegister(const ModelsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const ModelVersion v, ModelRegistry(*store).CreateVersion(flags.name, flags.source));
  if (flags.json) {
    PrintVersion(v, true);
  } else {
    std::printf("registered %s version %lld from %s\n", v.name.c_str(),
                static_cast<long long>(v.version), v.source.c_str());
  }
  return absl::OkStatus();
}

absl::Status AliasSet(const ModelsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ModelRegistry registry(*store);
  RETURN_IF_ERROR(registry.SetAlias(flags.name, flags.alias, flags.version));
  std::printf("%s@%s -> version %lld\n", flags.name.c_str(), flags.alias.c_str(),
              static_cast<long long>(flags.version));
  return absl::OkStatus();
}

absl::Status AliasDelete(const ModelsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  RETURN_IF_ERROR(ModelRegistry(*store).DeleteAlias(flags.name, flags.alias));
  std::printf("deleted %s@%s\n", flags.name.c_str(), flags.alias.c_str());
  return absl::OkStatus();
}

absl::Status ModelsGet(const ModelsFlags& flags) {
  ASSIGN_OR_RETURN(auto store, flags.registry.Open());
  ASSIGN_OR_RETURN(const ModelVersion v, ModelRegistry(*store).Resolve(flags.reference));
  PrintVersion(v, flags.json);
  return absl::OkStatus();
}

// Adds a sub-subcommand with the registry flags and --json, whose action is `run`.
CLI::App* Sub(CLI::App* parent, const char* name, const char* help,
              std::shared_ptr<ModelsFlags> flags, Action* action,
              absl::Status (*run)(const ModelsFlags&), bool json = true) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  flags->registry.AddTo(cmd);
  if (json) cmd->add_flag("--json", flags->json, "print JSON");
  cmd->callback([flags, action, run] { *action = [flags, run] { return run(*flags); }; });
  return cmd;
}

}  // namespace

void AddModelsCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<ModelsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "models",
      "The model registry (MLflow semantics): registered models, numbered versions, aliases "
      "such as @Production.");
  cmd->require_subcommand(1);
  Sub(cmd, "list", "List registered models.", flags, action, ModelsList);
  CLI::App* show = Sub(cmd, "show", "Show a model and its versions.", flags, action, ModelsShow);
  show->add_option("name", flags->name, "model name")->required();
  CLI::App* reg = Sub(cmd, "register",
                      "Register a new version of a model (created on its first version) from a "
                      "run's model artifact or a model directory (copied under the artifact root).",
                      flags, action, ModelsRegister);
  reg->add_option("name", flags->name, "model name")->required();
  auto* run = reg->add_option("--run", flags->source.run_id, "the run whose 'model' artifact to register");
  auto* path = reg->add_option("--path", flags->source.path, "a model directory to register");
  run->excludes(path);
  reg->add_option("--description", flags->source.description,
                  "description of the model (when this creates it)");
  reg->callback([flags, action, reg] {
    if (flags->source.run_id.empty() && flags->source.path.empty()) {
      throw CLI::RequiredError("--run or --path");
    }
    *action = [flags] { return ModelsRegister(*flags); };
  });

  CLI::App* alias = cmd->add_subcommand("alias", "Set or delete an alias (e.g. Production).");
  alias->require_subcommand(1);
  CLI::App* set = Sub(alias, "set", "Point NAME@ALIAS at VERSION.", flags, action, AliasSet, false);
  set->add_option("name", flags->name, "model name")->required();
  set->add_option("alias", flags->alias, "alias, e.g. Production")->required();
  set->add_option("version", flags->version, "version number")->required()->check(CLI::PositiveNumber);
  CLI::App* del = Sub(alias, "delete", "Remove NAME@ALIAS.", flags, action, AliasDelete, false);
  del->add_option("name", flags->name, "model name")->required();
  del->add_option("alias", flags->alias, "alias")->required();

  CLI::App* get = Sub(cmd, "get",
                      "Resolve NAME@ALIAS, NAME/VERSION or NAME/latest to a version and its "
                      "artifact path.",
                      flags, action, ModelsGet);
  get->add_option("reference", flags->reference, "NAME@ALIAS, NAME/VERSION or NAME/latest")
      ->required();
}

}  // namespace fraud::cli
