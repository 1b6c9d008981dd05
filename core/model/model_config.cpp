#include "model/model_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& label, const std::string& key, const json& value,
                         const std::string& why) {
  throw InputError("'" + label + "': key '" + key + "' = " + json_excerpt(value) + ": " + why);
}

bool given(const json& j, const char* key) {
  return j.contains(key) && !j[key].is_null();
}

int64_t get_int(const json& j, const char* key, const std::string& label, int64_t def = -1) {
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

// Keys of other architectures that change the numerics: refused unless their value is one that
// changes nothing (transformers' Llama / Qwen2 / Qwen3 / Mistral never read them, so a config
// carrying one describes a model these classes would compute wrongly).
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
bool null_or_silu(const json& v, const ModelConfig&) {
  return v.is_null() || (v.is_string() && (v == "silu" || v == "swish"));
}
bool rope_everywhere(const json& v, const ModelConfig&) {  // no_rope_layers: 1 = rotary used
  if (v.is_null()) return true;
  if (!v.is_array()) return false;
  for (const auto& e : v)
    if (!e.is_number() || e.get<double>() == 0.0) return false;
  return true;
}

const ForeignKey kForeignKeys[] = {
    {"attn_logit_softcapping", "attention logit soft-capping (Gemma 2) is not implemented",
     no_value},
    {"final_logit_softcapping", "final logit soft-capping (Gemma 2) is not implemented", no_value},
    {"query_pre_attn_scalar",
     "attention scaled by 1/sqrt(query_pre_attn_scalar) instead of 1/sqrt(head_dim) (Gemma) is "
     "not implemented",
     null_or_head_dim},
    {"hidden_activation", "only the SiLU (SwiGLU) MLP is implemented", null_or_silu},
    {"partial_rotary_factor", "rotary embedding on part of each head is not implemented",
     null_or_one},
    {"rotary_pct", "rotary embedding on part of each head is not implemented", null_or_one},
    {"rotary_dim", "rotary embedding on part of each head is not implemented", null_or_head_dim},
    {"use_qk_norm", "query/key norms are implemented for qwen3 only", no_qk_norm},
    {"qk_layernorm", "query/key norms are implemented for qwen3 only", no_qk_norm},
    {"qk_norm", "query/key norms are implemented for qwen3 only", no_qk_norm},
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
    {"sliding_window_pattern", "alternating local/global attention (Gemma 3) is not implemented",
     no_value},
    {"rope_local_base_freq", "per-layer rotary bases (Gemma 3) are not implemented", no_value},
    {"use_mrope", "multimodal rotary embedding (Qwen2-VL) is not implemented", null_or_false},
    {"quantization_config", "quantised checkpoints are not supported (Basin reads float weights)",
     no_value},
};

const char* const kRopeTypes = "default, linear, dynamic and llama3";

// rope_scaling / rope_parameters: the types Basin implements exactly, every other refused.
// `theta` receives rope_parameters' rope_theta when it names one.
RopeScaling parse_rope(const json& r, const std::string& key, const ModelConfig& c,
                       const std::string& label, double* theta) {
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
  if (s.type != "default" && s.type != "linear" && s.type != "dynamic" && s.type != "llama3")
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
        ((s.type == "llama3" || s.type == "dynamic") && k == "original_max_position_embeddings");
    if (!known)
      refuse(label, key + "." + k, v,
             "not used by rotary scaling '" + s.type +
                 "' (transformers ignores it with a warning); Basin refuses rather than guess");
  }
  if (number("partial_rotary_factor", false, 1.0) != 1.0)
    refuse(label, key + ".partial_rotary_factor", r["partial_rotary_factor"],
           "rotary embedding on part of each head is not implemented");
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
  return s;
}

// sliding_window's value: absent = the family's default, null = none, else a positive integer.
int64_t window_value(const json& j, const std::string& label, int64_t def) {
  if (!j.contains("sliding_window")) return def;
  if (j["sliding_window"].is_null()) return 0;
  if (!j["sliding_window"].is_number_integer() || j["sliding_window"].get<int64_t>() <= 0)
    refuse(label, "sliding_window", j["sliding_window"], "must be a positive integer or null");
  return j["sliding_window"].get<int64_t>();
}

