// Figure 7 of the report: each task's own adapter ("oracle") against the base model on the
// task's metric — eval/oracle_scores.h's TaskScore rows, read from a demo kit's kit.json
// ("scores", with the bootstrap interval of the difference) or taken from the oracle and base
// rows of a multitask study (no interval).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "eval/oracle_scores.h"

namespace basin {

struct MultitaskResult;

struct OracleVsBase {
  std::string source;            // where the scores come from ("kit.json", "the multitask study")
  std::string split;             // split they were scored on
  std::vector<TaskScore> tasks;  // in task order
  bool has_interval = false;     // diff.low/high hold a 95 % interval

  // {"source", "split", "tasks": [names in order], "scores": task_scores_json(tasks)}.
  nlohmann::json to_json() const;
  std::string to_csv() const;  // task,metric,base,oracle,n,diff,diff_lo,diff_hi

  // kit.json's "scores" (eval/oracle_scores.h) in the order of its "tasks"; nullopt when the
  // key is absent. Throws InputError naming `file` and the key at fault.
  static std::optional<OracleVsBase> from_kit(const nlohmann::json& manifest,
                                              const std::filesystem::path& file);
  // The oracle and base rows of the study's full table; `n[t]` = examples of task t.
  static OracleVsBase from_multitask(const MultitaskResult& r, const std::string& split,
                                     const std::vector<size_t>& n);
};

}  // namespace basin
