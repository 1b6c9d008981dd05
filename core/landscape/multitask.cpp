#include "landscape/multitask.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "analysis/pairwise_matrix.h"
#include "eval/task_eval.h"
#include "io/json_numbers.h"
#include "landscape/soup.h"
#include "landscape/workbench.h"
#include "lora/adapter_set.h"
#include "merge/merge.h"
#include "merge/merge_recipe.h"
#include "train/task_examples.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double study_multitask_score(const std::vector<double>& scores, const std::vector<double>& oracle,
                             const std::vector<std::string>& metrics) {
  if (oracle.size() < scores.size() || metrics.size() < scores.size())
    throw InputError("multitask score: fewer oracle scores or metrics than scores");
  double sum = 0;
  int used = 0;
  for (size_t t = 0; t < scores.size(); ++t) {
    if (!(oracle[t] > 0) || !std::isfinite(oracle[t])) continue;
    if (!std::isfinite(scores[t])) return kNaN;
    if (metrics[t] == metric_name(TaskMetric::Loss)) {
      if (!(scores[t] > 0)) return kNaN;
      sum += oracle[t] / scores[t];
    } else {
      sum += scores[t] / oracle[t];
    }
    ++used;
  }
  return used ? sum / double(used) : kNaN;
}

std::vector<double> MultitaskResult::score_by_count(const std::string& method) const {
  std::vector<double> out;
  for (const auto& t : tables) {
    double v = kNaN;
    for (const auto& r : t.rows)
      if (r.method == method) v = r.multitask_score;
    out.push_back(v);
  }
  return out;
}

bool is_gate_method(const std::string& method) {
  return method == "mole" || method == "moa" || method == "arrow";
}

double MultitaskResult::share_of_moa(const std::string& method, int task_count) const {
  for (const auto& t : tables) {
    if (t.task_count != task_count) continue;
    double m = kNaN, moa = kNaN;
    for (const auto& r : t.rows) {
      if (r.method == method) m = r.multitask_score;
      if (r.method == "moa") moa = r.multitask_score;
    }
    return moa > 0 && std::isfinite(m) ? m / moa : kNaN;
  }
  return kNaN;
}

std::vector<std::string> MultitaskResult::methods() const {
  std::vector<std::string> out;
  if (tables.empty()) return out;
  for (const auto& r : full().rows)
    out.push_back(r.method);
  return out;
}

nlohmann::json MultitaskResult::to_json() const {
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& t : tables) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : t.rows) {
      rows.push_back({{"method", r.method},
                      {"scores", json_numbers(r.scores)},
                      {"multitask_score", json_numbers({r.multitask_score})[0]}});
      if (std::any_of(t.rows.begin(), t.rows.end(),
                      [](const MultitaskRow& x) { return x.method == "moa"; }))
        rows.back()["share_of_moa"] = json_numbers({share_of_moa(r.method, t.task_count)})[0];
    }
    ts.push_back({{"task_count", t.task_count}, {"rows", rows}});
  }
  return {{"tasks", tasks}, {"metrics", metrics}, {"tables", ts}};
}

MultitaskResult MultitaskResult::from_json(const nlohmann::json& j) {
  MultitaskResult r;
  try {
    r.tasks = j.at("tasks").get<std::vector<std::string>>();
    r.metrics = j.at("metrics").get<std::vector<std::string>>();
    for (const auto& t : j.at("tables")) {
      MultitaskTable table;
      table.task_count = json_integer<int>(t.at("task_count"), "multitask task_count");
      if (table.task_count < 1 || size_t(table.task_count) > r.tasks.size())
        throw InputError("multitask result in JSON: bad task_count");
      for (const auto& row : t.at("rows")) {
        MultitaskRow mr;
        mr.method = row.at("method").get<std::string>();
        for (const auto& s : row.at("scores"))
          mr.scores.push_back(s.is_null() ? kNaN : s.get<double>());
        if (mr.scores.size() != size_t(table.task_count))
          throw InputError("multitask result in JSON: row '" + mr.method +
                           "' has the wrong number of scores");
        const auto& m = row.at("multitask_score");
        mr.multitask_score = m.is_null() ? kNaN : m.get<double>();
        table.rows.push_back(mr);
      }
      r.tables.push_back(table);
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("bad multitask result in JSON: ") + e.what());
  }
  if (r.tables.empty()) throw InputError("multitask result in JSON has no tables");
  if (r.metrics.size() != r.tasks.size())
    throw InputError("multitask result in JSON: one metric per task expected");
  return r;
}

