#include "lora/peft_config.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

// std::regex compiles and matches recursively, one stack frame per pattern element: a long
// pattern from a config file would overflow the stack. PEFT's patterns are module names.
constexpr size_t kMaxPatternLength = 1000;
// libstdc++ expands a{n} into n copies of the atom, and reads repetition counts and
// back-reference numbers into a long without an overflow check: both are bounded before compiling.
constexpr int64_t kMaxExpandedElements = 10000;

// libstdc++ matches by backtracking unless told otherwise, exponential in the module name's
// length for patterns such as (.*.*)*x (which never finishes on a 32-character module name);
// its polynomial mode (a Thompson NFA, no back-references) bounds the time.
#ifdef __GLIBCXX__
constexpr auto kPolynomial = std::regex_constants::__polynomial;
#else
constexpr auto kPolynomial = std::regex_constants::syntax_option_type{};
#endif

// Refuses what std::regex would overflow on: the size of the pattern once every {m,n} is
// expanded (nested groups multiply), counts of more than 9 digits, back-references.
void check_expansion(const std::string& pattern, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    throw InputError(what + " '" + excerpt(pattern) + "' " + why);
  };
  struct Group {
    int64_t total = 0;  // elements so far, every repetition expanded
    int64_t last = 0;   // elements of the last atom, the one a quantifier repeats
  };
  std::vector<Group> groups(1);
  const size_t n = pattern.size();
  const auto atom = [&](int64_t size) {
    groups.back().total += size;
    groups.back().last = size;
  };
  const auto count = [&](size_t& i) {  // digits at i, leaves i on the first non-digit
    const size_t from = i;
    while (i < n && pattern[i] >= '0' && pattern[i] <= '9')
      ++i;
    if (i - from > 9) refuse("repeats an element more than 999999999 times");
    return i == from ? int64_t{-1} : std::stoll(pattern.substr(from, i - from));
  };
  for (size_t i = 0; i < n; ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < n && pattern[i + 1] >= '1' && pattern[i + 1] <= '9')
        refuse("uses a back-reference (\\" + std::string(1, pattern[i + 1]) +
               "), which Basin does not support in module patterns");
      ++i;
      atom(1);
    } else if (c == '[') {  // a class is one element; ']' first in it is a literal
      size_t j = i + 1;
      if (j < n && pattern[j] == '^') ++j;
      if (j < n && pattern[j] == ']') ++j;
      while (j < n && pattern[j] != ']')
        j += pattern[j] == '\\' ? 2 : 1;
      i = j;
      atom(1);
    } else if (c == '(') {
      groups.emplace_back();
    } else if (c == ')' && groups.size() > 1) {
      const int64_t size = groups.back().total;
      groups.pop_back();
      atom(size);
    } else if (c == '{') {
      size_t j = i + 1;
      const int64_t low = count(j);
      int64_t high = low;
      if (j < n && pattern[j] == ',') {
        ++j;
        high = count(j);
        if (high < 0) high = low + 1;  // {m,}: m copies and a star
      }
      if (low < 0 || j >= n || pattern[j] != '}') {
        atom(1);  // not a quantifier; std::regex reports what is wrong with it
        continue;
      }
      i = j;
      Group& g = groups.back();
      const int64_t times = std::max<int64_t>(high, 1);
      g.total += g.last * (times - 1);
      g.last *= times;
    } else if (c != '|' && c != '*' && c != '+' && c != '?' && c != '^' && c != '$') {
      atom(1);
    }
    if (groups.back().total > kMaxExpandedElements)
      refuse("expands to more than " + std::to_string(kMaxExpandedElements) +
             " elements once its repetition counts are written out");
  }
}

std::regex compile(const std::string& pattern, const std::string& what) {
  if (pattern.size() > kMaxPatternLength)
    throw InputError(what + " '" + excerpt(pattern) + "' is longer than " +
                     std::to_string(kMaxPatternLength) + " characters");
  check_expansion(pattern, what);
  try {
    return std::regex(pattern, std::regex::ECMAScript | kPolynomial);
  } catch (const std::regex_error& e) {
    throw InputError(what + " '" + excerpt(pattern) +
                     "' is not a valid regular expression: " + e.what());
  }
}

