#include "report/model_sizes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "analysis/pairwise_matrix.h"
#include "landscape/multitask.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

const MultitaskTable* table_of(const MultitaskResult& r, int count) {
  for (const auto& t : r.tables)
    if (t.task_count == count) return &t;
  return nullptr;
}

const MultitaskRow* row_of(const MultitaskTable& t, const std::string& method) {
  for (const auto& row : t.rows)
    if (row.method == method) return &row;
  return nullptr;
}

}  // namespace

ModelSizes ModelSizes::from_multitask(const std::vector<std::string>& names,
                                      const std::vector<int64_t>& parameters,
                                      const std::vector<const MultitaskResult*>& results) {
  if (results.empty() || names.size() != results.size() || parameters.size() != results.size())
    throw InputError("model sizes: " + std::to_string(names.size()) + " names, " +
                     std::to_string(parameters.size()) + " parameter counts and " +
                     std::to_string(results.size()) + " studies");
  ModelSizes out;
  const MultitaskResult& first = *results[0];
  out.tasks = first.tasks;
  out.metrics = first.metrics;
  for (size_t k = 1; k < results.size(); ++k)
    if (results[k]->tasks != first.tasks)
      throw InputError("model sizes: '" + names[k] + "' was studied on tasks " +
                       join(results[k]->tasks, ", ") + ", '" + names[0] + "' on " +
                       join(first.tasks, ", "));
  // The largest task count every study has.
  for (const auto& t : first.tables) {
    bool everywhere = true;
    for (const auto* r : results)
      everywhere = everywhere && table_of(*r, t.task_count);
    if (everywhere) out.task_count = std::max(out.task_count, t.task_count);
  }
  if (out.task_count == 0) throw InputError("model sizes: the studies share no task count");
  for (const auto& row : table_of(first, out.task_count)->rows) {
    if (row.method == "oracle") continue;
    bool everywhere = true;
    for (const auto* r : results)
      everywhere = everywhere && row_of(*table_of(*r, out.task_count), row.method);
    if (everywhere) out.methods.push_back(row.method);
  }
  for (size_t k = 0; k < results.size(); ++k) {
    const MultitaskTable& t = *table_of(*results[k], out.task_count);
    ModelSize s;
    s.name = names[k];
    s.parameters = parameters[k];
    if (const auto* o = row_of(t, "oracle")) s.oracle = o->scores;
    for (const auto& m : out.methods)
      s.scores.push_back(row_of(t, m)->multitask_score);
    out.sizes.push_back(std::move(s));
  }
  std::stable_sort(out.sizes.begin(), out.sizes.end(), [](const ModelSize& a, const ModelSize& b) {
    return a.parameters < b.parameters;
  });
  return out;
}

double ModelSizes::mean_merge_score(size_t k) const {
  double sum = 0;
  size_t n = 0;
  for (size_t m = 0; m < methods.size(); ++m) {
    if (methods[m] == "base" || is_gate_method(methods[m])) continue;
    const double v = sizes.at(k).scores.at(m);
    if (!std::isfinite(v)) continue;
    sum += v;
    ++n;
  }
  return n ? sum / double(n) : kNaN;
}

nlohmann::json ModelSizes::to_json() const {
  nlohmann::json sz = nlohmann::json::array();
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto& s = sizes[k];
    nlohmann::json scores = nlohmann::json::object(), oracle = nlohmann::json::array();
    for (size_t m = 0; m < methods.size(); ++m)
      scores[methods[m]] = number_or_null(s.scores[m]);
    for (double v : s.oracle)
      oracle.push_back(number_or_null(v));
    sz.push_back({{"name", s.name},
                  {"parameters", s.parameters},
                  {"oracle", oracle},
                  {"scores", scores},
                  {"mean_merge_score", number_or_null(mean_merge_score(k))}});
  }
  return {{"task_count", task_count},
          {"tasks", tasks},
          {"metrics", metrics},
          {"methods", methods},
          {"sizes", sz}};
}

std::string ModelSizes::to_csv() const {
  std::string out = "size,parameters,task_count,method,multitask_score\n";
  for (const auto& s : sizes)
    for (size_t m = 0; m < methods.size(); ++m)
      out += csv_field(s.name) + "," + std::to_string(s.parameters) + "," +
             std::to_string(task_count) + "," + csv_field(methods[m]) + "," +
             (std::isfinite(s.scores[m]) ? format_double(s.scores[m]) : "") + "\n";
  return out;
}

}  // namespace basin
