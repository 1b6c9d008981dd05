#include "landscape/workbench.h"

#include <set>

#include <nlohmann/json.hpp>

#include "analysis/cosine_similarity.h"
#include "io/json_numbers.h"
#include "lora/adapter_set.h"
#include "train/task_examples.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {

nlohmann::json LandscapeSetup::to_json() const {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& p : tasks)
    t.push_back(p.string());
  nlohmann::json j = {{"model", model.string()}, {"tasks", t}, {"split", split}, {"limit", limit}};
  // Only when it is not the default, so float32 results read as they always did.
  if (precision != "fp32") j["precision"] = precision;
  return j;
}

LandscapeSetup LandscapeSetup::from_json(const nlohmann::json& j) {
  LandscapeSetup s;
  try {
    s.model = j.at("model").get<std::string>();
    for (const auto& t : j.at("tasks"))
      s.tasks.emplace_back(t.get<std::string>());
    s.split = j.value("split", s.split);
    s.precision = j.value("precision", s.precision);
    if (s.precision != "fp32" && s.precision != "bf16")
      throw InputError("landscape setup: unknown precision '" + excerpt(s.precision, 20) +
                       "' (expected fp32 or bf16)");
    if (j.contains("limit")) s.limit = json_integer<size_t>(j["limit"], "landscape limit");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad landscape setup in JSON: ") + e.what());
  }
  return s;
}

fs::path resolve_base_model(const Adapter& adapter) {
  const std::string& name = adapter.config.base_model_name_or_path;
  if (name.empty()) return {};
  const fs::path p = name;
  // Absolute; or relative to the adapter folder, to the folder holding it (PEFT writes what
  // the training script passed, usually relative to where it ran), or to the current folder.
  std::vector<fs::path> candidates = {p};
  if (p.is_relative() && !adapter.path.empty())
    candidates = {adapter.path / p, adapter.path.parent_path() / p, p};
  for (const auto& c : candidates) {
    std::error_code ec;
    if (!fs::is_regular_file(c / "config.json", ec)) continue;
    const auto canon = fs::weakly_canonical(c, ec);
    return ec ? c : canon;
  }
  return {};
}

EvalSet build_eval_set(const std::vector<TaskSpec>& tasks, const Tokenizer& tok, int64_t eos,
                       const std::string& split, size_t limit) {
  if (tasks.empty()) throw InputError("the evaluation needs at least one task");
  EvalSet set;
  for (const auto& t : tasks) {
    auto rows = t.load_split(split);
    if (limit > 0 && rows.size() > limit) rows.resize(limit);
    if (rows.empty())
      throw InputError("task '" + t.name + "' has no examples in split '" + split + "'");
    for (auto& e : task_examples(t, rows, tok, eos))
      set.examples.push_back(std::move(e));
  }
  return set;
}

Eigen::MatrixXd bank_gram(const std::vector<std::shared_ptr<const Adapter>>& adapters,
                          jobs::Progress& progress) {
  AdapterSet set;
  for (const auto& a : adapters)
    set.add(a);
  const auto sim = cosine_similarity(set, progress);
  const auto n = static_cast<Eigen::Index>(adapters.size());
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  for (const auto& m : sim.gram)
    g += m;
  return g;
}

std::unique_ptr<Workbench> Workbench::open(const LandscapeSetup& setup,
                                           std::vector<std::shared_ptr<const Adapter>> adapters,
                                           jobs::Progress& progress) {
  if (setup.model.empty()) throw InputError("no base model folder given");
  if (!fs::is_directory(setup.model))
    throw InputError("base model folder '" + setup.model.string() + "' does not exist");
  progress.report(0.0, "loading the base model");
  auto model = CausalLM::load(setup.model, compute_device_name());
  progress.check_cancelled();
  auto tok = Tokenizer::from_file(setup.model / "tokenizer.json");
  std::vector<TaskSpec> tasks;
  for (const auto& t : setup.tasks)
    tasks.push_back(TaskSpec::load(t));
  progress.report(0.5, "installing the adapters");
  model.set_lora_bank(adapters);
  auto wb = std::unique_ptr<Workbench>(
      new Workbench{std::move(model), std::move(tok), std::move(tasks), std::move(adapters)});
  std::set<std::string> seen;
  for (const auto& a : wb->adapters) {
    std::string label = a->name;
    for (int k = 2; seen.count(label); ++k)
      label = a->name + " #" + std::to_string(k);
    seen.insert(label);
    wb->labels.push_back(label);
  }
  progress.report(0.8, "tokenizing the evaluation set");
  wb->data = build_eval_set(wb->tasks, wb->tokenizer, wb->model.config().eos_token_id, setup.split,
                            setup.limit);
  progress.report(1.0, "ready");
  return wb;
}

}  // namespace basin
