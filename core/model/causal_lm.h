// A Qwen2 / Qwen3 / Llama / Mistral / Gemma 2 / Gemma 3 (text) / Phi-3 decoder in LibTorch
// (RMSNorm and Gemma's (1 + w) variant, rotary embeddings and their scalings, partial rotary,
// grouped-query attention, sliding windows and Gemma's alternating local/global layers,
// soft-capping, SwiGLU / GeGLU MLP, Phi-3's fused projections, the families' biases and q/k
// norms, tied or untied embeddings; docs/MODELS.md), with LoRA slots:
// every target projection can hold a bank of K adapters and a per-sample coefficient matrix
// C [batch, K], so that
//     y = W x + b + Σ_k C[b,k] · s_k · B_k A_k x
// One batch can therefore evaluate K points of an interpolation sweep, or K adapters, without
// copying any weight (DESIGN.md, "Performance principles").
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lora/adapter.h"
#include "model/lora_gate.h"
#include "model/model_config.h"

namespace basin {

// Keys and values of the tokens seen so far, per layer (after rotary embedding, before the
// grouped-query repeat), so greedy decoding feeds one new token per step.
struct KvCache {
  std::vector<at::Tensor> k, v;  // per layer [B, KV heads, length, head_dim]
  int64_t length = 0;            // tokens cached
};

struct LmForwardOptions {
  at::Tensor attention_mask;  // [B, cached + T] 1 = token, 0 = padding; undefined = all 1
  at::Tensor lora_coeffs;     // [B, K] per-sample bank coefficients; undefined = no LoRA
  LoraGate* gate = nullptr;   // per-token coefficients from a gate (overrides lora_coeffs)
  int output_layer = -1;     // also return the hidden state after this many layers (0 = embeddings)
  KvCache* cache = nullptr;  // when set: tokens continue the cached ones, and are appended
  // [B, T] long: each token's rotary position (left-padded prompts start their real tokens at
  // 0). Undefined: cached + 0 … cached + T − 1 for every row.
  at::Tensor position_ids;
  // [N] long: flat indices b·T + t of the only positions whose logits are wanted; logits is
  // then [N, V] (scoring answers or decoding never needs the whole [B, T, V]). Undefined: all.
  at::Tensor logit_positions;
  // Drop the bank's rank rows of adapters whose coefficient is 0 in every row of the batch
  // (a sweep between two adapters pays for two, not K). Exact: those rows add exactly 0.
  bool active_adapters_only = true;
  // Rows come in this many equal, contiguous groups, each sharing one coefficient vector (a
  // batch of a few points, each over the same examples); 0 = no such promise. With groups, a
  // projection may add each group's ΔW into a copy of its weight and run one batched GEMM per
  // group instead of the bank's rank rows, when the cost formula (lora_route_cost) says that
  // is cheaper; exact up to float32 rounding. Checked: rows of a group must be equal.
  int64_t row_groups = 0;
  // Forces the route of every LoRA projection (tests and benchmarks); kAuto = by cost.
  enum class LoraRoute { kAuto, kBankRows, kMergedGroups } lora_route = LoraRoute::kAuto;
};

// The cost formula that picks a LoRA projection's route, in float multiply-adds plus
// weight-sized memory traffic: the bank's rank rows cost tokens · R · (in + out); merged
// group weights cost groups · out · in · (R + kMergeCopyCost). True = merge.
bool merged_groups_cheaper(int64_t tokens, int64_t groups, int64_t rank_rows, int64_t in,
                           int64_t out);

struct LmForwardResult {
  at::Tensor logits;  // [B, T, V], or [N, V] with logit_positions
  at::Tensor hidden;  // [B, T, d] at output_layer (undefined unless asked; the final norm is
                      // applied when output_layer == num_hidden_layers)
};

class CausalLM {
 public:
  // Loads a Hugging Face folder: config.json + model.safetensors, or shards listed in
  // model.safetensors.index.json. F32/F16/BF16 weights are converted to float32 on `device`.
  // Missing or mis-shaped tensors are an InputError naming them.
  static CausalLM load(const std::filesystem::path& dir, const std::string& device = "cpu");
  // A randomly initialised model (normal(0, 0.02) weights, unit norms: weights 1, or 0 for
  // Gemma's (1 + w)), for tests and the demo kit's pre-training.
  static CausalLM random(const ModelConfig& config, uint64_t seed,
                         const std::string& device = "cpu");
  // Writes config.json + model.safetensors (float32) atomically into `dir`.
  void save(const std::filesystem::path& dir, bool overwrite = false) const;

