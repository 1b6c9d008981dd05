// The demo kit's task data: seven task datasets (JSONL + task spec) built from real text that
// Debian and npm packages ship (see DATA.md; parsers in demo/text_sources.h), with a distinct
// prompt format per task as in the router-free merging study:
//   headline   package description → synopsis (ROUGE-L)   translate  en → de messages (chrF)
//   qa         quiz facts (exact match)                   sentiment  UCI sentences (accuracy)
//   entailment WordNet verb relations (macro-F1)          topic      fortunes by file (accuracy)
//   antonym    WordNet / bsdgames antonyms (exact match)
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/task.h"
#include "jobs/progress.h"

namespace basin {

struct TaskDataOptions {
  std::filesystem::path out_dir;     // folder that receives <task>.json and <task>.<split>.jsonl
  size_t max_per_task = 600;         // examples kept per task (before splitting)
  uint64_t seed = 0;                 // shuffles sampling and splits deterministically
  double validation_fraction = 0.1;  // share of a task's examples in its validation split
  double test_fraction = 0.2;        // share of a task's examples in its test split
  std::filesystem::path npm_dir = default_npm_dir();  // node_modules holding sentiment@5.0.2
  std::filesystem::path dpkg_status = "/var/lib/dpkg/status";  // package descriptions

  // ~/.cache/basin/test-data/node_modules (where scripts/fetch-test-data.sh installs npm data).
  static std::filesystem::path default_npm_dir();
};

struct TaskDataReport {
  std::vector<std::string> tasks;          // task names in build order
  std::map<std::string, size_t> examples;  // task -> examples written (all splits)
};

// Builds every task into options.out_dir. Throws InputError naming the missing file and the
// package that provides it; jobs::Cancelled when progress is cancelled between tasks.
TaskDataReport build_task_data(const TaskDataOptions& options, jobs::Progress& progress);

// The facts a qa or antonym example asks, stated in three phrasings for the base model's
// pre-training text: knowledge seen in varied forms is what fine-tuning can later extract
// (Allen-Zhu & Li 2023, "Physics of Language Models 3.1", §5). Empty for other tasks.
std::vector<std::string> task_fact_statements(const std::string& task, const Example& ex);

}  // namespace basin
