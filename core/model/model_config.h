// config.json of a Hugging Face decoder (Qwen2 / Llama / Mistral families): the fields the
// forward pass needs, validated with errors that name the file and key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace basin {

struct ModelConfig {
  std::string model_type = "qwen2";  // qwen2, llama or mistral
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // d_model
  int64_t intermediate_size = 0;  // SwiGLU width
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // grouped-query attention (= heads for plain MHA)
  int64_t head_dim = 0;             // hidden_size / heads unless given
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t max_position_embeddings = 32768;
  bool tie_word_embeddings = false;
  bool attention_bias = true;  // q/k/v biases: always for qwen2, config key for llama
  int64_t bos_token_id = -1, eos_token_id = -1, pad_token_id = -1;

  // Throws InputError naming `label` and the key (unknown model_type, missing sizes, heads
  // that do not divide, ...).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& label);
  static ModelConfig load(const std::filesystem::path& model_dir);
  nlohmann::json to_json() const;  // as transformers writes it for this family
  void validate(const std::string& label) const;
};

}  // namespace basin
