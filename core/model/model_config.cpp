#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

int64_t get_int(const nlohmann::json& j, const char* key, const std::string& label,
                int64_t def = -1) {
  if (!j.contains(key) || j[key].is_null()) {
    if (def >= 0) return def;
    throw InputError("'" + label + "': key '" + key + "' is missing");
  }
  if (!j[key].is_number_integer())
    throw InputError("'" + label + "': key '" + key + "' must be an integer, got " +
                     json_excerpt(j[key]));
  return j[key].get<int64_t>();
}

int64_t first_token_id(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return -1;
  if (j[key].is_number_integer()) return j[key].get<int64_t>();
  if (j[key].is_array() && !j[key].empty() && j[key][0].is_number_integer())
    return j[key][0].get<int64_t>();
  return -1;
}

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object()) throw InputError("'" + label + "' is not a JSON object");
  ModelConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string())
    throw InputError("'" + label + "': key 'model_type' is missing");
  c.model_type = j["model_type"].get<std::string>();
  if (c.model_type != "qwen2" && c.model_type != "llama" && c.model_type != "mistral")
    throw InputError("'" + label + "': model_type '" + excerpt(c.model_type) +
                     "' is not supported (expected qwen2, llama or mistral)");
  c.vocab_size = get_int(j, "vocab_size", label);
  c.hidden_size = get_int(j, "hidden_size", label);
  c.intermediate_size = get_int(j, "intermediate_size", label);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", label);
  c.num_attention_heads = get_int(j, "num_attention_heads", label);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", label, c.num_attention_heads);
  c.head_dim = get_int(j, "head_dim", label,
                       c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", label, 32768);
  if (j.contains("rms_norm_eps") && j["rms_norm_eps"].is_number())
    c.rms_norm_eps = j["rms_norm_eps"].get<double>();
  if (j.contains("rope_theta") && j["rope_theta"].is_number())
    c.rope_theta = j["rope_theta"].get<double>();
  if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean())
    c.tie_word_embeddings = j["tie_word_embeddings"].get<bool>();
  // Qwen2 always has q/k/v biases; Llama/Mistral have them only with attention_bias.
  c.attention_bias = c.model_type == "qwen2" ||
                     (j.contains("attention_bias") && j["attention_bias"].is_boolean() &&
                      j["attention_bias"].get<bool>());
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
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  if (num_attention_heads % num_key_value_heads != 0)
    throw InputError(
        "'" + label + "': num_attention_heads (" + std::to_string(num_attention_heads) +
        ") is not a multiple of num_key_value_heads (" + std::to_string(num_key_value_heads) + ")");
  if (head_dim % 2 != 0)
    throw InputError("'" + label + "': head_dim must be even for rotary embeddings");
  if (!(rms_norm_eps > 0)) throw InputError("'" + label + "': rms_norm_eps must be positive");
  if (!(rope_theta > 0)) throw InputError("'" + label + "': rope_theta must be positive");
}

ModelConfig ModelConfig::load(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  if (!std::filesystem::exists(path))
    throw InputError("missing config.json in model folder '" + dir.string() + "'");
  return from_json(read_json_file(path), path.string());
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {{"model_type", model_type},
                      {"architectures",
                       {model_type == "qwen2"     ? "Qwen2ForCausalLM"
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
                      {"max_position_embeddings", max_position_embeddings},
                      {"tie_word_embeddings", tie_word_embeddings},
                      {"hidden_act", "silu"},
                      {"torch_dtype", "float32"}};
  if (model_type != "qwen2") j["attention_bias"] = attention_bias;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  return j;
}

}  // namespace basin
