// What a gate does on real inputs: for each task, the average gate weight of every expert
// (which expert each task really uses), over all sites and per layer; for the router, its
// confusion matrix and routing accuracy per task. One result type with its JSON/CSV forms,
// rendered by `basin-cli gate inspect`, the GUI and the study file.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json_fwd.hpp>

#include "data/task.h"
#include "gate/gate.h"
#include "jobs/progress.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace basin {

struct GateStats {
  std::string kind;                  // mole, moa, arrow
  std::vector<std::string> experts;  // columns
  std::vector<std::string> tasks;    // rows
  // usage[0] is over every site ("all"); then one per layer (MoLE / Arrow). Each [task, expert]:
  // mean gate weight over the task's real tokens (router: share of prompts sent to the expert).
  std::vector<std::string> usage_labels;  // "all", "layer 0", ...
  std::vector<Eigen::MatrixXd> usage;
  std::vector<double> routing_accuracy;  // router: per task (NaN for token gates)
  int64_t trainable_parameters = 0;
  double train_seconds = 0;
  std::vector<double> losses;  // training losses per step

  nlohmann::json to_json() const;
  static GateStats from_json(const nlohmann::json& j);
  // usage,task,expert,weight rows (usage = "all" or "layer N"), then accuracy rows.
  std::string to_csv() const;
};

// Runs the first `limit` rows of each task's `split` (prompt + answer, teacher-forced) through
// the gated model and averages the gates. The model's bank must be the gate's experts.
GateStats gate_statistics(const CausalLM& model, const Tokenizer& tok, const Gate& gate,
                          const std::vector<TaskSpec>& tasks, const std::string& split,
                          size_t limit, jobs::Progress& progress);

}  // namespace basin
