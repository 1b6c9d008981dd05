// Decoding and scoring on a CausalLM: greedy generation with a KV cache, and the token-level
// negative log-likelihood used for losses, perplexity and interpolation sweeps.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/causal_lm.h"

namespace basin {

struct GenerateOptions {
  int64_t max_new_tokens = 32;       // stop after this many new tokens
  int64_t eos_token_id = -1;         // stop a row when it emits this id (-1: never)
  at::Tensor lora_coeffs;            // [B, K] bank coefficients, one row per prompt (optional)
  LoraGate* gate = nullptr;          // per-token bank coefficients (overrides lora_coeffs)
  bool active_adapters_only = true;  // see LmForwardOptions
};

// Greedy decoding (argmax each step) of B prompts of equal length [B, T] (no padding), one
// forward pass per new token thanks to the KV cache. Returns each row's new tokens (up to and
// without the EOS).
std::vector<std::vector<int64_t>> greedy_generate(const CausalLM& model, const at::Tensor& prompts,
                                                  const GenerateOptions& options);

// Greedy decoding of prompts of unequal lengths as one batch: left padding with an attention
// mask and per-row rotary positions, the KV cache, logits only at each row's last position,
// and rows leave the batch once they emit EOS (the batch shrinks; the cache follows). Each
// row's tokens equal decoding that prompt alone (up to float rounding of a near tie).
// options.lora_coeffs, when set, is [prompts, K]; options.gate is not supported here.
std::vector<std::vector<int64_t>> greedy_generate_batch(
    const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
    const GenerateOptions& options);

struct NllResult {
  at::Tensor nll;     // [B] float64: Σ −log p(token_t | tokens_<t) over target positions
  at::Tensor tokens;  // [B] int64: number of target positions
};

// Token-level NLL: position t of `ids` [B, T] is a target where target_mask[b, t] = 1 (it is
// predicted from positions < t; position 0 is never a target). attention_mask marks real
// tokens (right padding). The mean loss is nll.sum() / tokens.sum().
NllResult sequence_nll(const CausalLM& model, const at::Tensor& ids,
                       const at::Tensor& attention_mask, const at::Tensor& target_mask,
                       const at::Tensor& lora_coeffs = {}, LoraGate* gate = nullptr);

}  // namespace basin