std::string MultitaskResult::to_csv() const {
  std::string out = "task_count,method,task,metric,score,relative_to_oracle\n";
  for (const auto& t : tables) {
    const MultitaskRow* oracle = nullptr;
    for (const auto& r : t.rows)
      if (r.method == "oracle") oracle = &r;
    for (const auto& r : t.rows) {
      for (size_t k = 0; k < r.scores.size(); ++k) {
        const double rel = oracle && oracle->scores[k] > 0 ? r.scores[k] / oracle->scores[k] : kNaN;
        out += std::to_string(t.task_count) + "," + csv_field(r.method) + "," +
               csv_field(tasks[k]) + "," + csv_field(metrics[k]) + "," +
               format_double(r.scores[k]) + "," + format_double(rel) + "\n";
      }
      out += std::to_string(t.task_count) + "," + csv_field(r.method) +
             ",multitask_score,relative," + format_double(r.multitask_score) + "," +
             format_double(r.multitask_score) + "\n";
    }
  }
  return out;
}

MultitaskResult multitask_study(CausalLM& model, const Tokenizer& tok,
                                const std::vector<TaskSpec>& tasks,
                                const std::vector<std::shared_ptr<const Adapter>>& adapters,
                                const MultitaskOptions& o, jobs::Progress& progress) {
  return gather_multitask({multitask_share(model, tok, tasks, adapters, o, progress, {})});
}