[[noreturn]] void bad(const std::string& label, const std::string& key, const std::string& what) {
  throw InputError("'" + label + "': key '" + key + "' " + what);
}

}  // namespace

double lora_scale(double alpha, int64_t rank, bool use_rslora) {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(rank))
                    : alpha / static_cast<double>(rank);
}

std::optional<std::string> match_pattern_key(const std::vector<std::string>& keys,
                                             const std::string& module) {
  for (const auto& key : keys) {
    const std::regex re = compile("(.*\\.)?(" + key + ")", "rank/alpha pattern");
    if (std::regex_match(module, re)) return key;
  }
  return std::nullopt;
}

int64_t PeftLoraConfig::rank_for(const std::string& module) const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : rank_pattern)
    keys.push_back(k);
  if (const auto key = match_pattern_key(keys, module))
    for (const auto& [k, v] : rank_pattern)
      if (k == *key) return v;
  return r;
}

double PeftLoraConfig::alpha_for(const std::string& module) const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : alpha_pattern)
    keys.push_back(k);
  if (const auto key = match_pattern_key(keys, module))
    for (const auto& [k, v] : alpha_pattern)
      if (k == *key) return v;
  return lora_alpha;
}

double PeftLoraConfig::scale_for(const std::string& module) const {
  return lora_scale(alpha_for(module), rank_for(module), use_rslora);
}

bool PeftLoraConfig::targets(const std::string& module) const {
  if (target_modules_regex) {
    if (*target_modules_regex == "all-linear") return true;
    return std::regex_match(module, compile(*target_modules_regex, "target_modules"));
  }
  if (target_modules.empty()) return true;
  for (const auto& t : target_modules) {
    if (module == t) return true;
    if (module.size() > t.size() && module.compare(module.size() - t.size(), t.size(), t) == 0 &&
        module[module.size() - t.size() - 1] == '.')
      return true;
  }
  return false;
}

