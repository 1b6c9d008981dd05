// MultitaskPart (multitask.h): a share's cells as JSON, and the whole study from the shares.
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_numbers.h"
#include "landscape/multitask.h"
#include "util/errors.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Bounds on what a partial result may name before anything is sized from it.
constexpr size_t kMaxTasks = 1024, kMaxRows = 256, kMaxCells = size_t(1) << 22;

InputError bad(const std::string& key, const std::string& why) {
  return InputError("multitask partial result: key '" + key + "': " + why);
}

std::vector<std::string> names_at(const nlohmann::json& j, const std::string& key, size_t most) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) throw bad(key, "expected an array of names");
  if (it->empty() || it->size() > most)
    throw bad(key,
              std::to_string(it->size()) + " names; 1 … " + std::to_string(most) + " are read");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) throw bad(key, "expected names, got " + json_excerpt(v));
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

nlohmann::json MultitaskPart::to_json() const {
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : cells)
    cs.push_back({c.table, c.row, c.task,
                  std::isfinite(c.score) ? nlohmann::json(c.score) : nlohmann::json()});
  return {{"tasks", tasks},
          {"metrics", metrics},
          {"task_counts", task_counts},
          {"rows", rows},
          {"cells", cs}};
}

MultitaskPart MultitaskPart::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw InputError("multitask partial result: expected a JSON object");
  MultitaskPart p;
  p.tasks = names_at(j, "tasks", kMaxTasks);
  p.metrics = names_at(j, "metrics", kMaxTasks);
  if (p.metrics.size() != p.tasks.size()) throw bad("metrics", "one metric per task expected");
  p.rows = names_at(j, "rows", kMaxRows);
  if (p.rows.size() < 2 || p.rows[0] != "oracle" || p.rows[1] != "base")
    throw bad("rows", "expected \"oracle\", \"base\", then the methods");
  const auto tc = j.find("task_counts");
  if (tc == j.end() || !tc->is_array() || tc->empty() || tc->size() > p.tasks.size())
    throw bad("task_counts", "expected 1 … " + std::to_string(p.tasks.size()) + " task counts");
  for (const auto& v : *tc) {
    const int c = json_integer<int>(v, "task_counts");
    if (c < 1 || size_t(c) > p.tasks.size() ||
        (!p.task_counts.empty() && c <= p.task_counts.back()))
      throw bad("task_counts", "expected ascending counts in 1 … " +
                                   std::to_string(p.tasks.size()) + ", got " + json_excerpt(v));
    p.task_counts.push_back(c);
  }
  if (size_t(p.task_counts.back()) != p.tasks.size())
    throw bad("task_counts",
              "the last count must be all " + std::to_string(p.tasks.size()) + " tasks");
  size_t most = 0;
  for (int c : p.task_counts)
    most += size_t(c) * p.rows.size();
  if (most > kMaxCells)
    throw bad("task_counts", "the study would have " + std::to_string(most) + " scores; at most " +
                                 std::to_string(kMaxCells) + " are read");
  const auto cs = j.find("cells");
  if (cs == j.end() || !cs->is_array() || cs->size() > most)
    throw bad("cells", "expected at most " + std::to_string(most) + " [table, row, task, score]");
  for (const auto& e : *cs) {
    if (!e.is_array() || e.size() != 4) throw bad("cells", "expected [table, row, task, score]");
    MultitaskCell c;
    c.table = json_integer<size_t>(e[0], "cells");
    c.row = json_integer<size_t>(e[1], "cells");
    c.task = json_integer<size_t>(e[2], "cells");
    if (c.table >= p.task_counts.size() || c.row >= p.rows.size() ||
        c.task >= size_t(p.task_counts[c.table]))
      throw bad("cells", json_excerpt(e) + " is outside the study");
    if (!e[3].is_null() && !e[3].is_number())
      throw bad("cells", "expected a score, got " + json_excerpt(e[3]));
    c.score = e[3].is_null() ? kNaN : e[3].get<double>();
    p.cells.push_back(c);
  }
  return p;
}

MultitaskResult gather_multitask(const std::vector<MultitaskPart>& parts) {
  if (parts.empty()) throw InputError("multitask: no shares to gather");
  const auto& first = parts.front();
  MultitaskResult r;
  r.tasks = first.tasks;
  r.metrics = first.metrics;
  std::vector<std::vector<std::vector<char>>> seen;  // [table][row][task]
  for (int c : first.task_counts) {
    MultitaskTable t;
    t.task_count = c;
    for (const auto& name : first.rows)
      t.rows.push_back({name, std::vector<double>(size_t(c), kNaN), 0});
    r.tables.push_back(t);
    seen.emplace_back(first.rows.size(), std::vector<char>(size_t(c), 0));
  }
  for (size_t s = 0; s < parts.size(); ++s) {
    const auto& p = parts[s];
    if (p.tasks != first.tasks || p.metrics != first.metrics ||
        p.task_counts != first.task_counts || p.rows != first.rows)
      throw InputError("multitask: share " + std::to_string(s) +
                       " has other tasks, task counts or methods than share 0");
    for (const auto& c : p.cells) {
      if (c.table >= r.tables.size() || c.row >= first.rows.size() ||
          c.task >= size_t(r.tables[c.table].task_count))
        throw InputError("multitask: share " + std::to_string(s) + " has a cell outside the study");
      char& was = seen[c.table][c.row][c.task];
      if (was)
        throw InputError("multitask: " + first.rows[c.row] + " on " + first.tasks[c.task] + " (" +
                         std::to_string(r.tables[c.table].task_count) + " tasks) is in two shares");
      was = 1;
      r.tables[c.table].rows[c.row].scores[c.task] = c.score;
    }
  }
  for (size_t ti = 0; ti < r.tables.size(); ++ti)
    for (size_t row = 0; row < first.rows.size(); ++row)
      for (size_t t = 0; t < seen[ti][row].size(); ++t)
        if (!seen[ti][row][t])
          throw InputError("multitask: no share scored " + first.rows[row] + " on " +
                           first.tasks[t] + " (" + std::to_string(r.tables[ti].task_count) +
                           " tasks)");
  for (auto& t : r.tables)
    for (auto& row : t.rows)
      row.multitask_score = study_multitask_score(row.scores, t.rows[0].scores, r.metrics);
  return r;
}

}  // namespace basin