  const ModelConfig& config() const { return config_; }
  // Every weight by its Hugging Face name ("model.layers.0.self_attn.q_proj.weight", ...).
  const std::map<std::string, at::Tensor>& parameters() const { return params_; }
  std::map<std::string, at::Tensor>& parameters() { return params_; }
  // Names of the linear projections a LoRA can target ("model.layers.0.self_attn.q_proj", ...).
  std::vector<std::string> lora_targets() const;

  // Installs a bank of K adapters (K = adapters.size()); modules an adapter lacks are zero for
  // it. Throws InputError when an adapter names a module the model lacks or a shape differs.
  void set_lora_bank(const std::vector<std::shared_ptr<const Adapter>>& adapters);
  void clear_lora_bank();
  int64_t lora_bank_size() const { return bank_size_; }
  // Each bank adapter's largest rank over its modules (what a batch using it pays per token).
  const std::vector<int64_t>& lora_bank_ranks() const { return bank_ranks_; }
  // The module names that hold bank factors.
  std::vector<std::string> lora_bank_modules() const;
  // Adds weight · s B A of every module into the base weights (a fixed adapter, at full speed).
  void merge_adapter(const Adapter& adapter, double weight = 1.0);

  using ForwardOptions = LmForwardOptions;
  using ForwardResult = LmForwardResult;
  // Under eval_precision() bf16 and no gradient mode: LibTorch's CPU/CUDA autocast to
  // bfloat16 around the whole pass; logits and hidden states come back as float32.
  ForwardResult forward(const at::Tensor& input_ids, const ForwardOptions& options) const;
  at::Tensor logits(const at::Tensor& input_ids, const ForwardOptions& options) const {
    return forward(input_ids, options).logits;
  }
  at::Tensor logits(const at::Tensor& input_ids) const {
    return logits(input_ids, ForwardOptions{});
  }

 private:
  struct Slot {
    at::Tensor A;      // [R, in]: the bank's A factors stacked
    at::Tensor B;      // [out, R]
    at::Tensor owner;  // [R] long: which adapter each rank row belongs to
    at::Tensor scale;  // [R] float: s_k of that adapter
    std::vector<std::pair<int64_t, int64_t>> rows;  // per adapter: first rank row, count (0 = none)
  };
  // Where the bank's coefficients come from in one forward pass.
  struct Mix {
    at::Tensor coeffs;         // [B, K] per sample, or undefined
    LoraGate* gate = nullptr;  // per token, per site
    at::Tensor active;         // [K'] long: the adapters kept (coeffs is then [B, K'])
    std::vector<int64_t> active_list;
    int64_t groups = 0;       // row_groups, when coeffs is set
    at::Tensor group_coeffs;  // [groups, K'] one row per group
    LmForwardOptions::LoraRoute route = LmForwardOptions::LoraRoute::kAuto;
  };
  ForwardResult forward_pass(const at::Tensor& input_ids, const ForwardOptions& options) const;
  // The slot restricted to mix.active (rank rows of the other adapters dropped).
  Slot active_slot(const Slot& s, const Mix& mix) const;
  at::Tensor linear(const std::string& name, int64_t layer, const at::Tensor& x,
                    const Mix& mix) const;
  // Layer l (the last) evaluated only at the flat positions `pos` of its input h [B, T, d]
  // (x = its normed input): keys and values everywhere, the rest at `pos`. Returns [N, d].
  at::Tensor last_layer_at(const at::Tensor& pos, const at::Tensor& h, const at::Tensor& x,
                           const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& allowed,
                           const Mix& mix, int64_t l) const;
  const at::Tensor& param(const std::string& name) const;
  // One decoder block's parts, as each family computes them (causal_lm_block.cpp).
  // RMSNorm with the weight named `weight` ((1 + w) for Gemma), in float32.
  at::Tensor norm(const at::Tensor& x, const std::string& weight) const;
  // Queries, keys and values [..., heads · head_dim] of layer l (prefix p), split from
  // qkv_proj for Phi-3. The queries are left undefined when !need_q and not fused.
  std::array<at::Tensor, 3> project_qkv(const std::string& p, int64_t l, const at::Tensor& x,
                                        const Mix& mix, bool need_q = true) const;
  // q·kᵀ / sqrt(attention_scalar), soft-capped when the config says so (before any mask).
  at::Tensor attention_scores(const at::Tensor& q, const at::Tensor& k) const;
  // The rest of a block after attention: h + o_proj(attn) (normed first for Gemma), then the
  // gated MLP on its normed input (normed again for Gemma) added to that.
  at::Tensor finish_block(const std::string& p, int64_t l, const at::Tensor& h,
                          const at::Tensor& attn, const Mix& mix) const;

  ModelConfig config_;
  std::map<std::string, at::Tensor> params_;
  std::map<std::string, Slot> slots_;
  int64_t bank_size_ = 0;
  std::vector<int64_t> bank_ranks_;
  std::string device_ = "cpu";
};

}  // namespace basin
