// Tasks: a spec (JSON: name, prompt template, target field, metric, max new tokens, data files)
// and JSONL datasets (one JSON object per line). Errors name the file, the line and the field.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

enum class TaskMetric { Accuracy, MacroF1, ExactMatch, Bleu, Chrf, RougeL, Loss };
const char* metric_name(TaskMetric m);
TaskMetric parse_metric(const std::string& name);  // throws InputError listing the names

// One example: its fields as strings (numbers and booleans are converted).
using Example = std::map<std::string, std::string>;

struct TaskSpec {
  std::string name;    // e.g. "sentiment"
  std::string prompt;  // template with {field} placeholders ("{{" and "}}" escape)
  std::string target;  // field holding the expected answer
  TaskMetric metric = TaskMetric::Accuracy;
  int max_new_tokens = 16;                              // generation budget for the answer
  std::map<std::string, std::filesystem::path> splits;  // "train"/"validation"/"test" -> JSONL
  std::filesystem::path dir;  // folder of the spec file (splits are relative to it)

  // Reads and validates a spec file; every placeholder must be a plain field name.
  static TaskSpec load(const std::filesystem::path& file);
  static TaskSpec from_json(const nlohmann::json& j, const std::string& label);
  nlohmann::json to_json() const;

  // The prompt for `ex`; throws InputError naming the missing field.
  std::string render_prompt(const Example& ex) const;
  std::string target_of(const Example& ex) const;
  // Loads one split; throws InputError for an unknown split.
  std::vector<Example> load_split(const std::string& split) const;
};

// Reads a JSONL file: one object per line, blank lines skipped. Errors carry "file:line".
std::vector<Example> read_jsonl(const std::filesystem::path& file);
// The same for JSONL text already read; errors carry "label:line" (label is the file name).
std::vector<Example> parse_jsonl(std::string_view text, const std::string& label);
// Writes examples as JSONL atomically (keys sorted).
void write_jsonl(const std::filesystem::path& file, const std::vector<Example>& examples);

}  // namespace basin
