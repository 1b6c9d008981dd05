#include "report/oracle_vs_base.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "analysis/pairwise_matrix.h"
#include "landscape/multitask.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string csv_number(double v) {
  return std::isfinite(v) ? format_double(v) : "";
}

// Task scores in the order of `names` (those present), then any others.
std::vector<TaskScore> in_order(std::vector<TaskScore> scores,
                                const std::vector<std::string>& names) {
  std::vector<TaskScore> out;
  for (const auto& n : names)
    for (auto& s : scores)
      if (s.task == n && !s.task.empty()) {
        out.push_back(s);
        s.task.clear();
      }
  for (auto& s : scores)
    if (!s.task.empty()) out.push_back(s);
  return out;
}

}  // namespace

nlohmann::json OracleVsBase::to_json() const {
  std::vector<std::string> names;
  for (const auto& t : tasks)
    names.push_back(t.task);
  return {{"source", source},
          {"split", split},
          {"has_interval", has_interval},
          {"tasks", names},
          {"scores", task_scores_json(tasks)}};
}

std::string OracleVsBase::to_csv() const {
  std::string out = "task,metric,base,oracle,n,diff,diff_lo,diff_hi\n";
  for (const auto& t : tasks)
    out += csv_field(t.task) + "," + csv_field(t.metric) + "," + csv_number(t.base) + "," +
           csv_number(t.oracle) + "," + std::to_string(t.n) + "," + csv_number(t.diff.diff) + "," +
           (has_interval ? csv_number(t.diff.low) + "," + csv_number(t.diff.high) : ",") + "\n";
  return out;
}

std::optional<OracleVsBase> OracleVsBase::from_kit(const nlohmann::json& manifest,
                                                   const std::filesystem::path& file) {
  if (!manifest.contains("scores")) return std::nullopt;
  OracleVsBase r;
  r.source = "kit.json";
  r.split = "test";
  r.has_interval = true;
  std::vector<std::string> names;
  if (manifest.contains("tasks") && manifest["tasks"].is_array())
    for (const auto& t : manifest["tasks"])
      if (t.is_string()) names.push_back(t.get<std::string>());
  r.tasks = in_order(task_scores_from_json(manifest["scores"], "'" + file.string() + "'"), names);
  return r;
}

OracleVsBase OracleVsBase::from_multitask(const MultitaskResult& r, const std::string& split,
                                          const std::vector<size_t>& n) {
  OracleVsBase s;
  s.source = "the multitask study";
  s.split = split;
  if (r.tables.empty()) return s;
  const MultitaskRow *oracle = nullptr, *base = nullptr;
  for (const auto& row : r.full().rows) {
    if (row.method == "oracle") oracle = &row;
    if (row.method == "base") base = &row;
  }
  const auto at = [](const MultitaskRow* row, size_t t) {
    return row && t < row->scores.size() ? row->scores[t] : kNaN;
  };
  for (size_t t = 0; t < size_t(r.full().task_count) && t < r.tasks.size(); ++t) {
    TaskScore ts;
    ts.task = r.tasks[t];
    ts.metric = t < r.metrics.size() ? r.metrics[t] : "";
    ts.base = at(base, t);
    ts.oracle = at(oracle, t);
    ts.n = t < n.size() ? n[t] : 0;
    ts.diff.diff = ts.oracle - ts.base;
    ts.diff.low = ts.diff.high = kNaN;
    s.tasks.push_back(ts);
  }
  return s;
}

}  // namespace basin
