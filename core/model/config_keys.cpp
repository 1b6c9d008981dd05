#include "model/config_keys.h"

#include <cstring>

#include "io/json_excerpt.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin::config_keys {

[[noreturn]] void refuse(const std::string& label, const std::string& key, const json& value,
                         const std::string& why) {
  throw InputError("'" + label + "': key '" + key + "' = " + json_excerpt(value) + ": " + why);
}

bool given(const json& j, const char* key) {
  return j.contains(key) && !j[key].is_null();
}

int64_t get_int(const json& j, const char* key, const std::string& label, int64_t def) {
  if (!given(j, key)) {
    if (def >= 0) return def;
    throw InputError("'" + label + "': key '" + key + "' is missing");
  }
  if (!j[key].is_number_integer())
    throw InputError("'" + label + "': key '" + key + "' must be an integer, got " +
                     json_excerpt(j[key]));
  return j[key].get<int64_t>();
}

double get_number(const json& j, const char* key, const std::string& label, double def) {
  if (!given(j, key)) return def;
  if (!j[key].is_number()) refuse(label, key, j[key], "must be a number");
  return j[key].get<double>();
}

bool get_bool(const json& j, const char* key, const std::string& label, bool def) {
  if (!given(j, key)) return def;
  if (!j[key].is_boolean()) refuse(label, key, j[key], "must be true or false");
  return j[key].get<bool>();
}

int64_t first_token_id(const json& j, const char* key) {
  if (!given(j, key)) return -1;
  if (j[key].is_number_integer()) return j[key].get<int64_t>();
  if (j[key].is_array() && !j[key].empty() && j[key][0].is_number_integer())
    return j[key][0].get<int64_t>();
  return -1;
}

bool null_or_silu(const json& v) {
  return v.is_null() || (v.is_string() && (v == "silu" || v == "swish"));
}

namespace {

// Keys of other architectures that change the numerics: refused unless their value is one that
// changes nothing (transformers' class for a family that does not read one ignores it, so a
// config carrying one describes a model that class would compute wrongly). A family's own keys
// are skipped (refuse_foreign_keys) and read by ModelConfig::from_json.
struct ForeignKey {
  const char* key;
  const char* what;
  bool (*harmless)(const json& v, const ModelConfig& c);
};
bool no_value(const json& v, const ModelConfig&) {
  return v.is_null();
}
bool null_or_false(const json& v, const ModelConfig&) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>());
}
bool null_or_true(const json& v, const ModelConfig&) {
  return v.is_null() || (v.is_boolean() && v.get<bool>());
}
bool null_or_one(const json& v, const ModelConfig&) {
  return v.is_null() || (v.is_number() && v.get<double>() == 1.0);
}
bool null_or_zero(const json& v, const ModelConfig&) {
  return v.is_null() || (v.is_number() && v.get<double>() == 0.0);
}
bool null_or_head_dim(const json& v, const ModelConfig& c) {
  return v.is_null() || (v.is_number() && v.get<double>() == double(c.head_dim));
}
bool no_qk_norm(const json& v, const ModelConfig& c) {  // qwen3 has them anyway
  return c.qk_norm() || null_or_false(v, c);
}
bool silu_key(const json& v, const ModelConfig&) {
  return null_or_silu(v);
}
bool rope_everywhere(const json& v, const ModelConfig&) {  // no_rope_layers: 1 = rotary used
  if (v.is_null()) return true;
  if (!v.is_array()) return false;
  for (const auto& e : v)
    if (!e.is_number() || e.get<double>() == 0.0) return false;
  return true;
}

