// The Mixture-of-LoRAs router ("MoA", Feng et al. 2024), the router-free study's learned
// baseline: a linear classifier on the base model's prompt representation — the hidden state
// after `layer` layers, averaged over the prompt's tokens — trained on which task a prompt
// comes from. At inference it picks the adapter per sequence (top-1), or mixes the top k with
// a softmax over their logits (temperature τ); the answer is then decoded with those bank
// coefficients, so a routed model is never a copy of the weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/causal_lm.h"

namespace basin {

struct RouterOptions {
  int layer = -1;            // hidden state after this many layers (−1 = last, after the norm)
  int64_t top_k = 1;         // 1 = hard routing; k > 1 = softmax over the k best logits
  double temperature = 1.0;  // τ of that softmax
};

class TaskRouter {
 public:
  // W [d, K], b [K]; features are standardised with mean / std [d] first.
  TaskRouter(const RouterOptions& options, at::Tensor weight, at::Tensor bias, at::Tensor mean,
             at::Tensor std);

  const RouterOptions& options() const { return options_; }
  int64_t experts() const { return weight_.size(1); }
  int64_t width() const { return weight_.size(0); }
  const at::Tensor& weight() const { return weight_; }
  const at::Tensor& bias() const { return bias_; }
  const at::Tensor& mean() const { return mean_; }
  const at::Tensor& std() const { return std_; }
  // The layer index resolved for `model` (0 … num_hidden_layers).
  int resolved_layer(const CausalLM& model) const;
  // Throws InputError when `model`'s width, depth or bank size does not match.
  void check_model(const CausalLM& model, const std::string& label) const;

  // Prompt features [B, d] (float32) of `ids` [B, T] from the base model (no LoRA): the mean
  // of the layer's states over positions where prompt_mask is 1.
  at::Tensor features(const CausalLM& model, const at::Tensor& ids,
                      const at::Tensor& prompt_mask) const;
  at::Tensor logits(const at::Tensor& features) const;  // [B, K]
  // Bank coefficients [B, K]: one-hot of the argmax (k = 1) or the top-k softmax.
  at::Tensor coefficients(const at::Tensor& logits) const;

 private:
  RouterOptions options_;
  at::Tensor weight_, bias_, mean_, std_;
};

void check_router_options(const RouterOptions& o, int64_t experts);

// Mean of the hidden state after `layer` layers (0 … num_hidden_layers) of the base model (no
// LoRA) over positions where prompt_mask [B, T] is 1: [B, d] float32.
at::Tensor prompt_states(const CausalLM& model, const at::Tensor& ids,
                         const at::Tensor& prompt_mask, int layer);

}  // namespace basin