// Which layers use the sliding window, exactly as transformers' config classes derive it:
// Qwen2 / Qwen3 only with use_sliding_window, on layers ≥ max_window_layers unless layer_types
// says otherwise; Mistral on every layer while sliding_window is set; Llama never.
void parse_sliding(const json& j, ModelConfig& c, const std::string& label) {
  const int64_t L = c.num_hidden_layers;
  std::vector<bool> layers(static_cast<size_t>(L), false);
  int64_t window = 0;
  if (c.model_type == "qwen2" || c.model_type == "qwen3") {
    const int64_t first = get_int(j, "max_window_layers", label, 28);
    if (get_bool(j, "use_sliding_window", label, false)) window = window_value(j, label, 4096);
    for (int64_t l = std::max<int64_t>(first, 0); l < L; ++l)
      layers[static_cast<size_t>(l)] = true;
  } else if (c.model_type == "mistral") {
    window = window_value(j, label, 4096);
    layers.assign(static_cast<size_t>(L), true);
  } else if (given(j, "sliding_window") && get_bool(j, "use_sliding_window", label, true) &&
             window_value(j, label, 0) < c.max_position_embeddings) {
    refuse(label, "sliding_window", j["sliding_window"],
           "transformers' " + c.model_type +
               " model ignores it but a model trained with it needs it; Basin refuses rather "
               "than guess (a window of at least max_position_embeddings is accepted)");
  }
  if (given(j, "layer_types")) {
    const auto& lt = j["layer_types"];
    if (!lt.is_array() || static_cast<int64_t>(lt.size()) != L)
      refuse(label, "layer_types", lt, "must list one type per layer");
    std::vector<bool> given_layers;
    for (const auto& t : lt) {
      if (t != "full_attention" && t != "sliding_attention")
        refuse(label, "layer_types", lt,
               "layer type " + json_excerpt(t) +
                   " is not implemented (full_attention and sliding_attention are)");
      given_layers.push_back(t == "sliding_attention");
    }
    if (c.model_type == "qwen2" || c.model_type == "qwen3") {
      layers = given_layers;
    } else if (given_layers != (window > 0 ? layers : std::vector<bool>(layers.size(), false))) {
      refuse(label, "layer_types", lt,
             "transformers' " + c.model_type +
                 " model does not read it and it disagrees with "
                 "sliding_window; Basin refuses rather than guess");
    }
  }
  bool any = false;
  for (bool b : layers)
    any = any || b;
  if (window > 0 && any) {
    c.sliding_window = window;
    c.sliding_layers = layers;
  }
}

}  // namespace

