// The study report job shared by `basin-cli demo --kit` and `basin-cli report`: runs the
// analyses (cosine, multitask, connectivity, CKA, soup, surface, per-task scores), writes each
// result's data through its own JSON/CSV writer, renders the GUI's figures offscreen (plot.h)
// and assembles report.html / report.md (report/report.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "report/oracle_vs_base.h"

namespace basin::cli {

// How much of each analysis the report runs (printed in the report).
struct ReportLimits {
  size_t examples = 10;       // multitask: test examples per task (greedy answers: the cost)
  size_t loss_examples = 16;  // connectivity, soup, surface: validation examples (answer loss)
  int points = 7;             // points per connectivity path, α = 0 … 1 (≥ 3)
  int grid = 9;               // loss surface: grid × grid points
  size_t cka_inputs = 128;    // prompts drawn from the tasks' test splits for CKA
  std::vector<int> counts;    // multitask task counts (empty: 5 and all, or all when fewer)
  bool gates = false;         // also train the MoLE gate and the router (mole, moa rows)
};

// A second base model with its own task adapters on the same tasks: the model-size figure.
struct ReportModel {
  std::string name;                        // "medium", or the model folder's name
  std::filesystem::path model;             // base model folder
  std::vector<std::string> task_adapters;  // each task's own adapter, in task order
};

struct ReportPlan {
  std::string title;
  std::vector<std::string> intro;            // paragraphs
  std::filesystem::path model;               // base model folder
  std::vector<std::filesystem::path> tasks;  // task specs: multitask, CKA inputs
  std::vector<std::string> task_adapters;    // each task's own adapter, in order (may be empty)
  std::string no_task_adapters;              // why, when task_adapters is empty
  std::vector<std::string> cosine;           // adapters of figure 1
  std::vector<std::string> cka;              // adapters of figure 4 (the base is added)
  std::vector<std::filesystem::path> family_tasks;  // tasks the family is scored on
  std::vector<std::string> family;                  // seeds / ranks: connectivity (figure 3)
  std::vector<std::string> soup;                    // ingredients (a subset of family)
  std::vector<std::string> surface;                 // three of family
  std::string family_note;                          // why soup / surface use what they use
  std::optional<OracleVsBase> kit_scores;           // figure 8 from the kit when present
  std::string model_name;                           // the model in the size figure ("small")
  std::optional<ReportModel> larger;                // figure 3: the multitask study on it too
  std::string no_larger;                            // why figure 3 is not drawn, what to run
  ReportLimits limits;
};

// Runs the plan and writes figures/, data/, report.html and report.md into `dir` (a folder
// being built by write_folder_atomic). The command's progress bar runs from `begin` to `end`.
void write_study_report(const ReportPlan& plan, const std::filesystem::path& dir, double begin,
                        double end);

// Refuses to replace `dir` unless it is absent, empty or an earlier Basin output folder (holds
// report.html or summary.json): an InputError names it.
void check_replaceable_output(const std::filesystem::path& dir);

// The --limit/--points/--grid/--gates options of demo and report.
void add_report_limit_options(CLI::App* sub, ReportLimits& limits);

// basin-cli report (registered by register_demo).
void register_report(CLI::App& app, Context& ctx, int& exit_code);

}  // namespace basin::cli
