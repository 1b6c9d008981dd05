// config.json of a Hugging Face decoder (Qwen2 / Qwen3 / Llama / Mistral / Gemma 2 / Gemma 3 text /
// Phi-3 families): the fields
// the forward pass needs, validated with errors that name the file and key. Every key that
// changes the numerics is either implemented exactly or refused (docs/MODELS.md lists them);
// keys that do not change the numerics are ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

// Rotary frequency scaling: config.json's rope_scaling (or transformers 5's rope_parameters).
struct RopeScaling {
  std::string type = "default";   // default, linear, dynamic, llama3 or yarn (others are refused)
  double factor = 1.0;            // linear: positions / factor; dynamic: NTK factor; llama3; yarn
  double low_freq_factor = 1.0;   // llama3: wavelengths above original / low are divided
  double high_freq_factor = 4.0;  // llama3: wavelengths below original / high are kept
  // llama3: the pre-training context; yarn: the context its correction range is found from
  // (0 = not given: max_position_embeddings, as transformers falls back to)
  int64_t original_max_position_embeddings = 8192;
  // yarn (Peng et al. 2023), as transformers' _compute_yarn_parameters: 0 = not given.
  double attention_factor = 0;            // multiplies cos and sin (else derived from factor)
  double mscale = 0, mscale_all_dim = 0;  // DeepSeek's pair: attention factor as their ratio
  double beta_fast = 32, beta_slow = 1;   // rotations bounding the ramp (paper's α, β)
  bool truncate = true;                   // floor / ceil the ramp's bounds
  bool operator==(const RopeScaling& o) const;
};

// The most layers a config may declare: real models have at most a few hundred, and a config
// asking for billions would size per-layer tables from it (found by tests/fuzz).
inline constexpr int64_t kMaxLayers = 10000;

struct ModelConfig {
  // qwen2, qwen3, llama, mistral, gemma2, gemma3_text or phi3 (docs/MODELS.md)
  std::string model_type = "qwen2";
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // d_model
  int64_t intermediate_size = 0;  // gated MLP width
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // grouped-query attention (= heads for plain MHA)
  int64_t head_dim = 0;             // hidden_size / heads unless given
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 32768;  // used by dynamic NTK scaling only
  bool tie_word_embeddings = false;
  // q/k/v biases: always for qwen2, the config key for llama, qwen3, gemma2 and gemma3_text
  // (where it also biases o_proj, see o_proj_bias()), never for mistral and phi3.
  bool attention_bias = true;
  bool mlp_bias = false;  // llama: gate/up/down biases
  // Sliding-window attention: a query attends to the keys fewer than sliding_window positions
  // back (transformers' sliding_window_overlay). 0 = full attention everywhere.
  int64_t sliding_window = 0;
  // Per layer: whether it uses the window (size num_hidden_layers when sliding_window > 0).
  std::vector<bool> sliding_layers;
  int64_t bos_token_id = -1, eos_token_id = -1, pad_token_id = -1;
  // The gated MLP's activation: "silu" (SwiGLU) or "gelu_pytorch_tanh" (GeGLU, Gemma).
  std::string hidden_act = "silu";
  // Attention scores are q·k / sqrt(query_pre_attn_scalar) (Gemma); 0 = head_dim.
  double query_pre_attn_scalar = 0;
  // tanh soft-capping cap · tanh(x / cap) of attention scores (before the mask) and of the
  // final logits (Gemma 2; Gemma 3 final logits only); 0 = none.
  double attn_logit_softcapping = 0;
  double final_logit_softcapping = 0;
  // Gemma 3: the sliding layers' rotary base (plain RoPE, no scaling; the full-attention layers
  // use rope_theta and rope_scaling). 0 = every layer uses rope_theta and rope_scaling.
  double rope_local_base_freq = 0;
  // Phi-3: rotary embedding on the first rotary_dim() = int(head_dim · factor) dims of a head.
  double partial_rotary_factor = 1.0;

  bool o_proj_bias() const { return attention_bias && model_type != "qwen2"; }
  // Qwen3, Gemma 3: per-head RMSNorm of queries and keys (q_norm / k_norm, width head_dim)
  // before rotary.
  bool qk_norm() const { return model_type == "qwen3" || model_type == "gemma3_text"; }
  // Gemma 2 / 3: RMSNorm scales by (1 + w), embeddings are scaled by sqrt(hidden_size), and the
  // attention and MLP outputs are normed before their residual adds (pre/post-feedforward norms).
  bool gemma() const { return model_type == "gemma2" || model_type == "gemma3_text"; }
  // Phi-3: q/k/v as one qkv_proj and gate/up as one gate_up_proj (LoRA targets them so).
  bool fused_projections() const { return model_type == "phi3"; }
  // Rotated dims of a head (transformers: int(head_dim · partial_rotary_factor)).
  int64_t rotary_dim() const {
    return static_cast<int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
  }
  // The attention scores' divisor squared (q·k / sqrt of it).
  double attention_scalar() const {
    return query_pre_attn_scalar > 0 ? query_pre_attn_scalar : static_cast<double>(head_dim);
  }
  bool layer_slides(int64_t layer) const {
    return sliding_window > 0 && layer >= 0 &&
           layer < static_cast<int64_t>(sliding_layers.size()) &&
           sliding_layers[static_cast<size_t>(layer)];
  }

  // Throws InputError naming `label` and the key (unknown model_type, missing sizes, heads
  // that do not divide, a numerics key Basin does not implement, ...).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& label);
  static ModelConfig load(const std::filesystem::path& model_dir);
  nlohmann::json to_json() const;  // as transformers writes it for this family
  void validate(const std::string& label) const;
};

}  // namespace basin
