// MoLE: Mixture of LoRA Experts (Wu, Huang & Wei 2024). The frozen LoRAs of a bank are the
// experts; a learned gate at every LoRA-targeted projection (or once per transformer block)
// mixes their outputs per token:
//     E_k = s_k B_k A_k x,   ε = normalise(E_1 ⊕ … ⊕ E_K),   G = softmax(ε W_g / τ),
//     y = W x + b + Σ_k G_k E_k.
// Only W_g trains. normalise() standardises the concatenated vector per token (zero mean,
// unit variance, no affine parameters), so the gate sees the experts' relative outputs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/causal_lm.h"
#include "model/lora_gate.h"

namespace basin {

enum class MoleGranularity {
  Module,  // one gate per LoRA-targeted projection
  Block,   // one gate per transformer block, computed at its first targeted projection
};
const char* granularity_name(MoleGranularity g);
MoleGranularity parse_granularity(const std::string& name);  // throws InputError

class MoleGate : public LoraGate {
 public:
  // One gate per site of `model`'s LoRA bank; W_g ~ normal(0, 0.01²), seeded (near-uniform
  // gates at the start). Throws InputError for τ ≤ 0 or non-finite, or an empty bank.
  static std::unique_ptr<MoleGate> create(const CausalLM& model, MoleGranularity granularity,
                                          double temperature, uint64_t seed);
  // From saved weights (site key → W_g [K·out, K]); shapes are checked by check_model().
  MoleGate(int64_t experts, MoleGranularity granularity, double temperature,
           std::map<std::string, at::Tensor> weights);

  int64_t experts() const override { return experts_; }
  bool needs_expert_outputs() const override { return true; }
  std::string site_key(const GateSite& site) const override;

  MoleGranularity granularity() const { return granularity_; }
  double temperature() const { return temperature_; }
  // W_g by site key ("model.layers.0.self_attn.q_proj", or "model.layers.0" per block).
  const std::map<std::string, at::Tensor>& weights() const { return weights_; }
  std::map<std::string, at::Tensor>& weights() { return weights_; }
  std::vector<at::Tensor> parameters() const;
  int64_t parameter_count() const;

  // Inference-time expert mask: masked experts get gate 0 and the others are renormalised
  // (softmax over the active experts only). Empty = all active. Throws InputError when the
  // size is wrong or no expert is left.
  void set_active(const std::vector<bool>& active);
  const std::vector<bool>& active() const { return active_; }

  // Throws InputError naming the site when `model`'s bank sites or widths do not match.
  void check_model(const CausalLM& model, const std::string& label) const;

  // Gating-balance loss of the last forward pass (MoLE eq. 8): the mean over gates of
  // −Σ_i log q_i, q_i = gate of expert i averaged over the batch's real tokens.
  at::Tensor balance_loss() const;

 protected:
  at::Tensor compute(const GateSite& site, const at::Tensor& x,
                     const at::Tensor& expert_out) override;

 private:
  int64_t experts_;
  MoleGranularity granularity_;
  double temperature_;
  std::map<std::string, at::Tensor> weights_;
  std::vector<bool> active_;
};

// −Σ_i log q_i averaged over gates; q = Σ_tokens mask · G / Σ mask per gate. `gates` are
// [B, T, K]; `mask` is [B, T] (1 = real token). Exposed for tests.
at::Tensor mole_balance_loss(const std::vector<at::Tensor>& gates, const at::Tensor& mask);

}  // namespace basin