bool RopeScaling::operator==(const RopeScaling& o) const {
  if (type != o.type) return false;
  if (type == "default") return true;
  if (factor != o.factor) return false;
  return type != "llama3" ||
         (low_freq_factor == o.low_freq_factor && high_freq_factor == o.high_freq_factor &&
          original_max_position_embeddings == o.original_max_position_embeddings);
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& label) {
  if (!j.is_object()) throw InputError("'" + label + "' is not a JSON object");
  ModelConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string())
    throw InputError("'" + label + "': key 'model_type' is missing");
  c.model_type = j["model_type"].get<std::string>();
  const auto& type = c.model_type;
  if (type != "qwen2" && type != "qwen3" && type != "llama" && type != "mistral")
    throw InputError("'" + label + "': model_type '" + excerpt(c.model_type) +
                     "' is not supported (expected qwen2, qwen3, llama or mistral)");
  c.vocab_size = get_int(j, "vocab_size", label);
  c.hidden_size = get_int(j, "hidden_size", label);
  c.intermediate_size = get_int(j, "intermediate_size", label);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", label);
  // Per-layer tables (sliding layers, layer_types) are sized from it before validate() runs.
  if (c.num_hidden_layers > kMaxLayers)
    refuse(label, "num_hidden_layers", j["num_hidden_layers"],
           "is more than Basin handles (at most " + std::to_string(kMaxLayers) + " layers)");
  c.num_attention_heads = get_int(j, "num_attention_heads", label);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", label, c.num_attention_heads);
  // Qwen3Config's default head_dim is 128, not hidden / heads: ask for it rather than guess.
  if (type == "qwen3" && !given(j, "head_dim"))
    throw InputError("'" + label + "': key 'head_dim' is missing (qwen3 configs name it)");
  c.head_dim = get_int(j, "head_dim", label,
                       c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0);
  // The families' own defaults (transformers' LlamaConfig, Qwen2/3Config, MistralConfig).
  c.max_position_embeddings = get_int(j, "max_position_embeddings", label,
                                      type == "llama"     ? 2048
                                      : type == "mistral" ? 4096 * 32
                                                          : 32768);
  c.rms_norm_eps = get_number(j, "rms_norm_eps", label, 1e-6);
  c.rope_theta = get_number(j, "rope_theta", label, 10000.0);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", label, false);
  if (given(j, "hidden_act") && !null_or_silu(j["hidden_act"], c))
    refuse(label, "hidden_act", j["hidden_act"], "only the SiLU (SwiGLU) MLP is implemented");

  // Rotary scaling, from rope_scaling (transformers 4) or rope_parameters (transformers 5).
  double theta = c.rope_theta;
  if (given(j, "rope_parameters"))
    c.rope_scaling = parse_rope(j["rope_parameters"], "rope_parameters", c, label, &theta);
  if (given(j, "rope_scaling")) {
    double theta2 = theta;
    const auto s = parse_rope(j["rope_scaling"], "rope_scaling", c, label, &theta2);
    if (given(j, "rope_parameters") && (!(s == c.rope_scaling) || theta2 != theta))
      refuse(label, "rope_scaling", j["rope_scaling"], "disagrees with rope_parameters");
    c.rope_scaling = s;
    theta = theta2;
  }
  if (given(j, "rope_theta") && theta != c.rope_theta)
    refuse(label, "rope_theta", j["rope_theta"], "disagrees with rope_parameters.rope_theta");
  c.rope_theta = theta;

  // Biases, as each family's modeling code creates them.
  const bool attn_bias = get_bool(j, "attention_bias", label, type == "qwen2");
  if (type == "qwen2" && !attn_bias)
    refuse(label, "attention_bias", j["attention_bias"],
           "transformers' qwen2 always has q/k/v biases and ignores this key");
  if (type == "mistral" && attn_bias)
    refuse(label, "attention_bias", j["attention_bias"],
           "transformers' mistral has no attention biases and ignores this key");
  c.attention_bias = attn_bias;
  c.mlp_bias = get_bool(j, "mlp_bias", label, false);
  if (c.mlp_bias && type != "llama")
    refuse(label, "mlp_bias", j["mlp_bias"],
           "transformers' " + type + " has no MLP biases and ignores this key");

  parse_sliding(j, c, label);
  for (const auto& f : kForeignKeys)
    if (j.contains(f.key) && !f.harmless(j[f.key], c)) refuse(label, f.key, j[f.key], f.what);
  c.bos_token_id = first_token_id(j, "bos_token_id");
  c.eos_token_id = first_token_id(j, "eos_token_id");
  c.pad_token_id = first_token_id(j, "pad_token_id");
  c.validate(label);
  return c;
}