const ForeignKey kForeignKeys[] = {
    {"attn_logit_softcapping",
     "attention logit soft-capping is implemented for gemma2 only (transformers' other "
     "families ignore it)",
     no_value},
    {"final_logit_softcapping",
     "final logit soft-capping is implemented for gemma2 and gemma3_text only (transformers' "
     "other families ignore it)",
     no_value},
    {"query_pre_attn_scalar",
     "attention scaled by 1/sqrt(query_pre_attn_scalar) instead of 1/sqrt(head_dim) is "
     "implemented for gemma2 and gemma3_text only",
     null_or_head_dim},
    {"hidden_activation", "only the SiLU (SwiGLU) MLP is implemented", silu_key},
    {"partial_rotary_factor", "rotary embedding on part of each head is implemented for phi3 only",
     null_or_one},
    {"rotary_pct", "rotary embedding on part of each head is not implemented", null_or_one},
    {"rotary_dim", "rotary embedding on part of each head is not implemented", null_or_head_dim},
    {"use_qk_norm", "query/key norms are implemented for qwen3 and gemma3_text only", no_qk_norm},
    {"qk_layernorm", "query/key norms are implemented for qwen3 and gemma3_text only", no_qk_norm},
    {"qk_norm", "query/key norms are implemented for qwen3 and gemma3_text only", no_qk_norm},
    {"no_rope_layers", "layers without rotary embedding are not implemented", rope_everywhere},
    {"nope_layer_interval", "layers without rotary embedding are not implemented", no_value},
    {"use_rope", "a decoder without rotary embedding is not implemented", null_or_true},
    {"attn_temperature_tuning", "attention temperature tuning (Llama 4) is not implemented",
     null_or_false},
    {"attention_multiplier", "Granite's scale factors are not implemented", null_or_one},
    {"embedding_multiplier", "Granite's scale factors are not implemented", null_or_one},
    {"residual_multiplier", "Granite's scale factors are not implemented", null_or_one},
    {"logits_scaling", "Granite's scale factors are not implemented", null_or_one},
    {"scale_emb", "MiniCPM's scale factors are not implemented", null_or_one},
    {"scale_depth", "MiniCPM's scale factors are not implemented", null_or_one},
    {"dim_model_base", "MiniCPM's scale factors are not implemented", no_value},
    {"logit_scale", "logit scaling (Cohere) is not implemented", null_or_one},
    {"clip_qkv", "query/key/value clipping (OLMo) is not implemented", no_value},
    {"use_parallel_residual", "parallel attention/MLP residuals are not implemented",
     null_or_false},
    {"num_local_experts", "mixture-of-experts MLPs are not implemented", null_or_zero},
    {"num_experts", "mixture-of-experts MLPs are not implemented", null_or_zero},
    {"n_routed_experts", "mixture-of-experts MLPs are not implemented", null_or_zero},
    {"sliding_window_pattern", "the local/global layer pattern is read for gemma3_text only",
     no_value},
    {"rope_local_base_freq", "per-layer rotary bases are implemented for gemma3_text only",
     no_value},
    {"use_mrope", "multimodal rotary embedding (Qwen2-VL) is not implemented", null_or_false},
    {"use_bidirectional_attention",
     "bidirectional attention (EmbeddingGemma) is not implemented (Basin's decoders are causal)",
     null_or_false},
    {"quantization_config", "quantised checkpoints are not supported (Basin reads float weights)",
     no_value},
};

// YaRN's keys (Peng et al. 2023), read as transformers ≥ 4.56 and 5.x read them
// (_compute_yarn_parameters); what its versions or its silent fallbacks leave ambiguous is
// refused (docs/MODELS.md).
void parse_yarn(const json& r, const std::string& key, const std::string& label, RopeScaling& s) {
  const auto positive_number = [&](const char* k, double def) {
    if (!given(r, k)) return def;
    if (!r[k].is_number() || !(r[k].get<double>() > 0))
      refuse(label, key + "." + k, r[k], "must be a positive number");
    return r[k].get<double>();
  };
  if (!(s.factor >= 1))
    refuse(label, key + ".factor", r["factor"],
           "must be at least 1 for yarn (transformers warns, and its versions disagree on the "
           "attention factor below 1)");
  s.original_max_position_embeddings = 0;
  if (r.contains("original_max_position_embeddings") &&
      r["original_max_position_embeddings"].is_null())  // versions read null differently
    refuse(label, key + ".original_max_position_embeddings", nullptr,
           "must be a positive integer (or absent)");
  if (given(r, "original_max_position_embeddings")) {
    const double orig = positive_number("original_max_position_embeddings", 0);
    if (!(orig >= 1) || orig != double(int64_t(orig)) || orig > 1e12)
      refuse(label, key + ".original_max_position_embeddings",
             r["original_max_position_embeddings"], "must be a positive integer");
    s.original_max_position_embeddings = int64_t(orig);
  }
  // transformers reads `beta_fast or 32`: 0 would silently become the default.
  s.beta_fast = positive_number("beta_fast", 32);
  s.beta_slow = positive_number("beta_slow", 1);
  if (s.beta_fast < s.beta_slow)
    refuse(label, key, r,
           "beta_fast must be at least beta_slow (transformers warns; the ramp would run "
           "backwards)");
  s.attention_factor = positive_number("attention_factor", 0);
  s.mscale = positive_number("mscale", 0);
  s.mscale_all_dim = positive_number("mscale_all_dim", 0);
  if ((s.mscale > 0) != (s.mscale_all_dim > 0))
    refuse(label, key + (s.mscale > 0 ? ".mscale" : ".mscale_all_dim"),
           r[s.mscale > 0 ? "mscale" : "mscale_all_dim"],
           "transformers uses mscale only together with mscale_all_dim and silently ignores "
           "one alone; Basin refuses rather than guess");
  if (given(r, "truncate")) {
    if (!r["truncate"].is_boolean())
      refuse(label, key + ".truncate", r["truncate"], "must be true or false");
    s.truncate = r["truncate"].get<bool>();
  } else if (r.contains("truncate")) {  // null: transformers reads None, i.e. no truncation
    refuse(label, key + ".truncate", r["truncate"], "must be true or false");
  }
}

}  // namespace

const char* const kRopeTypes = "default, linear, dynamic, llama3 and yarn";

