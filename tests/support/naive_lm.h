// An independent reference forward pass of the Qwen2 / Qwen3 / Llama / Mistral / Gemma 2 /
// Gemma 3 / Phi-3 decoder for tests: one sequence, token by token, in float64, written from the
// formulas (RMSNorm and Gemma's (1 + w), √d embedding scale, rotate-half RoPE, its scalings,
// partial rotary and Gemma 3's local base, per-head q/k norms, grouped-query attention, Gemma's
// scalar and soft-caps, sliding windows, SwiGLU / GeGLU, Gemma's sandwich norms, Phi-3's fused
// projections) — no batching, no LoRA bank, no KV cache.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "model/model_config.h"

namespace basin::test {

at::Tensor D(const at::Tensor& t);  // as float64

// ΔW [out, in] (float64) added to a projection's weight for one token (undefined = none).
using TokenDeltas = std::function<at::Tensor(const std::string& module, int64_t token)>;

// θ_i (i < rotary_dim / 2) in float64, straight from the formulas of the config's rotary scaling
// (default, linear, dynamic NTK, llama3, YaRN), for a sequence of seq_len tokens.
std::vector<double> naive_inv_freq(const ModelConfig& c, int64_t seq_len);

// The factor the rotated dims are multiplied by (YaRN's attention factor, else 1), in float64.
double naive_rope_scale(const ModelConfig& c);

// Hidden states [T, d] (float64) after each layer (0 = embeddings; the last one after the final
// norm, as CausalLM's output_layer gives it) and logits [T, V]. `positions`: each token's
// rotary position (empty = 0 … T − 1). Covers q/k norms (qwen3), o_proj and MLP biases, and
// sliding-window layers.
struct NaiveForward {
  std::vector<at::Tensor> hidden;
  at::Tensor logits;
};
NaiveForward naive_forward(const ModelConfig& c, const std::map<std::string, at::Tensor>& params,
                           const std::vector<int64_t>& ids, const TokenDeltas& delta_at = {},
                           const std::vector<int64_t>& positions = {});

// Logits [T, V] (float64) of `ids` with per-token weight updates.
at::Tensor naive_logits(const ModelConfig& c, const std::map<std::string, at::Tensor>& params,
                        const std::vector<int64_t>& ids, const TokenDeltas& delta_at);
// The same with one ΔW per module for every token.
at::Tensor naive_logits(const ModelConfig& c, const std::map<std::string, at::Tensor>& params,
                        const std::vector<int64_t>& ids,
                        const std::map<std::string, at::Tensor>& deltas = {});

// The small decoder the model, gate and landscape tests share: vocab 37, d 16, 2 layers, 4
// query / 2 key-value heads of width 4, SwiGLU width 24, q/k/v biases (qwen2). Gemma types get
// GeGLU, query_pre_attn_scalar 8, a window of 3 on layer 0, and (gemma2) caps 2 / 3 or
// (gemma3_text) a local rotary base of 10.
ModelConfig tiny_decoder_config(const std::string& type = "qwen2", bool tied = false);
// Random weights of a larger scale than the init (0.3 · N(0,1); norms 1 + 0.1 · N(0,1), Gemma's
// 0.1 · N(0,1) as it scales by 1 + w), so every part of the forward pass matters.
CausalLM tiny_decoder(const ModelConfig& c, uint64_t seed);
// Largest relative error of `m` against the reference over the hidden states after layer 1 and
// after the last layer (normed) and the logits, for one sequence at `positions`: without LoRA,
// and with a bank holding `adapter` (default: random_lora(m, "a", 2, 4.0, 77), every target) at
// coefficient 0.8.
double reference_error(CausalLM m, const std::vector<int64_t>& ids,
                       const std::vector<int64_t>& positions,
                       std::shared_ptr<const Adapter> adapter = nullptr);
// A rank-r adapter on every target of `m` whose name contains `only` (all when empty), factors
// 0.3 · N(0,1), scale alpha / r.
std::shared_ptr<Adapter> random_lora(const CausalLM& m, const std::string& name, int64_t r,
                                     double alpha, uint64_t seed, const std::string& only = "");

}  // namespace basin::test
