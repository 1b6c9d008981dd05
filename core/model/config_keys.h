// Reading config.json's keys for ModelConfig (internal to core/model): typed getters whose
// errors name the file and key, rotary scaling (rope_scaling / rope_parameters), and the table
// of other architectures' numerics keys that a family does not implement and so refuses.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model_config.h"

namespace basin::config_keys {

using nlohmann::json;

// InputError "'<label>': key '<key>' = <bounded excerpt>: <why>".
[[noreturn]] void refuse(const std::string& label, const std::string& key, const json& value,
                         const std::string& why);
bool given(const json& j, const char* key);  // present and not null
// An integer key; absent = def (def < 0: required).
int64_t get_int(const json& j, const char* key, const std::string& label, int64_t def = -1);
double get_number(const json& j, const char* key, const std::string& label, double def);
bool get_bool(const json& j, const char* key, const std::string& label, bool def);
int64_t first_token_id(const json& j, const char* key);  // an id or the first of a list; -1
bool null_or_silu(const json& v);

extern const char* const kRopeTypes;  // the rotary scalings Basin implements, for messages

// rope_scaling / rope_parameters (one rotary setting, not per layer type): the types Basin
// implements exactly, every other refused. `theta` receives its rope_theta when it names one,
// `partial` its partial_rotary_factor (when null, a factor other than 1 is refused).
RopeScaling parse_rope(const json& r, const std::string& key, const ModelConfig& c,
                       const std::string& label, double* theta, double* partial = nullptr);

// Refuses every key of another architecture that changes the numerics of `c`'s family and that
// the family does not implement (the family's own keys are read by from_json).
void refuse_foreign_keys(const json& j, const ModelConfig& c, const std::string& label);

}  // namespace basin::config_keys
