#include "model/model_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "model/config_keys.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

using namespace config_keys;

const char* const kModelTypes = "qwen2, qwen3, llama, mistral, gemma2, gemma3_text or phi3";

bool known_type(const std::string& t) {
  return t == "qwen2" || t == "qwen3" || t == "llama" || t == "mistral" || t == "gemma2" ||
         t == "gemma3_text" || t == "phi3";
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
// says otherwise; Mistral and Phi-3 on every layer while sliding_window is set; Gemma 2 on the
// even layers, Gemma 3 on all but every sliding_window_pattern-th (both unless layer_types says
// otherwise); Llama never.
void parse_sliding(const json& j, ModelConfig& c, const std::string& label) {
  const int64_t L = c.num_hidden_layers;
  std::vector<bool> layers(static_cast<size_t>(L), false);
  int64_t window = 0;
  const bool own_types = c.model_type == "qwen2" || c.model_type == "qwen3" || c.gemma();
  if (c.model_type == "qwen2" || c.model_type == "qwen3") {
    const int64_t first = get_int(j, "max_window_layers", label, 28);
    if (get_bool(j, "use_sliding_window", label, false)) window = window_value(j, label, 4096);
    for (int64_t l = std::max<int64_t>(first, 0); l < L; ++l)
      layers[static_cast<size_t>(l)] = true;
  } else if (c.model_type == "mistral" || c.model_type == "phi3") {
    window = window_value(j, label, c.model_type == "mistral" ? 4096 : 0);
    layers.assign(static_cast<size_t>(L), true);
  } else if (c.gemma()) {
    window = window_value(j, label, 4096);
    if (window == 0)
      refuse(label, "sliding_window", j["sliding_window"],
             "Gemma's local layers need a window (transformers' " + c.model_type +
                 " has no meaning for null); Basin refuses rather than guess");
    // Gemma 2: layer_idx % 2 == 0 slides; Gemma 3: (layer_idx + 1) % pattern != 0 slides.
    const int64_t pattern =
        c.model_type == "gemma2" ? 2 : get_int(j, "sliding_window_pattern", label, 6);
    if (pattern <= 0)
      refuse(label, "sliding_window_pattern", j["sliding_window_pattern"], "must be positive");
    for (int64_t l = 0; l < L; ++l)
      layers[static_cast<size_t>(l)] = (l + 1) % pattern != 0;
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
    if (own_types) {
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

// Gemma 2 / 3's own keys: the GeGLU activation, the attention scale and soft-capping.
void parse_gemma(const json& j, ModelConfig& c, const std::string& label) {
  const bool g3 = c.model_type == "gemma3_text";
  // transformers' Gemma 2 / 3 read hidden_activation only (default gelu_pytorch_tanh).
  const json act =
      given(j, "hidden_activation") ? j["hidden_activation"] : json("gelu_pytorch_tanh");
  if (act != "gelu_pytorch_tanh")
    refuse(label, "hidden_activation", act,
           "Basin implements Gemma's GeGLU with gelu_pytorch_tanh only");
  if (given(j, "hidden_act") && j["hidden_act"] != act)
    refuse(label, "hidden_act", j["hidden_act"],
           "transformers' " + c.model_type + " ignores it and uses hidden_activation (" +
               json_excerpt(act) + "); the two disagree, so Basin refuses rather than guess");
  c.hidden_act = "gelu_pytorch_tanh";
  c.query_pre_attn_scalar = get_number(j, "query_pre_attn_scalar", label, 256);
  if (!(c.query_pre_attn_scalar > 0))
    refuse(label, "query_pre_attn_scalar", j["query_pre_attn_scalar"], "must be positive");
  // Absent = the class default (Gemma 2: 50 and 30; Gemma 3: none); null = none.
  const auto cap = [&](const char* key, double def) {
    if (!j.contains(key)) return def;
    if (j[key].is_null()) return 0.0;
    const double v = get_number(j, key, label, 0);
    if (!(v > 0)) refuse(label, key, j[key], "must be positive or null");
    return v;
  };
  c.attn_logit_softcapping = cap("attn_logit_softcapping", g3 ? 0 : 50);
  c.final_logit_softcapping = cap("final_logit_softcapping", g3 ? 0 : 30);
  if (g3 && c.attn_logit_softcapping > 0)
    refuse(label, "attn_logit_softcapping", j["attn_logit_softcapping"],
           "transformers' gemma3_text attention ignores it but a model trained with it needs "
           "it; Basin refuses rather than guess");
  if (g3) {
    c.rope_local_base_freq = get_number(j, "rope_local_base_freq", label, 10000.0);
    if (!(c.rope_local_base_freq > 0))
      refuse(label, "rope_local_base_freq", j["rope_local_base_freq"], "must be positive");
  }
}

// transformers 5's Gemma 3 rope_parameters, one setting per layer type: the full-attention
// layers' scaling and theta, and the sliding layers' theta (plain RoPE only).
void parse_gemma3_rope_parameters(const json& j, ModelConfig& c, const std::string& label,
                                  double* theta) {
  const json& rp = j["rope_parameters"];
  for (const auto& [k, v] : rp.items())
    if (k != "full_attention" && k != "sliding_attention")
      refuse(label, "rope_parameters." + k, v,
             "is not a layer type Basin implements (full_attention and sliding_attention are)");
  if (given(rp, "full_attention"))
    c.rope_scaling =
        parse_rope(rp["full_attention"], "rope_parameters.full_attention", c, label, theta);
  if (given(rp, "sliding_attention")) {
    double local = c.rope_local_base_freq;
    const auto s =
        parse_rope(rp["sliding_attention"], "rope_parameters.sliding_attention", c, label, &local);
    if (s.type != "default")
      refuse(label, "rope_parameters.sliding_attention", rp["sliding_attention"],
             "Basin implements plain RoPE on Gemma 3's sliding layers (as transformers 4 does)");
    if (given(j, "rope_local_base_freq") && local != c.rope_local_base_freq)
      refuse(label, "rope_parameters.sliding_attention", rp["sliding_attention"],
             "disagrees with rope_local_base_freq");
    c.rope_local_base_freq = local;
  }
}

}  // namespace

bool RopeScaling::operator==(const RopeScaling& o) const {
  if (type != o.type) return false;
  if (type == "default") return true;
  if (factor != o.factor) return false;
  if (type == "yarn")
    return original_max_position_embeddings == o.original_max_position_embeddings &&
           attention_factor == o.attention_factor && mscale == o.mscale &&
           mscale_all_dim == o.mscale_all_dim && beta_fast == o.beta_fast &&
           beta_slow == o.beta_slow && truncate == o.truncate;
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
  if (type == "gemma3")
    throw InputError("'" + label +
                     "': model_type 'gemma3' is the multimodal Gemma 3 (a text_config inside "
                     "a vision-language model, weights under language_model); Basin reads "
                     "text-only Gemma 3 checkpoints (model_type gemma3_text, e.g. Gemma 3 1B)");
  if (!known_type(type))
    throw InputError("'" + label + "': model_type '" + excerpt(c.model_type) +
                     "' is not supported (expected " + kModelTypes + ")");
  c.vocab_size = get_int(j, "vocab_size", label);
  c.hidden_size = get_int(j, "hidden_size", label);
  c.intermediate_size = get_int(j, "intermediate_size", label);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", label);
  // Per-layer tables (sliding layers, layer_types) are sized from it before validate() runs.
  if (c.num_hidden_layers <= 0)
    refuse(label, "num_hidden_layers", j["num_hidden_layers"], "must be positive");
  if (c.num_hidden_layers > kMaxLayers)
    refuse(label, "num_hidden_layers", j["num_hidden_layers"],
           "is more than Basin handles (at most " + std::to_string(kMaxLayers) + " layers)");
  c.num_attention_heads = get_int(j, "num_attention_heads", label);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", label, c.num_attention_heads);
  // Qwen3Config's default head_dim is 128 and Gemma2/3's 256, not hidden / heads: ask for it
  // rather than guess.
  if ((type == "qwen3" || c.gemma()) && !given(j, "head_dim"))
    throw InputError("'" + label + "': key 'head_dim' is missing (" + type + " configs name it)");
  c.head_dim = get_int(j, "head_dim", label,
                       c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0);
  // The families' own defaults (transformers' LlamaConfig, Qwen2/3Config, MistralConfig,
  // Gemma2Config, Gemma3TextConfig, Phi3Config).
  c.max_position_embeddings = get_int(j, "max_position_embeddings", label,
                                      type == "llama"         ? 2048
                                      : type == "mistral"     ? 4096 * 32
                                      : type == "gemma2"      ? 8192
                                      : type == "gemma3_text" ? 131072
                                      : type == "phi3"        ? 4096
                                                              : 32768);
  c.rms_norm_eps = get_number(j, "rms_norm_eps", label, type == "phi3" ? 1e-5 : 1e-6);
  c.rope_theta = get_number(j, "rope_theta", label, type == "gemma3_text" ? 1e6 : 10000.0);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", label, c.gemma());
  if (c.gemma())
    parse_gemma(j, c, label);
  else if (given(j, "hidden_act") && !null_or_silu(j["hidden_act"]))
    refuse(label, "hidden_act", j["hidden_act"], "only the SiLU (SwiGLU) MLP is implemented");
  // Phi-3: partial rotary (transformers reads partial_rotary_factor for phi3's rotary tables).
  if (type == "phi3") c.partial_rotary_factor = get_number(j, "partial_rotary_factor", label, 1.0);
  double* partial = type == "phi3" ? &c.partial_rotary_factor : nullptr;
  const double top_partial = c.partial_rotary_factor;

  // Rotary scaling, from rope_scaling (transformers 4) or rope_parameters (transformers 5).
  double theta = c.rope_theta;
  const bool per_type = type == "gemma3_text" && given(j, "rope_parameters") &&
                        j["rope_parameters"].is_object() &&
                        (j["rope_parameters"].contains("full_attention") ||
                         j["rope_parameters"].contains("sliding_attention"));
  if (per_type)
    parse_gemma3_rope_parameters(j, c, label, &theta);
  else if (given(j, "rope_parameters"))
    c.rope_scaling = parse_rope(j["rope_parameters"], "rope_parameters", c, label, &theta, partial);
  if (given(j, "rope_scaling")) {
    double theta2 = theta;
    const auto s = parse_rope(j["rope_scaling"], "rope_scaling", c, label, &theta2, partial);
    if (given(j, "rope_parameters") && (!(s == c.rope_scaling) || theta2 != theta))
      refuse(label, "rope_scaling", j["rope_scaling"], "disagrees with rope_parameters");
    c.rope_scaling = s;
    theta = theta2;
  }
  if (given(j, "rope_theta") && theta != c.rope_theta)
    refuse(label, "rope_theta", j["rope_theta"], "disagrees with rope_parameters.rope_theta");
  c.rope_theta = theta;
  if (given(j, "partial_rotary_factor") && c.partial_rotary_factor != top_partial)
    refuse(label, "partial_rotary_factor", j["partial_rotary_factor"],
           "disagrees with the one inside the rotary parameters");
  if (type == "phi3" && (!(c.partial_rotary_factor > 0) || c.partial_rotary_factor > 1 ||
                         c.rotary_dim() < 2 || c.rotary_dim() % 2 != 0))
    refuse(label, "partial_rotary_factor", json(c.partial_rotary_factor),
           "must rotate an even number of at least 2 of head_dim's " + std::to_string(c.head_dim) +
               " dims (int(head_dim · factor))");

  // Biases, as each family's modeling code creates them.
  const bool attn_bias = get_bool(j, "attention_bias", label, type == "qwen2");
  if (type == "qwen2" && !attn_bias)
    refuse(label, "attention_bias", j["attention_bias"],
           "transformers' qwen2 always has q/k/v biases and ignores this key");
  if ((type == "mistral" || type == "phi3") && attn_bias)
    refuse(label, "attention_bias", j["attention_bias"],
           "transformers' " + type + " has no attention biases and ignores this key");
  c.attention_bias = attn_bias;
  c.mlp_bias = get_bool(j, "mlp_bias", label, false);
  if (c.mlp_bias && type != "llama")
    refuse(label, "mlp_bias", j["mlp_bias"],
           "transformers' " + type + " has no MLP biases and ignores this key");

  parse_sliding(j, c, label);
  refuse_foreign_keys(j, c, label);
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
  if (!known_type(model_type))
    throw InputError("'" + label + "': model_type '" + excerpt(model_type) +
                     "' is not supported (expected " + kModelTypes + ")");
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
  if (r.type != "default" && r.type != "linear" && r.type != "dynamic" && r.type != "llama3" &&
      r.type != "yarn")
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
  if (r.type == "yarn" &&
      (!(r.factor >= 1) || r.original_max_position_embeddings < 0 || !(r.beta_slow > 0) ||
       !(r.beta_fast >= r.beta_slow) || r.attention_factor < 0 || r.mscale < 0 ||
       r.mscale_all_dim < 0 || (r.mscale > 0) != (r.mscale_all_dim > 0) || rope_theta == 1))
    throw InputError("'" + label + "': yarn rotary scaling needs factor ≥ 1, 0 < beta_slow ≤ " +
                     "beta_fast, mscale and mscale_all_dim both or neither, and rope_theta ≠ 1");
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
  // The families' own features (from_json refuses them elsewhere by key; this guards configs
  // built in code).
  if (hidden_act != (gemma() ? "gelu_pytorch_tanh" : "silu"))
    throw InputError("'" + label + "': " + model_type + " has no '" + excerpt(hidden_act) +
                     "' MLP activation in Basin");
  if (query_pre_attn_scalar < 0 || attn_logit_softcapping < 0 || final_logit_softcapping < 0 ||
      rope_local_base_freq < 0)
    throw InputError("'" + label + "': scalars, soft-caps and bases must not be negative");
  if (!gemma() &&
      (query_pre_attn_scalar > 0 || attn_logit_softcapping > 0 || final_logit_softcapping > 0))
    throw InputError("'" + label +
                     "': query_pre_attn_scalar and soft-capping are gemma2 / gemma3_text keys");
  if (model_type == "gemma3_text" && attn_logit_softcapping > 0)
    throw InputError("'" + label + "': transformers' gemma3_text has no attention soft-capping");
  if ((rope_local_base_freq > 0) != (model_type == "gemma3_text"))
    throw InputError("'" + label +
                     "': gemma3_text needs rope_local_base_freq (its sliding layers' rotary "
                     "base), and only it has one");
  if (partial_rotary_factor != 1.0 &&
      (model_type != "phi3" || !(partial_rotary_factor > 0) || partial_rotary_factor > 1 ||
       rotary_dim() < 2 || rotary_dim() % 2 != 0))
    throw InputError("'" + label +
                     "': partial_rotary_factor must be 1, or (phi3) rotate an even number of "
                     "head_dim's dims");
  if (model_type == "phi3" && attention_bias)
    throw InputError("'" + label + "': phi3 has no attention biases (attention_bias)");
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
             {model_type == "qwen2"         ? "Qwen2ForCausalLM"
              : model_type == "qwen3"       ? "Qwen3ForCausalLM"
              : model_type == "mistral"     ? "MistralForCausalLM"
              : model_type == "gemma2"      ? "Gemma2ForCausalLM"
              : model_type == "gemma3_text" ? "Gemma3ForCausalLM"
              : model_type == "phi3"        ? "Phi3ForCausalLM"
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
            {"hidden_act", hidden_act},
            {"torch_dtype", "float32"}};
  if (rope_scaling.type != "default") {
    auto& r = j["rope_scaling"];
    r = {{"rope_type", rope_scaling.type}, {"factor", rope_scaling.factor}};
    if (rope_scaling.type == "llama3") {
      r["low_freq_factor"] = rope_scaling.low_freq_factor;
      r["high_freq_factor"] = rope_scaling.high_freq_factor;
      r["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    }
    if (rope_scaling.type == "yarn") {  // the keys as given (absent stays absent)
      const auto& y = rope_scaling;
      if (y.original_max_position_embeddings > 0)
        r["original_max_position_embeddings"] = y.original_max_position_embeddings;
      if (y.attention_factor > 0) r["attention_factor"] = y.attention_factor;
      if (y.mscale > 0) r["mscale"] = y.mscale;
      if (y.mscale_all_dim > 0) r["mscale_all_dim"] = y.mscale_all_dim;
      r["beta_fast"] = y.beta_fast;
      r["beta_slow"] = y.beta_slow;
      if (!y.truncate) r["truncate"] = false;
    }
  }
  if (model_type != "qwen2") j["attention_bias"] = attention_bias;
  if (model_type == "llama") j["mlp_bias"] = mlp_bias;
  const auto types = [&] {
    json t = json::array();
    for (int64_t l = 0; l < num_hidden_layers; ++l)
      t.push_back(layer_slides(l) ? "sliding_attention" : "full_attention");
    return t;
  };
  if (gemma()) {
    j["hidden_activation"] = hidden_act;
    j["query_pre_attn_scalar"] = query_pre_attn_scalar > 0 ? query_pre_attn_scalar : head_dim;
    const auto cap = [](double v) { return v > 0 ? json(v) : json(nullptr); };
    j["attn_logit_softcapping"] = cap(attn_logit_softcapping);
    j["final_logit_softcapping"] = cap(final_logit_softcapping);
    if (model_type == "gemma3_text") j["rope_local_base_freq"] = rope_local_base_freq;
    // Gemma needs a window; with no sliding layer its value changes nothing.
    j["sliding_window"] = sliding_window > 0 ? sliding_window : int64_t{4096};
    j["layer_types"] = types();
  } else if (model_type == "mistral" || model_type == "phi3") {
    j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
    if (partial_rotary_factor != 1.0) j["partial_rotary_factor"] = partial_rotary_factor;
  } else if (model_type != "llama") {
    // use_sliding_window + max_window_layers, as transformers derives the layer types; an
    // explicit layer_types only when the sliding layers are not the ones from there on.
    int64_t first = num_hidden_layers;
    bool suffix = true;
    for (int64_t l = 0; l < num_hidden_layers; ++l) {
      if (layer_slides(l) && first == num_hidden_layers) first = l;
      suffix = suffix && layer_slides(l) == (l >= first);
    }
    j["use_sliding_window"] = sliding_window > 0;
    j["sliding_window"] = sliding_window > 0 ? json(sliding_window) : json(nullptr);
    j["max_window_layers"] = first;
    if (!suffix) j["layer_types"] = types();
  }
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  return j;
}

}  // namespace basin