void ModelConfig::validate(const std::string& label) const {
  auto positive = [&](int64_t v, const char* key) {
    if (v <= 0)
      throw InputError("'" + label + "': key '" + key + "' must be positive, got " +
                       std::to_string(v));
  };
  if (model_type != "qwen2" && model_type != "qwen3" && model_type != "llama" &&
      model_type != "mistral")
    throw InputError("'" + label + "': model_type '" + excerpt(model_type) + "' is not supported");
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  if (num_hidden_layers > kMaxLayers)
    throw InputError("'" + label + "': num_hidden_layers " + std::to_string(num_hidden_layers) +
                     " is more than Basin handles (at most " + std::to_string(kMaxLayers) + ")");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(max_position_embeddings, "max_position_embeddings");
  if (num_attention_heads % num_key_value_heads != 0)
    throw InputError(
        "'" + label + "': num_attention_heads (" + std::to_string(num_attention_heads) +
        ") is not a multiple of num_key_value_heads (" + std::to_string(num_key_value_heads) + ")");
  if (head_dim % 2 != 0)
    throw InputError("'" + label + "': head_dim must be even for rotary embeddings");
  if (!(rms_norm_eps > 0)) throw InputError("'" + label + "': rms_norm_eps must be positive");
  if (!(rope_theta > 0)) throw InputError("'" + label + "': rope_theta must be positive");
  const auto& r = rope_scaling;
  if (r.type != "default" && r.type != "linear" && r.type != "dynamic" && r.type != "llama3")
    throw InputError("'" + label + "': rotary scaling '" + excerpt(r.type) +
                     "' is not implemented (Basin implements " + kRopeTypes + ")");
  if (!(r.factor > 0)) throw InputError("'" + label + "': rope_scaling.factor must be positive");
  if (r.type == "dynamic" && head_dim <= 2)
    throw InputError("'" + label + "': dynamic rotary scaling needs head_dim > 2");
  if (r.type == "llama3" &&
      (!(r.low_freq_factor > 0) || !(r.high_freq_factor > r.low_freq_factor) ||
       r.original_max_position_embeddings <= 0))
    throw InputError("'" + label + "': llama3 rotary scaling needs 0 < low_freq_factor < " +
                     "high_freq_factor and a positive original_max_position_embeddings");
  if (model_type == "qwen2" && !attention_bias)
    throw InputError("'" + label + "': qwen2 always has q/k/v biases (attention_bias)");
  if (model_type == "mistral" && attention_bias)
    throw InputError("'" + label + "': mistral has no attention biases (attention_bias)");
  if (mlp_bias && model_type != "llama")
    throw InputError("'" + label + "': mlp_bias is a llama key");
  if (sliding_window < 0 ||
      (sliding_window > 0 && static_cast<int64_t>(sliding_layers.size()) != num_hidden_layers))
    throw InputError("'" + label + "': sliding_window needs one sliding_layers entry per layer");
  if (sliding_window > 0 && model_type == "llama")
    throw InputError("'" + label + "': transformers' llama has no sliding window");
}

ModelConfig ModelConfig::load(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  if (!std::filesystem::exists(path))
    throw InputError("missing config.json in model folder '" + dir.string() + "'");
  return from_json(read_json_file(path), path.string());
}

json ModelConfig::to_json() const {
  json j = {{"model_type", model_type},
            {"architectures",
             {model_type == "qwen2"     ? "Qwen2ForCausalLM"
              : model_type == "qwen3"   ? "Qwen3ForCausalLM"
              : model_type == "mistral" ? "MistralForCausalLM"
                                        : "LlamaForCausalLM"}},
            {"vocab_size", vocab_size},
            {"hidden_size", hidden_size},
            {"intermediate_size", intermediate_size},
            {"num_hidden_layers", num_hidden_layers},
            {"num_attention_heads", num_attention_heads},
            {"num_key_value_heads", num_key_value_heads},
            {"head_dim", head_dim},
            {"rms_norm_eps", rms_norm_eps},
            {"rope_theta", rope_theta},
            {"rope_scaling", nullptr},
            {"max_position_embeddings", max_position_embeddings},
            {"tie_word_embeddings", tie_word_embeddings},
            {"hidden_act", "silu"},
            {"torch_dtype", "float32"}};
  if (rope_scaling.type != "default") {
    auto& r = j["rope_scaling"];
    r = {{"rope_type", rope_scaling.type}, {"factor", rope_scaling.factor}};
    if (rope_scaling.type == "llama3") {
      r["low_freq_factor"] = rope_scaling.low_freq_factor;
      r["high_freq_factor"] = rope_scaling.high_freq_factor;
      r["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    }
  }
  if (model_type != "qwen2") j["attention_bias"] = attention_bias;
  if (model_type == "llama") j["mlp_bias"] = mlp_bias;
  if (model_type == "mistral") {
    j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
  } else if (model_type != "llama") {
    // use_sliding_window + max_window_layers, as transformers derives the layer types; an
    // explicit layer_types only when the sliding layers are not the ones from there on.
    int64_t first = num_hidden_layers;
    bool suffix = true;
    json types = json::array();
    for (int64_t l = 0; l < num_hidden_layers; ++l) {
      if (layer_slides(l) && first == num_hidden_layers) first = l;
      suffix = suffix && layer_slides(l) == (l >= first);
      types.push_back(layer_slides(l) ? "sliding_attention" : "full_attention");
    }
    j["use_sliding_window"] = sliding_window > 0;
    j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
    j["max_window_layers"] = first;
    if (!suffix) j["layer_types"] = types;
  }
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  return j;
}

}  // namespace basin
