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
  std::vector<std::string> exclude_modules;                   // list form (names or suffixes)
  std::optional<std::string> exclude_modules_regex;           // string form (re.fullmatch)
  std::vector<int64_t> layers_to_transform;  // layer indices (an int is a list of one); empty: all
  std::vector<std::string> layers_pattern;   // regexes naming the layer list ("layers", "h")
  std::vector<std::string> modules_to_save;  // never targeted (PEFT wraps them instead)
  std::string init_lora_weights = "true";    // as written: true, false, "gaussian", "eva", ...
  bool fan_in_fan_out = false;               // weights stored [in, out] (GPT-2 Conv1D)
  std::string base_model_name_or_path;
  std::string task_type;  // e.g. "CAUSAL_LM"; empty when absent

  // Rank, alpha and scale PEFT gives `module` (a path such as "model.layers.0.self_attn.q_proj").
  int64_t rank_for(const std::string& module) const;
  double alpha_for(const std::string& module) const;
  double scale_for(const std::string& module) const;
  // Whether PEFT's check_target_module_exists (PEFT 0.20) selects `module`: exclude_modules and
  // modules_to_save first, then target_modules (a string: re.fullmatch; a list: the name or a
  // ".name" suffix, then layers_to_transform / layers_pattern for suffix matches). True when
  // no target_modules is given.
  bool targets(const std::string& module) const;
  // Why targets(module) is false, naming the key ("" when it is true).
  std::string untargeted_reason(const std::string& module) const;

  // Parses and validates; errors name `label` (the file) and the key.
  static PeftLoraConfig from_json(const nlohmann::json& j, const std::string& label);
  // The config PEFT writes for an inference-mode LoRA adapter.
  nlohmann::ordered_json to_json() const;
};

// PEFT's per-module pattern lookup: the first key (in order) for which
// re.match(r"(.*\.)?(KEY)$", module) succeeds, or nullopt. Throws InputError for a bad regex.
std::optional<std::string> match_pattern_key(const std::vector<std::string>& keys,
                                             const std::string& module);

// The layer index PEFT 0.20 reads from a module path for layers_to_transform: the first
// numeric segment after a segment matching one of `layers_pattern` (any segment when empty), as
// re.match(r".*?\.{pattern}\.(\d+)\.", key) finds it; nullopt when there is none.
std::optional<int64_t> peft_layer_index(const std::string& module,
                                        const std::vector<std::string>& layers_pattern);

// LoRA scale for alpha and rank: alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023).
double lora_scale(double alpha, int64_t rank, bool use_rslora);

}  // namespace basin
