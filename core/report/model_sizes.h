// The router-free study's model-size finding (merges work better on the bigger model): the
// multitask score of every method on two or more base models of one architecture, each with
// its own task adapters on the same tasks. Built from each model's multitask study; owns its
// JSON and CSV (the report's data files) and is what the figure and its caption draw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

struct MultitaskResult;

struct ModelSize {
  std::string name;            // "small", "medium", or the model folder's name
  int64_t parameters = 0;      // weights of the base model (0 = unknown)
  std::vector<double> oracle;  // each task's own adapter on its metric (raw, not relative)
  std::vector<double> scores;  // multitask score of each of ModelSizes::methods
};

struct ModelSizes {
  std::vector<std::string> tasks;    // in order
  std::vector<std::string> metrics;  // each task's metric
  int task_count = 0;                // the table compared: the most tasks every model has
  std::vector<std::string> methods;  // "base", the merges, then gate rows (no "oracle": it is 1)
  std::vector<ModelSize> sizes;      // ascending by parameters

  // results[k] is model k's study (names[k], parameters[k]); methods are the rows all of them
  // have, in the first's order. InputError when the counts differ or the tasks are not the same.
  static ModelSizes from_multitask(const std::vector<std::string>& names,
                                   const std::vector<int64_t>& parameters,
                                   const std::vector<const MultitaskResult*>& results);

  // Mean multitask score of the router-free merges (not base, not a gate) of size k; NaN when
  // none is finite.
  double mean_merge_score(size_t k) const;
  // {"task_count", "tasks", "metrics", "methods", "sizes": [{"name", "parameters", "oracle",
  //  "scores": {method: score}, "mean_merge_score"}]}; NaN is written as null.
  nlohmann::json to_json() const;
  std::string to_csv() const;  // size,parameters,task_count,method,multitask_score
};

}  // namespace basin