RopeScaling parse_rope(const json& r, const std::string& key, const ModelConfig& c,
                       const std::string& label, double* theta, double* partial) {
  if (!r.is_object()) refuse(label, key, r, "must be an object");
  for (const auto& [k, v] : r.items())
    if (v.is_object())
      refuse(label, key, r, "per-layer-type rotary parameters are not implemented");
  RopeScaling s;
  const bool has_rt = given(r, "rope_type"), has_t = given(r, "type");
  if (has_rt && !r["rope_type"].is_string())
    refuse(label, key + ".rope_type", r["rope_type"], "must be a string");
  if (has_t && !r["type"].is_string()) refuse(label, key + ".type", r["type"], "must be a string");
  if (has_rt && has_t && r["rope_type"] != r["type"])
    refuse(label, key, r, "'rope_type' and 'type' disagree");
  if (has_rt || has_t) {
    s.type = (has_rt ? r["rope_type"] : r["type"]).get<std::string>();
  } else {
    for (const auto& [k, v] : r.items())
      if (k != "rope_theta" && k != "partial_rotary_factor")
        refuse(label, key, r, "names no rope_type, so its scaling is ambiguous");
  }
  if (s.type != "default" && s.type != "linear" && s.type != "dynamic" && s.type != "llama3" &&
      s.type != "yarn")
    refuse(label, key, r,
           "rotary scaling '" + excerpt(s.type) + "' is not implemented (Basin implements " +
               kRopeTypes + ")");
  const auto number = [&](const char* k, bool required, double def) {
    if (!given(r, k)) {
      if (required)
        refuse(label, key, r, "rope type '" + s.type + "' needs '" + std::string(k) + "'");
      return def;
    }
    if (!r[k].is_number()) refuse(label, key + "." + k, r[k], "must be a number");
    return r[k].get<double>();
  };
  for (const auto& [k, v] : r.items()) {
    const bool known =
        k == "rope_type" || k == "type" || k == "rope_theta" || k == "partial_rotary_factor" ||
        (s.type != "default" && k == "factor") ||
        (s.type == "llama3" && (k == "low_freq_factor" || k == "high_freq_factor")) ||
        ((s.type == "llama3" || s.type == "dynamic" || s.type == "yarn") &&
         k == "original_max_position_embeddings") ||
        (s.type == "yarn" && (k == "attention_factor" || k == "beta_fast" || k == "beta_slow" ||
                              k == "mscale" || k == "mscale_all_dim" || k == "truncate"));
    if (!known)
      refuse(label, key + "." + k, v,
             "not used by rotary scaling '" + s.type +
                 "' (transformers ignores it with a warning); Basin refuses rather than guess");
  }
  if (partial && given(r, "partial_rotary_factor"))
    *partial = number("partial_rotary_factor", true, 1.0);
  else if (number("partial_rotary_factor", false, 1.0) != 1.0)
    refuse(label, key + ".partial_rotary_factor", r["partial_rotary_factor"],
           "rotary embedding on part of each head is implemented for phi3 only");
  if (given(r, "rope_theta")) *theta = number("rope_theta", true, 0.0);
  if (s.type == "default") return s;
  s.factor = number("factor", true, 1.0);
  if (!(s.factor > 0)) refuse(label, key + ".factor", r["factor"], "must be positive");
  if (s.type == "dynamic" && given(r, "original_max_position_embeddings") &&
      number("original_max_position_embeddings", true, 0) != double(c.max_position_embeddings))
    refuse(label, key + ".original_max_position_embeddings", r["original_max_position_embeddings"],
           "transformers' dynamic scaling ignores it and uses max_position_embeddings (" +
               std::to_string(c.max_position_embeddings) +
               "); the two disagree, so Basin refuses rather than guess");
  if (s.type == "llama3") {
    s.low_freq_factor = number("low_freq_factor", true, 0);
    s.high_freq_factor = number("high_freq_factor", true, 0);
    const double orig = number("original_max_position_embeddings", true, 0);
    if (!(orig >= 1) || orig != double(int64_t(orig)))
      refuse(label, key + ".original_max_position_embeddings",
             r["original_max_position_embeddings"], "must be a positive integer");
    s.original_max_position_embeddings = int64_t(orig);
    if (!(s.low_freq_factor > 0) || !(s.high_freq_factor > s.low_freq_factor))
      refuse(label, key, r, "llama3 scaling needs 0 < low_freq_factor < high_freq_factor");
  }
  if (s.type == "yarn") parse_yarn(r, key, label, s);
  return s;
}

void refuse_foreign_keys(const json& j, const ModelConfig& c, const std::string& label) {
  // The keys a family reads itself (ModelConfig::from_json implements or refuses their values).
  const auto own = [&](const char* key) {
    const auto is = [&](const char* k) { return std::strcmp(key, k) == 0; };
    if (c.gemma() && (is("attn_logit_softcapping") || is("final_logit_softcapping") ||
                      is("query_pre_attn_scalar") || is("hidden_activation")))
      return true;
    if (c.model_type == "gemma3_text" &&
        (is("sliding_window_pattern") || is("rope_local_base_freq")))
      return true;
    return c.model_type == "phi3" && is("partial_rotary_factor");
  };
  for (const auto& f : kForeignKeys)
    if (j.contains(f.key) && !own(f.key) && !f.harmless(j[f.key], c))
      refuse(label, f.key, j[f.key], f.what);
}

}  // namespace basin::config_keys
