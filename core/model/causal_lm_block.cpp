// One decoder block's parts as each family computes them: RMSNorm and Gemma's (1 + w) variant,
// q/k/v projections (Phi-3's fused qkv_proj split), scaled and soft-capped attention scores, and
// the rest of the block after attention (o_proj, Gemma's sandwich norms, SwiGLU / GeGLU MLP,
// Phi-3's fused gate_up_proj).
#include <cmath>

#include <torch/torch.h>

#include "model/causal_lm.h"

namespace basin {

at::Tensor CausalLM::norm(const at::Tensor& x, const std::string& weight) const {
  // RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + eps) · w in float32; Gemma scales by
  // (1 + w) (transformers' Gemma2RMSNorm / Gemma3RMSNorm, also in float32).
  const auto xf = x.to(torch::kFloat32);
  const auto& w = param(weight);
  const auto n = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + config_.rms_norm_eps);
  return config_.gemma() ? n * (1 + w) : n * w;
}

std::array<at::Tensor, 3> CausalLM::project_qkv(const std::string& p, int64_t l,
                                                const at::Tensor& x, const Mix& mix,
                                                bool need_q) const {
  const auto& c = config_;
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  if (c.fused_projections()) {
    // Phi-3: one [q + 2 kv, d] projection; rows are queries, then keys, then values.
    const auto qkv = linear(p + "self_attn.qkv_proj", l, x, mix);
    return {qkv.narrow(-1, 0, q), qkv.narrow(-1, q, kv), qkv.narrow(-1, q + kv, kv)};
  }
  return {need_q ? linear(p + "self_attn.q_proj", l, x, mix) : at::Tensor(),
          linear(p + "self_attn.k_proj", l, x, mix), linear(p + "self_attn.v_proj", l, x, mix)};
}

at::Tensor CausalLM::attention_scores(const at::Tensor& q, const at::Tensor& k) const {
  // Scaled dot product (Vaswani et al. 2017); Gemma divides by sqrt(query_pre_attn_scalar).
  auto s = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(config_.attention_scalar());
  // Gemma 2's soft-capping cap · tanh(s / cap), before the mask (transformers'
  // eager_attention_forward).
  const double cap = config_.attn_logit_softcapping;
  if (cap > 0) s = torch::tanh(s / cap) * cap;
  return s;
}

at::Tensor CausalLM::finish_block(const std::string& p, int64_t l, const at::Tensor& h,
                                  const at::Tensor& attn, const Mix& mix) const {
  const auto& c = config_;
  auto a = linear(p + "self_attn.o_proj", l, attn, mix);
  if (c.gemma()) a = norm(a, p + "post_attention_layernorm.weight");  // Gemma 2 / 3 sandwich
  const auto hh = h + a;
  const auto y = norm(
      hh, p + (c.gemma() ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"));
  at::Tensor gate, up;
  if (c.fused_projections()) {
    // Phi-3: gate_up_proj's first intermediate_size outputs are the gate, the rest up.
    const auto gu = linear(p + "mlp.gate_up_proj", l, y, mix);
    gate = gu.narrow(-1, 0, c.intermediate_size);
    up = gu.narrow(-1, c.intermediate_size, c.intermediate_size);
  } else {
    gate = linear(p + "mlp.gate_proj", l, y, mix);
    up = linear(p + "mlp.up_proj", l, y, mix);
  }
  // SwiGLU / GeGLU (Shazeer 2020): down(act(gate(y)) · up(y)); Gemma's act is the tanh
  // approximation of GELU (transformers' gelu_pytorch_tanh).
  const auto act =
      c.hidden_act == "gelu_pytorch_tanh" ? torch::gelu(gate, "tanh") : torch::silu(gate);
  auto m = linear(p + "mlp.down_proj", l, act * up, mix);
  if (c.gemma()) m = norm(m, p + "post_feedforward_layernorm.weight");
  return hh + m;
}

}  // namespace basin
