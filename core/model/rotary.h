// Rotary position embeddings (Su et al. 2021) in the rotate-half layout of Hugging Face's
// Llama / Qwen / Mistral code, with the frequency scalings Basin implements exactly:
// linear, dynamic NTK, Llama 3.1's and YaRN (see docs/MODELS.md).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "model/model_config.h"

namespace basin {

// Inverse frequencies θ_i [head_dim / 2] (float32, on `options`' device) with the config's
// scaling, for a sequence whose positions reach seq_len − 1 (only dynamic scaling reads it).
at::Tensor rope_inv_freq(const ModelConfig& c, int64_t seq_len, const at::TensorOptions& options);

// The factor cos and sin are multiplied by (YaRN's attention factor; 1 for the other scalings).
double rope_attention_factor(const ModelConfig& c);

struct RotaryTables {
  at::Tensor cos, sin;  // [B or 1, 1, T, rotary_dim]
};

// Tables for the T new tokens of a forward pass at positions P … P + T − 1, or at
// position_ids [B, T] when defined. `real` [B, T] bool (undefined = every token) marks the
// tokens whose positions set dynamic scaling's length: each row is scaled as transformers
// scales that sequence alone (transformers itself takes the longest row of the batch).
RotaryTables rotary_tables(const ModelConfig& c, const at::Tensor& position_ids, int64_t B,
                           int64_t P, int64_t T, const at::Tensor& real,
                           const at::TensorOptions& options);

// x · cos + rotate_half(x) · sin, x [..., T, head_dim]; with tables narrower than the head
// (partial rotary) only the first cos.size(-1) dims rotate.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace basin
