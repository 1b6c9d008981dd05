// adapter_config.json of a PEFT LoRA adapter: the fields Basin reads and writes, and PEFT's
// rules for per-module rank/alpha (rank_pattern, alpha_pattern) and target_modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

struct PeftLoraConfig {
  int64_t r = 8;            // default rank
  double lora_alpha = 8.0;  // default alpha; scale = alpha / r (alpha / sqrt(r) with rsLoRA)
  bool use_rslora = false;  // rank-stabilised scaling
  std::vector<std::pair<std::string, int64_t>> rank_pattern;  // regex key -> rank, file order
  std::vector<std::pair<std::string, double>> alpha_pattern;  // regex key -> alpha, file order
  std::vector<std::string> target_modules;                    // list form (names or suffixes)
  std::optional<std::string> target_modules_regex;            // string form (re.fullmatch)
  bool fan_in_fan_out = false;  // weights stored [in, out] (GPT-2 Conv1D)
  std::string base_model_name_or_path;
  std::string task_type;  // e.g. "CAUSAL_LM"; empty when absent

  // Rank, alpha and scale PEFT gives `module` (a path such as "model.layers.0.self_attn.q_proj").
  int64_t rank_for(const std::string& module) const;
  double alpha_for(const std::string& module) const;
  double scale_for(const std::string& module) const;
  // Whether target_modules selects `module` (true when no target_modules is given).
  bool targets(const std::string& module) const;

  // Parses and validates; errors name `label` (the file) and the key.
  static PeftLoraConfig from_json(const nlohmann::json& j, const std::string& label);
  // The config PEFT writes for an inference-mode LoRA adapter.
  nlohmann::ordered_json to_json() const;
};

// PEFT's per-module pattern lookup: the first key (in order) for which
// re.match(r"(.*\.)?(KEY)$", module) succeeds, or nullopt. Throws InputError for a bad regex.
std::optional<std::string> match_pattern_key(const std::vector<std::string>& keys,
                                             const std::string& module);

// LoRA scale for alpha and rank: alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023).
double lora_scale(double alpha, int64_t rank, bool use_rslora);

}  // namespace basin
