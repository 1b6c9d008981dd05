// basin-cli report --model M --tasks T... ADAPTER... -o DIR: the demo's study report for a
// user's own adapters. Figures that need each task's own adapter (multitask, oracle vs base)
// match adapters to tasks by folder name, or by order when there is one adapter per task; the
// uniformity figures (connectivity, soup, surface) treat every given adapter as one family.
// --larger-model M2 --larger-adapters A2... adds the model-size figure: the multitask study
// also on a second base model with its own task adapters (matched to tasks the same way).
#include <cstdio>
#include <filesystem>

#include "data/task.h"
#include "landscape_common.h"
#include "report_job.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin::cli {
namespace {

// Each task's own adapter among `dirs`: the folder named after the task, else all of them in
// order when there is one per task; empty when neither.
std::vector<std::string> match_tasks(const std::vector<std::string>& task_names,
                                     const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& name : task_names)
    for (const auto& d : dirs)
      if (fs::path(d).filename() == name) out.push_back(d);
  if (out.size() == task_names.size()) return out;
  return dirs.size() == task_names.size() ? dirs : std::vector<std::string>{};
}

// A model folder's name for the size figure; "parent/name" when two models share a name.
std::string model_label(const fs::path& dir, bool with_parent) {
  fs::path p = dir.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = p.filename().string();
  return with_parent && !p.parent_path().filename().empty()
             ? p.parent_path().filename().string() + "/" + name
             : name;
}

std::string names_of(const std::vector<std::string>& dirs) {
  std::vector<std::string> n;
  for (const auto& d : dirs)
    n.push_back(fs::path(d).filename().string());
  return join(n, ", ");
}

}  // namespace

void register_report(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "report",
      "Study report (report.html, report.md, figures/, data/) for a set of adapters: cosine, "
      "multitask, convexity gap, CKA, greedy soup, loss surface, own adapter vs base");
  struct Args {
    std::string model;
    std::vector<std::string> tasks, adapters;
    std::string larger_model;
    std::vector<std::string> larger_adapters;
    std::string out = "basin-report";
    ReportLimits limits;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--model", a->model, "Hugging Face base model folder (with tokenizer.json)")
      ->required();
  sub->add_option("--tasks", a->tasks, "task spec JSON files (folders after them are adapters)")
      ->required()
      ->expected(1, -1);
  sub->add_option("ADAPTER", a->adapters, "PEFT adapter folders");
  sub->add_option("-o,--out", a->out, "output folder (default: basin-report)")
      ->check(writable_output());
  sub->add_option("--larger-model", a->larger_model,
                  "a second (larger) base model: adds the model-size figure (needs "
                  "--larger-adapters)");
  sub->add_option("--larger-adapters", a->larger_adapters,
                  "each task's own adapter on --larger-model (named after the task, or one per "
                  "--tasks entry in order)")
      ->expected(1, -1);
  add_report_limit_options(sub, a->limits);

  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    take_models_from_tasks(a->tasks, a->adapters);
    if (a->adapters.empty()) throw InputError("name at least one adapter folder after --tasks");
    EvalArgs e;
    e.model = a->model;
    e.tasks = a->tasks;
    check_eval_inputs(e);
    for (const auto& d : a->adapters)
      if (!fs::is_directory(d)) throw InputError("adapter folder '" + d + "' does not exist");
    const fs::path out = a->out;
    check_replaceable_output(out);

    ReportPlan p;
    p.title = "Basin study report";
    p.model = a->model;
    p.limits = a->limits;
    std::vector<std::string> task_names;
    for (const auto& t : a->tasks) {
      p.tasks.emplace_back(t);
      task_names.push_back(TaskSpec::load(t).name);
    }
    p.task_adapters = match_tasks(task_names, a->adapters);
    if (a->larger_model.empty() != a->larger_adapters.empty())
      throw InputError(a->larger_model.empty()
                           ? "--larger-adapters needs --larger-model (their base model)"
                           : "--larger-model '" + a->larger_model +
                                 "' needs --larger-adapters (each task's own adapter on it)");
    if (!a->larger_model.empty()) {
      EvalArgs le;
      le.model = a->larger_model;
      le.tasks = a->tasks;
      check_eval_inputs(le);
      ReportModel big;
      const bool same = model_label(a->model, false) == model_label(a->larger_model, false);
      p.model_name = model_label(a->model, same);
      big.name = model_label(a->larger_model, same);
      big.model = a->larger_model;
      big.task_adapters = match_tasks(task_names, a->larger_adapters);
      if (big.task_adapters.empty())
        throw InputError("--larger-adapters: " + std::to_string(a->larger_adapters.size()) +
                         " adapters for " + std::to_string(task_names.size()) +
                         " tasks; name each folder after its task or give one per --tasks entry");
      for (const auto& d : big.task_adapters)
        if (!fs::is_directory(d)) throw InputError("adapter folder '" + d + "' does not exist");
      p.larger = big;
    } else {
      p.no_larger =
          "compares two model sizes when given a second base model and its task adapters "
          "(--larger-model M --larger-adapters A...).";
    }
    if (p.task_adapters.empty())
      p.no_task_adapters =
          "needs each task's own adapter: name each adapter folder after its "
          "task, or give one adapter per --tasks entry in the same order (" +
          std::to_string(a->adapters.size()) + " adapters for " +
          std::to_string(task_names.size()) + " tasks).";
    p.cosine = p.cka = p.family = p.soup = a->adapters;
    p.family_tasks = p.tasks;
    if (a->adapters.size() >= 3) p.surface = {a->adapters[0], a->adapters[1], a->adapters[2]};
    p.family_note =
        "the connectivity, soup and surface figures treat all given adapters as one family "
        "(the surface runs through the first three)";
    p.intro.push_back(std::to_string(a->adapters.size()) + " adapters (" + names_of(a->adapters) +
                      ") on the base model " + a->model + ", tasks " + join(task_names, ", ") +
                      ".");
    p.intro.push_back(
        "Each figure is drawn from this run's results; its caption states what it shows on "
        "these numbers, and its data files (written by the analysis's own result type) sit "
        "beside it under data/.");

    // Everything appears at once: a cancel or a failure leaves no output folder behind.
    write_folder_atomic(out, /*overwrite=*/true,
                        [&](const fs::path& tmp) { write_study_report(p, tmp, 0.0, 1.0); });
    progress().finish();
    std::printf("Report: %s (report.md, figures/, data/ beside it)\n",
                (fs::absolute(out) / "report.html").lexically_normal().c_str());
    exit_code = kOk;
  });
}

}  // namespace basin::cli
