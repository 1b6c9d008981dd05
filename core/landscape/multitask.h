// The router-free merging study: for a task mix, every merge method and the baselines (each
// task's own adapter = oracle, the base model) scored on every task; multitask score = mean
// over tasks of metric / oracle metric. Repeated for growing task counts (first n tasks).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/task.h"
#include "jobs/progress.h"
#include "jobs/shard.h"
#include "landscape/points.h"
#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"
#include "train/gate_training.h"

namespace basin {

struct MultitaskOptions {
  // Merge methods (MergeRecipe names), "soup" (greedy soup on the mixed validation loss), and
  // the learned or routed references "mole", "moa" and "arrow" (gates over the task adapters,
  // trained on the first n tasks' `gate_split` for each task count n).
  std::vector<std::string> methods = {"cat",       "linear",          "svd", "ties",
                                      "dare_ties", "task_arithmetic", "soup"};
  std::vector<int> task_counts;  // e.g. {2,3,…,7}; empty = only all tasks
  std::string split = "test";
  std::string soup_split = "validation";
  size_t limit = 0;      // examples per task (0 = all)
  double density = 0.5;  // ties / dare
  int64_t rank = 0;      // svd / ties / dare / task_arithmetic target rank (0 = max input rank)
  uint64_t seed = 0;     // dare masks
  // Gates: their settings, and the examples per task they train on (0 = all).
  MoleTrainOptions mole;
  MoaTrainOptions moa;
  ArrowOptions arrow;
  std::string gate_split = "train";
  size_t gate_limit = 200;
  EvalRoute route = EvalRoute::kBank;  // how points are scored (kReference: tests, benchmarks)
};

// True for the gate rows of the study ("mole", "moa", "arrow").
bool is_gate_method(const std::string& method);

struct MultitaskRow {
  std::string method;          // "oracle", "base", then the methods
  std::vector<double> scores;  // per task (NaN where not run)
  // Mean of score / oracle score over the tasks the oracle scores > 0 on (NaN if none).
  double multitask_score = 0;
};

struct MultitaskTable {
  int task_count = 0;  // the first task_count tasks
  std::vector<MultitaskRow> rows;
};

struct MultitaskResult {
  std::vector<std::string> tasks;      // all tasks, in order
  std::vector<std::string> metrics;    // each task's metric
  std::vector<MultitaskTable> tables;  // one per task count, ascending; the last = all tasks

  const MultitaskTable& full() const { return tables.back(); }
  // multitask score of `method` at each task count (NaN where absent).
  std::vector<double> score_by_count(const std::string& method) const;
  // The router-free study's headline: multitask score of `method` / that of "moa" in the
  // table of `task_count` tasks (NaN when either is missing or MoA's is not > 0).
  double share_of_moa(const std::string& method, int task_count) const;
  std::vector<std::string> methods() const;  // rows of the full table
  nlohmann::json to_json() const;
  static MultitaskResult from_json(const nlohmann::json& j);
  std::string to_csv() const;  // tasks,method,task,score rows
};

// Multitask score of the router-free study: mean over tasks of score / oracle score (oracle /
// score for metric "loss"), over the tasks whose oracle score is > 0 — a task the oracle
// scores 0 on says nothing about how much of it a merge keeps. NaN when no task qualifies or
// a used score is not finite. `metrics` holds metric_name() of each task.
double study_multitask_score(const std::vector<double>& scores, const std::vector<double>& oracle,
                             const std::vector<std::string>& metrics);

// `adapters[t]` is task t's own adapter. The model's LoRA bank is replaced (and left
// cleared). Throws InputError for unknown methods, mismatched counts or bad task counts.
MultitaskResult multitask_study(CausalLM& model, const Tokenizer& tok,
                                const std::vector<TaskSpec>& tasks,
                                const std::vector<std::shared_ptr<const Adapter>>& adapters,
                                const MultitaskOptions& options, jobs::Progress& progress);

// The study in shares (basin-cli multitask over MPI ranks or --shard i/n). Its units are, for
// each task count c in turn, the c tasks (every merge and baseline scored on task t: one
// score_task_points call, as one process makes it) and then each gate method (trained on the
// first c tasks and scored on them); a share computes a contiguous block of the units. A
// share recomputes the merges and the soup of a task count whose tasks it scores — they are
// seeded and deterministic, so every share scores the same points one process does.
struct MultitaskCell {
  size_t table = 0;  // index into task_counts
  size_t row = 0;    // index into rows
  size_t task = 0;
  double score = 0;
};
struct MultitaskPart {
  std::vector<std::string> tasks, metrics;
  std::vector<int> task_counts;   // ascending; the last is all tasks
  std::vector<std::string> rows;  // "oracle", "base", the methods, the gate methods
  std::vector<MultitaskCell> cells;

  nlohmann::json to_json() const;
  // Throws InputError naming the key for anything malformed (partial results come from files).
  static MultitaskPart from_json(const nlohmann::json& j);
};

MultitaskPart multitask_share(CausalLM& model, const Tokenizer& tok,
                              const std::vector<TaskSpec>& tasks,
                              const std::vector<std::shared_ptr<const Adapter>>& adapters,
                              const MultitaskOptions& options, jobs::Progress& progress,
                              const jobs::Shard& share);
// The whole study from its shares: every cell exactly once, then the multitask scores. Throws
// InputError when the shares disagree on the study or do not cover it exactly once.
MultitaskResult gather_multitask(const std::vector<MultitaskPart>& parts);

}  // namespace basin
