#include "landscape_common.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <set>

#include "lora/peft_io.h"
#include "util/errors.h"
#include "util/runtime.h"

namespace fs = std::filesystem;

namespace basin::cli {

void add_eval_options(CLI::App* sub, EvalArgs& a, const std::string& what_split,
                      bool models_follow) {
  sub->add_option("--model", a.model, "Hugging Face base model folder (with tokenizer.json)")
      ->required();
  sub->add_option("--tasks", a.tasks,
                  models_follow ? "task spec JSON files (folders after them are the models)"
                                : "task spec JSON files")
      ->required()
      ->expected(1, -1);
  sub->add_option("--split", a.split, what_split)->capture_default_str();
  sub->add_option("--limit", a.limit, "examples per task (0 = all)")->capture_default_str();
}

LandscapeSetup to_setup(const EvalArgs& a) {
  LandscapeSetup s;
  s.model = a.model;
  for (const auto& t : a.tasks)
    s.tasks.emplace_back(t);
  s.split = a.split;
  s.limit = a.limit;
  s.precision = eval_precision_name();
  return s;
}

void take_models_from_tasks(std::vector<std::string>& tasks, std::vector<std::string>& models) {
  std::vector<std::string> kept;
  for (auto& t : tasks) {
    const bool spec = fs::is_regular_file(t) || fs::path(t).extension() == ".json";
    (spec ? kept : models).push_back(t);
  }
  tasks = kept;
}

void check_eval_inputs(const EvalArgs& a) {
  if (a.tasks.empty()) throw InputError("name at least one task spec with --tasks");
  const fs::path m = a.model;
  if (!fs::is_directory(m)) throw InputError("base model folder '" + a.model + "' does not exist");
  for (const char* f : {"config.json", "tokenizer.json"})
    if (!fs::is_regular_file(m / f))
      throw InputError("base model folder '" + a.model + "' has no " + f);
  for (const auto& t : a.tasks)
    if (!fs::is_regular_file(t)) throw InputError("task spec '" + t + "' does not exist");
}

void add_output_options(CLI::App* sub, OutputArgs& o, const std::string& plot_help) {
  auto* csv = sub->add_flag("--csv", o.csv, "CSV output");
  auto* json = sub->add_flag("--json", o.json, "JSON output");
  csv->excludes(json);
  sub->add_option("-o,--output", o.output, "write the output to this file instead of stdout")
      ->check(writable_output());
  sub->add_option("--plot", o.plot, plot_help + " (PNG, SVG or PDF by extension; GUI build)");
}

void Phase::on_report(double fraction, const std::string& stage) {
  progress().report(begin_ + (end_ - begin_) * fraction, stage);
  if (progress().cancelled()) request_cancel();
}

bool is_base(const std::string& arg) {
  return arg == "base";
}

std::vector<std::shared_ptr<const Adapter>> load_adapters(const std::vector<std::string>& dirs,
                                                          jobs::Progress& phase) {
  std::vector<std::shared_ptr<const Adapter>> out;
  for (size_t i = 0; i < dirs.size(); ++i) {
    progress().check_cancelled();
    phase.report(double(i) / double(dirs.size()),
                 "loading " + fs::path(dirs[i]).filename().string());
    out.push_back(load_peft_adapter(dirs[i]));
  }
  return out;
}

ModelArgs resolve_models(const std::vector<std::string>& args, jobs::Progress& phase) {
  ModelArgs m;
  std::vector<std::string> dirs;
  std::set<std::string> seen;
  for (const auto& a : args) {
    std::error_code ec;
    const std::string key = is_base(a) ? a : fs::weakly_canonical(a, ec).string();
    if (!seen.insert(ec ? a : key).second)
      throw InputError("'" + a + "' is given twice; name each model once");
    if (is_base(a)) {
      m.slot.push_back(std::numeric_limits<size_t>::max());
    } else {
      m.slot.push_back(dirs.size());
      dirs.push_back(a);
    }
  }
  if (dirs.empty())
    throw InputError("name at least one adapter folder (\"base\" alone is no path)");
  m.bank = load_adapters(dirs, phase);
  return m;
}

std::vector<Endpoint> endpoints_for(const ModelArgs& m, const std::vector<std::string>& labels) {
  const auto one_hot = bank_endpoints(labels);
  std::vector<Endpoint> out;
  for (size_t s : m.slot)
    out.push_back(s < one_hot.size() ? one_hot[s] : Endpoint{"base", Point(labels.size(), 0.0)});
  return out;
}

std::string format_matrix(const PairwiseMatrix& m, int digits) {
  int w = digits + 4;
  for (const auto& l : m.labels)
    w = std::max(w, static_cast<int>(l.size()));
  std::string out(static_cast<size_t>(w), ' ');
  char buf[256];
  for (const auto& l : m.labels) {
    std::snprintf(buf, sizeof buf, "  %*s", w, l.c_str());
    out += buf;
  }
  out += "\n";
  for (size_t i = 0; i < m.labels.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%-*s", w, m.labels[i].c_str());
    out += buf;
    for (size_t j = 0; j < m.labels.size(); ++j) {
      const double v = m.values(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
      if (std::isfinite(v))
        std::snprintf(buf, sizeof buf, "  %*.*f", w, digits, v);
      else
        std::snprintf(buf, sizeof buf, "  %*s", w + 2, "—");  // "—" is 3 bytes, 1 column
      out += buf;
    }
    out += "\n";
  }
  return out;
}

std::pair<double, double> finite_range(const PairwiseMatrix& m) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (Eigen::Index i = 0; i < m.values.size(); ++i) {
    const double v = m.values.data()[i];
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!std::isfinite(lo)) return {0.0, 1.0};
  if (hi - lo < 1e-12) {
    const double pad = std::max(1e-6, std::abs(hi) * 0.05);
    return {lo - pad, hi + pad};
  }
  return {lo, hi};
}

}  // namespace basin::cli
