#include "data/task.h"

#include <fstream>
#include <iterator>
#include <string_view>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

struct MetricRow {
  TaskMetric metric;
  const char* name;
};
constexpr MetricRow kMetrics[] = {{TaskMetric::Accuracy, "accuracy"},
                                  {TaskMetric::MacroF1, "macro_f1"},
                                  {TaskMetric::ExactMatch, "exact_match"},
                                  {TaskMetric::Bleu, "bleu"},
                                  {TaskMetric::Chrf, "chrf"},
                                  {TaskMetric::RougeL, "rouge_l"},
                                  {TaskMetric::Loss, "loss"}};

// Splits a template into literal text and {field} names; "{{" / "}}" are literal braces.
std::vector<std::pair<bool, std::string>> parse_template(const std::string& t,
                                                         const std::string& label) {
  std::vector<std::pair<bool, std::string>> parts;
  std::string lit;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{' && i + 1 < t.size() && t[i + 1] == '{') {
      lit += '{';
      ++i;
    } else if (t[i] == '}' && i + 1 < t.size() && t[i + 1] == '}') {
      lit += '}';
      ++i;
    } else if (t[i] == '{') {
      const auto end = t.find('}', i);
      if (end == std::string::npos) throw InputError(label + ": prompt has an unclosed '{'");
      const std::string field = t.substr(i + 1, end - i - 1);
      if (field.empty() || field.find_first_of("{ \t\n") != std::string::npos)
        throw InputError(label + ": prompt placeholder '{" + excerpt(field) +
                         "}' is not a field name");
      if (!lit.empty()) parts.emplace_back(false, lit);
      lit.clear();
      parts.emplace_back(true, field);
      i = end;
    } else if (t[i] == '}') {
      throw InputError(label + ": prompt has a '}' without '{' (write '}}' for a brace)");
    } else {
      lit += t[i];
    }
  }
  if (!lit.empty()) parts.emplace_back(false, lit);
  return parts;
}

// Generation length cap: far beyond any task's answer, and small enough that a typo cannot ask
// for billions of decoding steps.
constexpr int64_t kMaxNewTokens = 1 << 16;

}  // namespace

const char* metric_name(TaskMetric m) {
  for (const auto& r : kMetrics)
    if (r.metric == m) return r.name;
  return "?";
}

TaskMetric parse_metric(const std::string& name) {
  for (const auto& r : kMetrics)
    if (name == r.name) return r.metric;
  std::vector<std::string> names;
  for (const auto& r : kMetrics)
    names.emplace_back(r.name);
  throw InputError("unknown metric '" + excerpt(name) + "' (expected one of: " + join(names, ", ") +
                   ")");
}

TaskSpec TaskSpec::from_json(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object()) throw InputError("'" + label + "' is not a JSON object");
  auto str = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_string())
      throw InputError("'" + label + "': key '" + key + "' must be a string, got " +
                       (j.contains(key) ? json_excerpt(j[key]) : std::string("nothing")));
    return j[key].get<std::string>();
  };
  TaskSpec s;
  s.name = str("name");
  s.prompt = str("prompt");
  s.target = str("target");
  s.metric = parse_metric(str("metric"));
  if (j.contains("max_new_tokens")) {
    const auto& m = j["max_new_tokens"];
    if (!m.is_number_integer() || m.get<int64_t>() <= 0 || m.get<int64_t>() > kMaxNewTokens)
      throw InputError("'" + label + "': key 'max_new_tokens' must be an integer from 1 to " +
                       std::to_string(kMaxNewTokens) + ", got " + json_excerpt(m));
    s.max_new_tokens = j["max_new_tokens"].get<int>();
  }
  if (j.contains("splits")) {
    if (!j["splits"].is_object())
      throw InputError("'" + label + "': key 'splits' must map split names to files");
    for (const auto& [k, v] : j["splits"].items()) {
      if (!v.is_string())
        throw InputError("'" + label + "': split '" + excerpt(k) + "' must be a file name, got " +
                         json_excerpt(v));
      s.splits[k] = v.get<std::string>();
    }
  }
  parse_template(s.prompt, "'" + label + "'");
  return s;
}

TaskSpec TaskSpec::load(const fs::path& file) {
  TaskSpec s = from_json(read_json_file(file), file.string());
  s.dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  return s;
}

nlohmann::json TaskSpec::to_json() const {
  nlohmann::json sp = nlohmann::json::object();
  for (const auto& [k, v] : splits)
    sp[k] = v.string();
  return {{"name", name},
          {"prompt", prompt},
          {"target", target},
          {"metric", metric_name(metric)},
          {"max_new_tokens", max_new_tokens},
          {"splits", sp}};
}

std::string TaskSpec::render_prompt(const Example& ex) const {
  std::string out;
  for (const auto& [is_field, text] : parse_template(prompt, "task '" + name + "'")) {
    if (!is_field) {
      out += text;
      continue;
    }
    const auto it = ex.find(text);
    if (it == ex.end())
      throw InputError("task '" + name + "': example has no field '" + text +
                       "' used by the prompt");
    out += it->second;
  }
  return out;
}

std::string TaskSpec::target_of(const Example& ex) const {
  const auto it = ex.find(target);
  if (it == ex.end())
    throw InputError("task '" + name + "': example has no target field '" + target + "'");
  return it->second;
}

std::vector<Example> TaskSpec::load_split(const std::string& split) const {
  const auto it = splits.find(split);
  if (it == splits.end()) throw InputError("task '" + name + "' has no '" + split + "' split");
  return read_jsonl(it->second.is_absolute() ? it->second : dir / it->second);
}

std::vector<Example> read_jsonl(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("cannot read '" + file.string() + "'");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_jsonl(text, file.string());
}

std::vector<Example> parse_jsonl(std::string_view text, const std::string& label) {
  std::vector<Example> out;
  size_t n = 0;
  // Lines end at '\n' (a last line without one counts), as std::getline splits them.
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++n;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = label + ":" + std::to_string(n);
    const nlohmann::json j = parse_json_text(line, where);
    if (!j.is_object())
      throw InputError("'" + where + "': expected a JSON object, got " + json_excerpt(j));
    Example ex;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string())
        ex[k] = v.get<std::string>();
      else if (v.is_number_unsigned())  // before the signed read: 2^63 and above stay positive
        ex[k] = std::to_string(v.get<uint64_t>());
      else if (v.is_number_integer())
        ex[k] = std::to_string(v.get<int64_t>());
      else if (v.is_number())
        ex[k] = format_double(v.get<double>());
      else if (v.is_boolean())
        ex[k] = v.get<bool>() ? "true" : "false";
      else
        throw InputError("'" + where + "': field '" + excerpt(k) +
                         "' must be a string, number or boolean, got " + json_excerpt(v));
    }
    out.push_back(std::move(ex));
  }
  return out;
}

void write_jsonl(const fs::path& file, const std::vector<Example>& examples) {
  std::string text;
  for (const auto& ex : examples) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : ex)
      j[k] = v;
    text += j.dump() + "\n";
  }
  write_file_atomic(file, text);
}

}  // namespace basin
