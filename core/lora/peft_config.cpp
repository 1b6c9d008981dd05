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

// A key PEFT accepts as a regex string or a list of names (target_modules, exclude_modules).
void read_name_list(const nlohmann::json& j, const std::string& label, const char* key,
                    std::vector<std::string>& names, std::optional<std::string>& regex) {
  if (!j.contains(key) || j[key].is_null()) return;
  const auto& t = j[key];
  if (t.is_string()) {
    regex = t.get<std::string>();
    compile(*regex, key);
  } else if (t.is_array()) {
    for (const auto& e : t) {
      if (!e.is_string()) bad(label, key, "must hold strings only");
      names.push_back(e.get<std::string>());
    }
  } else {
    bad(label, key, "must be a list of names or a regex string");
  }
}

// init_lora_weights values whose initialisation rewrites the base layer's weight (PEFT 0.20
// lora/layer.py: pissa_init, olora_init, corda_init, lora_ga_init, loftq_init): what the adapter
// learnt is relative to that changed weight, so B·A is not an update of the original base.
void read_init_lora_weights(const nlohmann::json& j, const std::string& label, PeftLoraConfig& c) {
  if (!j.contains("init_lora_weights") || j["init_lora_weights"].is_null()) return;
  const auto& v = j["init_lora_weights"];
  if (v.is_boolean()) {
    c.init_lora_weights = v.get<bool>() ? "true" : "false";
    return;
  }
  if (!v.is_string())
    bad(label, "init_lora_weights", "must be true, false or a method name, got " + json_excerpt(v));
  const std::string s = v.get<std::string>();
  c.init_lora_weights = s;
  // These leave the base weight untouched: B A is the whole update.
  for (const char* safe : {"gaussian", "eva", "orthogonal", "mica"})
    if (s == safe) return;
  const bool pissa = s.rfind("pissa", 0) == 0;
  if (pissa || s == "olora" || s == "corda" || s == "lora_ga") {
    const std::string name = pissa          ? "PiSSA"
                             : s == "olora" ? "OLoRA"
                             : s == "corda" ? "CorDA"
                                            : "LoRA-GA";
    bad(label, "init_lora_weights",
        "is \"" + excerpt(s) + "\": " + name +
            " initialisation changes the base model's weights when the adapter is created "
            "(W_res = W - B0 A0), so this adapter's B A is not an update of the original base and "
            "Basin cannot merge it. Convert it to a plain LoRA in PEFT: save the trained model "
            "with "
            "save_pretrained(out, path_initial_model_for_weight_conversion=DIR), where DIR holds "
            "the adapter saved right after initialisation, before training (PEFT's "
            "subtract_mutated_init; the result has rank 2r and init_lora_weights true)");
  }
  if (s == "loftq")
    bad(label, "init_lora_weights",
        "is \"loftq\": LoftQ replaces the base weights with their quantised form Q and fits B A "
        "to W - Q, so the adapter is an update of Q, not of the original base, and Basin cannot "
        "merge it; PEFT's path_initial_model_for_weight_conversion does not convert LoftQ. Merge "
        "adapters trained on the plain base (init_lora_weights true, false or \"gaussian\")");
  bad(label, "init_lora_weights",
      "is \"" + excerpt(s) +
          "\", an initialisation Basin does not know; Basin merges adapters whose "
          "initialisation leaves the base weights unchanged (true, false, \"gaussian\", \"eva\", "
          "\"orthogonal\", \"mica\")");
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

namespace {

bool list_selects(const std::vector<std::string>& names, const std::string& module) {
  for (const auto& t : names) {
    if (module == t) return true;
    if (module.size() > t.size() && module.compare(module.size() - t.size(), t.size(), t) == 0 &&
        module[module.size() - t.size() - 1] == '.')
      return true;
  }
  return false;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<int64_t> peft_layer_index(const std::string& module,
                                        const std::vector<std::string>& layers_pattern) {
  std::vector<size_t> dots;
  for (size_t i = 0; i < module.size(); ++i)
    if (module[i] == '.') dots.push_back(i);
  std::vector<std::regex> patterns;
  for (const auto& p : layers_pattern)
    patterns.push_back(compile(p, "layers_pattern"));
  // The lazy .*? takes the earliest dot d; after it `pattern` spans up to a dot e, then a run of
  // digits closed by another dot. Without a pattern, [^.]* is exactly one segment.
  for (size_t a = 0; a < dots.size(); ++a) {
    for (size_t b = a + 1; b + 1 < dots.size(); ++b) {
      const std::string seg = module.substr(dots[b] + 1, dots[b + 1] - dots[b] - 1);
      if (!all_digits(seg)) continue;
      const std::string between = module.substr(dots[a] + 1, dots[b] - dots[a] - 1);
      bool ok = false;
      if (layers_pattern.empty()) {
        ok = b == a + 1;
      } else {
        for (const auto& p : patterns)
          ok = ok || std::regex_match(between, p);
      }
      if (ok) {
        if (seg.size() > 18) return std::nullopt;  // not a layer index Basin can hold
        return std::stoll(seg);
      }
    }
  }
  return std::nullopt;
}

std::string PeftLoraConfig::untargeted_reason(const std::string& module) const {
  if (exclude_modules_regex
          ? std::regex_match(module, compile(*exclude_modules_regex, "exclude_modules"))
          : list_selects(exclude_modules, module))
    return "is excluded by exclude_modules";
  for (const auto& m : modules_to_save)
    if (std::regex_match(module, compile("(^|.*\\.)" + m + "($|\\..*)", "modules_to_save")))
      return "is listed in modules_to_save (PEFT saves it whole and puts no LoRA on it)";
  if (target_modules_regex) {
    if (*target_modules_regex == "all-linear") return "";
    if (std::regex_match(module, compile(*target_modules_regex, "target_modules"))) return "";
    return "is not selected by target_modules";
  }
  if (target_modules.empty()) return "";
  if (std::find(target_modules.begin(), target_modules.end(), module) != target_modules.end())
    return "";  // an exact name skips the layer check, as in PEFT
  if (!list_selects(target_modules, module)) return "is not selected by target_modules";
  if (layers_to_transform.empty()) return "";
  const auto layer = peft_layer_index(module, layers_pattern);
  if (!layer)
    return layers_pattern.empty()
               ? "has no layer index, so layers_to_transform leaves it out"
               : "has no layer index after layers_pattern, so layers_to_transform leaves it out";
  if (std::find(layers_to_transform.begin(), layers_to_transform.end(), *layer) ==
      layers_to_transform.end())
    return "is in layer " + std::to_string(*layer) + ", which layers_to_transform leaves out";
  return "";
}

bool PeftLoraConfig::targets(const std::string& module) const {
  return untargeted_reason(module).empty();
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
  read_init_lora_weights(j, label, c);
  // LoRA variants whose layer is not ΔW = s B A on the module PEFT names (PEFT 0.20 config.py).
  const std::pair<const char*, const char*> variants[] = {
      {"alora_invocation_tokens",
       "Activated LoRA applies B A only from its invocation tokens on, so it is no fixed weight "
       "update"},
      {"use_qalora", "QALoRA pools the input features before A, so B A is not the update"},
      {"layer_replication", "the adapter is for a model whose layers PEFT replicates first"},
      {"target_parameters", "LoRA on nn.Parameter (target_parameters) is not supported"},
      {"use_bdlora", "BD-LoRA's block-diagonal factors are not supported"},
      {"arrow_config", "Arrow routing between adapters is not supported"},
      {"monteclora_config", "MonteCLoRA's sampled factors are not supported"},
  };
  for (const auto& [key, why] : variants) {
    if (!j.contains(key)) continue;
    const auto& v = j[key];
    const bool set = !(v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
                       ((v.is_array() || v.is_object()) && v.empty()));
    if (set) bad(label, key, "is " + json_excerpt(v) + ": " + why);
  }
  read_name_list(j, label, "exclude_modules", c.exclude_modules, c.exclude_modules_regex);
  std::optional<std::string> no_regex;
  if (j.contains("modules_to_save") && !j["modules_to_save"].is_null()) {
    if (!j["modules_to_save"].is_array()) bad(label, "modules_to_save", "must be a list of names");
    read_name_list(j, label, "modules_to_save", c.modules_to_save, no_regex);
    for (const auto& m : c.modules_to_save)
      compile("(^|.*\\.)" + m + "($|\\..*)", "modules_to_save entry");
  }
  if (j.contains("layers_to_transform") && !j["layers_to_transform"].is_null()) {
    const auto& l = j["layers_to_transform"];
    const auto index = [&](const nlohmann::json& e) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0)
        bad(label, "layers_to_transform",
            "must be a layer index or a list of them, got " + json_excerpt(l));
      return e.get<int64_t>();
    };
    if (l.is_array()) {
      for (const auto& e : l)
        c.layers_to_transform.push_back(index(e));
    } else {
      c.layers_to_transform.push_back(index(l));
    }
  }
  if (j.contains("layers_pattern") && !j["layers_pattern"].is_null()) {
    const auto& l = j["layers_pattern"];
    if (l.is_string()) {
      if (!l.get<std::string>().empty()) c.layers_pattern.push_back(l.get<std::string>());
    } else if (l.is_array()) {
      for (const auto& e : l) {
        if (!e.is_string()) bad(label, "layers_pattern", "must hold strings only");
        c.layers_pattern.push_back(e.get<std::string>());
      }
    } else {
      bad(label, "layers_pattern", "must be a name or a list of names");
    }
    for (const auto& p : c.layers_pattern)
      compile(p, "layers_pattern");
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
