#include "eval/oracle_scores.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "eval/task_eval.h"
#include "io/json_excerpt.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {

std::vector<TaskScore> score_tasks_against_base(
    CausalLM& model, const Tokenizer& tok, const std::vector<TaskSpec>& specs,
    const std::vector<std::shared_ptr<const Adapter>>& own, const KitScoreOptions& o,
    jobs::Progress& progress) {
  if (own.size() != specs.size())
    throw InputError("scoring: " + std::to_string(specs.size()) + " tasks but " +
                     std::to_string(own.size()) + " adapters");
  model.set_lora_bank(own);
  std::vector<TaskScore> out;
  try {
    for (size_t t = 0; t < specs.size(); ++t) {
      const TaskSpec& spec = specs[t];
      if (spec.metric == TaskMetric::Loss)
        throw InputError("task '" + spec.name + "': metric 'loss' has no answers to compare");
      auto rows = spec.load_split(o.split);
      if (o.limit > 0 && rows.size() > o.limit) rows.resize(o.limit);
      Point base(own.size(), 0.0), oracle(own.size(), 0.0);
      oracle[t] = 1.0;
      jobs::CallbackProgress part([&](double f, const std::string& stage) {
        progress.report((double(t) + f) / double(specs.size()), stage);
        return !progress.cancelled();
      });
      const auto preds = predict_task_points(model, tok, spec, rows, {base, oracle}, part);
      std::vector<std::string> refs;
      for (const auto& r : rows)
        refs.push_back(spec.target_of(r));
      TaskScore s;
      s.task = spec.name;
      s.metric = metric_name(spec.metric);
      s.n = rows.size();
      s.base = score_predictions(spec.metric, preds[0], refs);
      s.oracle = score_predictions(spec.metric, preds[1], refs);
      BootstrapOptions b = o.bootstrap;
      b.seed ^= t;
      s.diff = paired_bootstrap_diff(spec.metric, preds[1], preds[0], refs, b);
      out.push_back(std::move(s));
    }
  } catch (...) {
    model.clear_lora_bank();
    throw;
  }
  model.clear_lora_bank();
  return out;
}

nlohmann::json task_scores_json(const std::vector<TaskScore>& scores) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : scores)
    j[s.task] = {{"metric", s.metric},  {"base", s.base},
                 {"oracle", s.oracle},  {"n", s.n},
                 {"diff", s.diff.diff}, {"diff_ci95", {s.diff.low, s.diff.high}}};
  return j;
}

std::vector<TaskScore> task_scores_from_json(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object()) throw InputError(label + ": \"scores\" must be an object");
  std::vector<TaskScore> out;
  for (const auto& [task, v] : j.items()) {
    const std::string at = label + ": scores." + excerpt(task);
    auto num = [&](const char* key) {
      if (!v.is_object() || !v.contains(key) || !v[key].is_number())
        throw InputError(
            at + "." + key + " must be a number, got " +
            (v.is_object() && v.contains(key) ? json_excerpt(v[key]) : std::string("nothing")));
      return v[key].get<double>();
    };
    TaskScore s;
    s.task = task;
    if (!v.is_object() || !v.contains("metric") || !v["metric"].is_string())
      throw InputError(at + ".metric must be a string");
    s.metric = v["metric"].get<std::string>();
    s.base = num("base");
    s.oracle = num("oracle");
    const double n = num("n");
    if (!(n >= 0 && n <= 1e15 && n == std::floor(n)))
      throw InputError(at + ".n must be a count of examples, got " + json_excerpt(v["n"]));
    s.n = static_cast<size_t>(n);
    s.diff.diff = num("diff");
    const auto& ci = v.contains("diff_ci95") ? v["diff_ci95"] : nlohmann::json();
    if (!ci.is_array() || ci.size() != 2 || !ci[0].is_number() || !ci[1].is_number())
      throw InputError(at + ".diff_ci95 must be [low, high]");
    s.diff.low = ci[0].get<double>();
    s.diff.high = ci[1].get<double>();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace basin
