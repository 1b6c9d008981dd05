// Each task's own adapter (the oracle) against the base model on the task's metric, with a
// paired bootstrap interval of the difference: the evidence that a task is learned (kit.json
// "scores", the report's oracle-vs-base figure).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/task.h"
#include "eval/bootstrap.h"
#include "jobs/progress.h"
#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace basin {

struct TaskScore {
  std::string task, metric;
  double base = 0, oracle = 0;  // the metric on the split, base model and own adapter
  size_t n = 0;                 // examples scored
  DiffInterval diff;            // oracle − base with its bootstrap interval
};

struct KitScoreOptions {
  std::string split = "test";
  size_t limit = 0;  // examples per task (0 = all)
  BootstrapOptions bootstrap;
};

// own[t] is task t's adapter. The model's LoRA bank is replaced by them while scoring and
// cleared afterwards. Loss-metric tasks are refused (they have no answers to compare).
std::vector<TaskScore> score_tasks_against_base(
    CausalLM& model, const Tokenizer& tok, const std::vector<TaskSpec>& specs,
    const std::vector<std::shared_ptr<const Adapter>>& own, const KitScoreOptions& options,
    jobs::Progress& progress);

// {"<task>": {"metric", "base", "oracle", "n", "diff", "diff_ci95": [lo, hi]}}.
nlohmann::json task_scores_json(const std::vector<TaskScore>& scores);
// Reads what task_scores_json wrote (kit.json "scores"); InputError naming the key otherwise.
std::vector<TaskScore> task_scores_from_json(const nlohmann::json& j, const std::string& label);

}  // namespace basin
