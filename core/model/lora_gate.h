// A learned or training-free gate over a CausalLM's LoRA bank: a source of bank coefficients
// computed inside the forward pass, per token and per projection, instead of one fixed
// coefficient row per sample. MoLE and Arrow routing are gates (gate/); the model stays the
// same frozen base + bank, so a gated model is never a copy of the weights.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace basin {

// Where a gate is asked: one LoRA-targeted projection of one transformer block.
struct GateSite {
  const std::string& module;  // "model.layers.3.self_attn.q_proj"
  int64_t layer;              // 3
};

class LoraGate {
 public:
  virtual ~LoraGate() = default;

  // Number of experts (must equal the bank size of the model it runs on).
  virtual int64_t experts() const = 0;
  // True when the gate reads each expert's output E_k = s_k B_k A_k x at the site (MoLE);
  // the model then computes E [B, T, K, out] and adds Σ_k G_k E_k itself.
  virtual bool needs_expert_outputs() const { return false; }
  // Gates that share one key share one computation per forward pass (e.g. one gate per
  // transformer block: the first site of the block computes it, the others reuse it).
  virtual std::string site_key(const GateSite& site) const { return site.module; }

  // Called by CausalLM::forward before the first site, with the mask of the new tokens
  // [B, T] (1 = token, 0 = padding; undefined = all tokens).
  void begin_forward(const at::Tensor& token_mask);
  // Coefficients G [B, T, K] at `site`: x is the projection's input [B, T, in]; expert_out
  // is E [B, T, K, out] when needs_expert_outputs(), undefined otherwise.
  at::Tensor coefficients(const GateSite& site, const at::Tensor& x, const at::Tensor& expert_out);

  // The gates of the last forward pass by site key (with autograd history when training).
  const std::map<std::string, at::Tensor>& last_gates() const { return this_forward_; }
  const at::Tensor& last_token_mask() const { return token_mask_; }

  // Statistics: while recording, the sum of G over real tokens per site key ([K], float64) and
  // the number of tokens are accumulated across forward passes.
  void start_recording();
  void stop_recording() { recording_ = false; }
  const std::map<std::string, at::Tensor>& recorded_sums() const { return sums_; }
  double recorded_tokens() const { return recorded_tokens_; }

 protected:
  virtual at::Tensor compute(const GateSite& site, const at::Tensor& x,
                             const at::Tensor& expert_out) = 0;

 private:
  std::map<std::string, at::Tensor> this_forward_;
  at::Tensor token_mask_;
  bool recording_ = false;
  std::map<std::string, at::Tensor> sums_;
  double recorded_tokens_ = 0;
};

// Settings every gate shares: throws InputError unless τ is a positive finite number, or unless
// 1 ≤ k ≤ experts (`what` names the setting, e.g. "Arrow top-k").
void check_gate_temperature(double temperature);
void check_gate_top_k(int64_t k, int64_t experts, const std::string& what);

}  // namespace basin