MultitaskPart multitask_share(CausalLM& model, const Tokenizer& tok,
                              const std::vector<TaskSpec>& tasks,
                              const std::vector<std::shared_ptr<const Adapter>>& adapters,
                              const MultitaskOptions& o, jobs::Progress& progress,
                              const jobs::Shard& share) {
  const size_t n = tasks.size();
  if (n == 0) throw InputError("the multitask study needs at least one task");
  if (adapters.size() != n)
    throw InputError("the multitask study needs one adapter per task: " + std::to_string(n) +
                     " tasks, " + std::to_string(adapters.size()) + " adapters");
  std::vector<std::string> gate_methods;
  for (const auto& m : o.methods) {
    if (is_gate_method(m))
      gate_methods.push_back(m);
    else if (m != "soup")
      (void)parse_method(m);  // throws listing the names
  }
  std::set<int> counts(o.task_counts.begin(), o.task_counts.end());
  for (int c : counts)
    if (c < 1 || size_t(c) > n)
      throw InputError("task count " + std::to_string(c) + " must be in 1 … " + std::to_string(n));
  counts.insert(static_cast<int>(n));

  MultitaskPart part;
  part.task_counts.assign(counts.begin(), counts.end());
  part.rows = {"oracle", "base"};
  for (const auto& m : o.methods)
    if (!is_gate_method(m)) part.rows.push_back(m);
  const size_t gate_row0 = part.rows.size();
  for (const auto& g : gate_methods)
    part.rows.push_back(g);
  std::vector<std::vector<Example>> rows(n);
  for (size_t t = 0; t < n; ++t) {
    part.tasks.push_back(tasks[t].name);
    part.metrics.push_back(metric_name(tasks[t].metric));
    rows[t] = tasks[t].load_split(o.split);
    if (o.limit > 0 && rows[t].size() > o.limit) rows[t].resize(o.limit);
    if (rows[t].empty())
      throw InputError("task '" + tasks[t].name + "' has no examples in split '" + o.split + "'");
  }
  // The units, task count by task count: its tasks, then its gate methods.
  size_t units = 0;
  std::vector<size_t> first_unit;
  for (int c : part.task_counts) {
    first_unit.push_back(units);
    units += size_t(c) + gate_methods.size();
  }
  const auto [begin, end] = share.block(units);
  const auto mine = [&, b = begin, e = end](size_t unit) { return unit >= b && unit < e; };
  const double total_work = double(std::max<size_t>(1, end - begin));
  double done_work = 0;
  struct ClearBank {
    CausalLM& m;
    ~ClearBank() { m.clear_lora_bank(); }
  } clear_bank{model};

  for (size_t ci = 0; ci < part.task_counts.size(); ++ci) {
    const int c = part.task_counts[ci];
    std::vector<int> my_tasks;
    for (int t = 0; t < c; ++t)
      if (mine(first_unit[ci] + size_t(t))) my_tasks.push_back(t);
    std::vector<size_t> my_gates;
    for (size_t g = 0; g < gate_methods.size(); ++g)
      if (mine(first_unit[ci] + size_t(c) + g)) my_gates.push_back(g);
    if (my_tasks.empty() && my_gates.empty()) continue;
    const double begin_f = done_work / total_work,
                 span = double(my_tasks.size() + my_gates.size()) / total_work;
    const auto sub = [&](double f, const std::string& stage) {
      progress.report(begin_f + span * f, stage);
    };
    const std::string where = std::to_string(c) + " tasks: ";
    // Without gates the merges take 0 … 0.3 of this count's span, the soup 0.3 … 0.4 and the
    // scoring the rest; with gates all of that is squeezed into 0 … 0.5.
    const double point_share = my_gates.empty() ? 1.0 : my_tasks.empty() ? 0.0 : 0.5;
    if (!my_tasks.empty()) {
      std::vector<std::shared_ptr<const Adapter>> bank(adapters.begin(), adapters.begin() + c);
      AdapterSet set;
      for (const auto& a : bank)
        set.add(a);
      std::vector<Point> method_points;
      const size_t K0 = size_t(c);
      // Merges become extra bank slots; the soup is a point over the task adapters.
      std::vector<std::shared_ptr<const Adapter>> merged;
      const auto psub = [&](double f, const std::string& stage) { sub(point_share * f, stage); };
      for (size_t m = 0; m < o.methods.size(); ++m) {
        progress.check_cancelled();
        psub(0.3 * double(m) / double(o.methods.size()), where + "merging " + o.methods[m]);
        if (o.methods[m] == "soup" || is_gate_method(o.methods[m])) continue;
        MergeRecipe recipe;
        recipe.method = parse_method(o.methods[m]);
        recipe.rank = o.rank;
        recipe.seed = o.seed;
        if (uses_density(recipe.method)) recipe.density = o.density;
        jobs::NullProgress quiet;
        auto a = std::make_shared<Adapter>(merge(set, recipe, quiet));
        merged.push_back(a);
      }
      for (const auto& a : merged)
        bank.push_back(a);
      model.set_lora_bank(bank);
      const size_t K = bank.size();
      size_t slot = K0;
      for (const auto& m : o.methods) {
        if (is_gate_method(m)) continue;
        Point p(K, 0.0);
        if (m == "soup") {
          progress.check_cancelled();
          psub(0.3, where + "greedy soup");
          std::vector<TaskSpec> first(tasks.begin(), tasks.begin() + c);
          PointEvaluator ev(
              model, build_eval_set(first, tok, model.config().eos_token_id, o.soup_split, o.limit),
              64, o.route);
          std::vector<std::string> names;
          for (size_t i = 0; i < K0; ++i)
            names.push_back(adapters[i]->name);
          jobs::NullProgress quiet;
          const auto soup = greedy_soup(names, evaluator_loss(ev, progress), quiet);
          std::copy(soup.coeffs.begin(), soup.coeffs.end(), p.begin());
        } else {
          p[slot++] = 1.0;
        }
        method_points.push_back(p);
      }
      for (size_t ti = 0; ti < my_tasks.size(); ++ti) {
        const int t = my_tasks[ti];
        std::vector<Point> pts;
        Point oracle(K, 0.0);
        oracle[size_t(t)] = 1.0;
        pts.push_back(oracle);
        pts.push_back(Point(K, 0.0));
        for (const auto& p : method_points)
          pts.push_back(p);
        const double tb = 0.4 + 0.6 * double(ti) / double(my_tasks.size()),
                     ts = 0.6 / double(my_tasks.size());
        jobs::CallbackProgress tp([&](double f, const std::string&) {
          psub(tb + ts * f, where + "scoring " + tasks[size_t(t)].name);
          return !progress.cancelled();
        });
        const auto scores =
            score_task_points(model, tok, tasks[size_t(t)], rows[size_t(t)], pts, tp, o.route);
        progress.check_cancelled();
        for (size_t r = 0; r < scores.size(); ++r)
          part.cells.push_back({ci, r, size_t(t), scores[r]});
      }
    }
    if (!my_gates.empty()) {
      // Gates route over the task adapters alone: the bank is just them, in task order.
      const std::vector<std::shared_ptr<const Adapter>> experts(adapters.begin(),
                                                                adapters.begin() + c);
      model.set_lora_bank(experts);
      const std::vector<TaskSpec> mix(tasks.begin(), tasks.begin() + c);
      const double g_begin = point_share, gspan = (1.0 - point_share) / double(my_gates.size());
      for (size_t k = 0; k < my_gates.size(); ++k) {
        const size_t gi = my_gates[k];
        const std::string& gm = gate_methods[gi];
        const double g0 = g_begin + gspan * double(k);
        jobs::CallbackProgress train_p([&](double f, const std::string&) {
          sub(g0 + 0.5 * gspan * f, where + "training " + gm);
          return !progress.cancelled();
        });
        Gate gate;
        if (gm == "mole") {
          std::vector<TrainExample> data;
          for (const auto& t : mix) {
            auto rows_t = t.load_split(o.gate_split);
            if (o.gate_limit > 0 && rows_t.size() > o.gate_limit) rows_t.resize(o.gate_limit);
            for (auto& ex : task_examples(t, rows_t, tok, model.config().eos_token_id))
              data.push_back(std::move(ex));
          }
          gate = train_mole_gate(model, experts, data, o.mole, train_p);
        } else if (gm == "moa") {
          MoaTrainOptions mo = o.moa;
          mo.split = o.gate_split;
          mo.per_task = o.gate_limit;
          mo.router.top_k = std::min<int64_t>(mo.router.top_k, c);
          gate = train_moa_router(model, experts, tok, mix, mo, train_p);
        } else {
          ArrowOptions ao = o.arrow;
          ao.top_k = std::min<int64_t>(ao.top_k, c);
          gate = build_arrow_gate(experts, ao);
        }
        for (int t = 0; t < c; ++t) {
          jobs::CallbackProgress tp([&](double f, const std::string&) {
            sub(g0 + 0.5 * gspan + 0.5 * gspan * (double(t) + f) / double(c),
                where + "scoring " + tasks[size_t(t)].name + " (" + gm + ")");
            return !progress.cancelled();
          });
          part.cells.push_back(
              {ci, gate_row0 + gi, size_t(t),
               score_task_gate(model, tok, tasks[size_t(t)], rows[size_t(t)], gate, tp)});
          progress.check_cancelled();
        }
      }
    }
    done_work += double(my_tasks.size() + my_gates.size());
  }
  progress.report(1.0, "multitask study done");
  return part;
}

}  // namespace basin