PeftLoraConfig PeftLoraConfig::from_json(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object()) throw InputError("'" + label + "' is not a JSON object");
  PeftLoraConfig c;
  auto get_bool = [&](const char* key, bool def) {
    if (!j.contains(key) || j[key].is_null()) return def;
    if (!j[key].is_boolean()) bad(label, key, "must be true or false, got " + json_excerpt(j[key]));
    return j[key].get<bool>();
  };
  auto get_string = [&](const char* key) -> std::string {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_string()) bad(label, key, "must be a string, got " + json_excerpt(j[key]));
    return j[key].get<std::string>();
  };

  const std::string peft_type = get_string("peft_type");
  if (!peft_type.empty() && peft_type != "LORA")
    bad(label, "peft_type",
        "is '" + excerpt(peft_type) + "'; Basin reads LoRA adapters (LORA) only");
  if (get_bool("use_dora", false))
    bad(label, "use_dora", "is true: DoRA adapters (magnitude vectors) are not supported yet");
  if (get_bool("lora_bias", false))
    bad(label, "lora_bias", "is true: LoRA bias terms are not supported yet");
  const std::string bias = get_string("bias");
  if (!bias.empty() && bias != "none")
    bad(label, "bias", "is '" + excerpt(bias) + "': trained bias vectors are not supported yet");

  if (!j.contains("r")) bad(label, "r", "is missing");
  if (!j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0)
    bad(label, "r", "must be a positive integer, got " + json_excerpt(j["r"]));
  c.r = j["r"].get<int64_t>();
  if (j.contains("lora_alpha") && !j["lora_alpha"].is_null()) {
    if (!j["lora_alpha"].is_number())
      bad(label, "lora_alpha", "must be a number, got " + json_excerpt(j["lora_alpha"]));
    c.lora_alpha = j["lora_alpha"].get<double>();
    if (!std::isfinite(c.lora_alpha)) bad(label, "lora_alpha", "must be finite");
  } else {
    c.lora_alpha = 8.0;  // PEFT's LoraConfig default
  }
  c.use_rslora = get_bool("use_rslora", false);
  c.fan_in_fan_out = get_bool("fan_in_fan_out", false);
  c.base_model_name_or_path = get_string("base_model_name_or_path");
  c.task_type = get_string("task_type");

  if (j.contains("rank_pattern") && !j["rank_pattern"].is_null()) {
    if (!j["rank_pattern"].is_object()) bad(label, "rank_pattern", "must be an object");
    for (auto it = j["rank_pattern"].begin(); it != j["rank_pattern"].end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() <= 0)
        bad(label, "rank_pattern." + excerpt(it.key()),
            "must be a positive integer, got " + json_excerpt(it.value()));
      compile("(.*\\.)?(" + it.key() + ")", "rank_pattern key");
      c.rank_pattern.emplace_back(it.key(), it.value().get<int64_t>());
    }
  }
  if (j.contains("alpha_pattern") && !j["alpha_pattern"].is_null()) {
    if (!j["alpha_pattern"].is_object()) bad(label, "alpha_pattern", "must be an object");
    for (auto it = j["alpha_pattern"].begin(); it != j["alpha_pattern"].end(); ++it) {
      if (!it.value().is_number() || !std::isfinite(it.value().get<double>()))
        bad(label, "alpha_pattern." + excerpt(it.key()),
            "must be a finite number, got " + json_excerpt(it.value()));
      compile("(.*\\.)?(" + it.key() + ")", "alpha_pattern key");
      c.alpha_pattern.emplace_back(it.key(), it.value().get<double>());
    }
  }
  if (j.contains("target_modules") && !j["target_modules"].is_null()) {
    const auto& t = j["target_modules"];
    if (t.is_string()) {
      c.target_modules_regex = t.get<std::string>();
      if (*c.target_modules_regex != "all-linear")
        compile(*c.target_modules_regex, "target_modules");
    } else if (t.is_array()) {
      for (const auto& e : t) {
        if (!e.is_string()) bad(label, "target_modules", "must hold strings only");
        c.target_modules.push_back(e.get<std::string>());
      }
    } else {
      bad(label, "target_modules", "must be a list of names or a regex string");
    }
  }
  return c;
}

nlohmann::ordered_json PeftLoraConfig::to_json() const {
  nlohmann::ordered_json j;
  j["alpha_pattern"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : alpha_pattern) {
    if (v == std::round(v) && std::abs(v) < 1e15)
      j["alpha_pattern"][k] = static_cast<int64_t>(v);
    else
      j["alpha_pattern"][k] = v;
  }
  j["auto_mapping"] = nullptr;
  j["base_model_name_or_path"] = base_model_name_or_path.empty()
                                     ? nlohmann::ordered_json(nullptr)
                                     : nlohmann::ordered_json(base_model_name_or_path);
  j["bias"] = "none";
  j["fan_in_fan_out"] = fan_in_fan_out;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  // Integral alphas are written as integers, as PEFT's own configs have them.
  if (lora_alpha == std::round(lora_alpha) && std::abs(lora_alpha) < 1e15)
    j["lora_alpha"] = static_cast<int64_t>(lora_alpha);
  else
    j["lora_alpha"] = lora_alpha;
  j["lora_dropout"] = 0.0;
  j["modules_to_save"] = nullptr;
  j["peft_type"] = "LORA";
  j["r"] = r;
  j["rank_pattern"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : rank_pattern)
    j["rank_pattern"][k] = v;
  j["revision"] = nullptr;
  if (target_modules_regex)
    j["target_modules"] = *target_modules_regex;
  else
    j["target_modules"] = target_modules;
  j["task_type"] =
      task_type.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(task_type);
  j["use_dora"] = false;
  j["use_rslora"] = use_rslora;
  return j;
}

}  // namespace basin
