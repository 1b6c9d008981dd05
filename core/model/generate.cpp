#include "model/generate.h"

#include <numeric>

#include <torch/torch.h>

#include "util/errors.h"

namespace basin {

std::vector<std::vector<int64_t>> greedy_generate(const CausalLM& model, const at::Tensor& prompts,
                                                  const GenerateOptions& o) {
  if (prompts.dim() != 2 || prompts.size(1) == 0)
    throw InputError("prompts must be [batch, tokens] with tokens > 0");
  torch::NoGradGuard no_grad;
  const int64_t B = prompts.size(0);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  KvCache cache;
  LmForwardOptions fo;
  fo.cache = &cache;
  fo.lora_coeffs = o.lora_coeffs;
  fo.gate = o.gate;
  fo.active_adapters_only = o.active_adapters_only;
  at::Tensor next_input = prompts;
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const int64_t T = next_input.size(1);
    fo.logit_positions = torch::arange(B, torch::TensorOptions().dtype(torch::kLong))
                             .mul(T)
                             .add(T - 1)
                             .to(prompts.device());
    const auto next = model.forward(next_input, fo).logits.argmax(-1).to(torch::kCPU);  // [B]
    bool all_done = true;
    for (int64_t b = 0; b < B; ++b) {
      if (done[static_cast<size_t>(b)]) continue;
      const int64_t id = next[b].item<int64_t>();
      if (id == o.eos_token_id) {
        done[static_cast<size_t>(b)] = true;
        continue;
      }
      out[static_cast<size_t>(b)].push_back(id);
      all_done = false;
    }
    if (all_done) break;
    // Finished rows keep decoding (their output is ignored) so the batch stays rectangular.
    next_input = next.view({B, 1}).to(prompts.device());
  }
  return out;
}

std::vector<std::vector<int64_t>> greedy_generate_batch(
    const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
    const GenerateOptions& o) {
  if (o.gate) throw InputError("batched generation takes bank coefficients, not a gate");
  const auto B = static_cast<int64_t>(prompts.size());
  std::vector<std::vector<int64_t>> out(prompts.size());
  if (B == 0 || o.max_new_tokens <= 0) return out;
  if (o.lora_coeffs.defined() && (o.lora_coeffs.dim() != 2 || o.lora_coeffs.size(0) != B))
    throw InputError("batched generation needs one coefficient row per prompt");
  torch::NoGradGuard no_grad;
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  int64_t L = 0;
  for (const auto& p : prompts) {
    if (p.empty()) throw InputError("an empty prompt");
    L = std::max<int64_t>(L, static_cast<int64_t>(p.size()));
  }
  // Left padding: every row's last prompt token sits at column L − 1.
  auto ids = torch::zeros({B, L}, torch::kLong);
  auto mask = torch::zeros({B, L}, torch::kLong);
  auto pos = torch::zeros({B, L}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  auto pa = pos.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b)];
    const int64_t pad = L - static_cast<int64_t>(p.size());
    for (size_t t = 0; t < p.size(); ++t) {
      ia[b][pad + int64_t(t)] = p[t];
      ma[b][pad + int64_t(t)] = 1;
      pa[b][pad + int64_t(t)] = int64_t(t);
    }
  }
  KvCache cache;
  LmForwardOptions fo;
  fo.cache = &cache;
  fo.attention_mask = mask.to(dev);
  fo.position_ids = pos.to(dev);
  fo.lora_coeffs = o.lora_coeffs.defined() ? o.lora_coeffs.to(dev) : at::Tensor();
  fo.logit_positions = (torch::arange(B, torch::kLong) * L + (L - 1)).to(dev);
  std::vector<int64_t> live(static_cast<size_t>(B));  // batch row -> prompt
  std::iota(live.begin(), live.end(), 0);
  auto last = torch::tensor(std::vector<int64_t>(prompts.size()), torch::kLong);
  {
    auto la = last.accessor<int64_t, 1>();
    for (int64_t b = 0; b < B; ++b)
      la[b] = static_cast<int64_t>(prompts[static_cast<size_t>(b)].size()) - 1;
  }
  at::Tensor input = ids.to(dev);
  for (int64_t step = 0; step < o.max_new_tokens && !live.empty(); ++step) {
    const auto next = model.forward(input, fo).logits.argmax(-1).to(torch::kCPU).contiguous();
    const int64_t* na = next.data_ptr<int64_t>();
    std::vector<int64_t> keep;  // batch rows that go on
    for (size_t b = 0; b < live.size(); ++b) {
      if (na[b] == o.eos_token_id) continue;
      out[static_cast<size_t>(live[b])].push_back(na[b]);
      keep.push_back(static_cast<int64_t>(b));
    }
    if (keep.empty() || step + 1 == o.max_new_tokens) break;
    const auto n = static_cast<int64_t>(keep.size());
    if (n < static_cast<int64_t>(live.size())) {  // finished rows leave the batch
      const auto idx = torch::tensor(keep, torch::kLong);
      const auto idx_dev = idx.to(dev);
      for (auto* kv : {&cache.k, &cache.v})
        for (auto& t : *kv)
          t = t.index_select(0, idx_dev);
      fo.attention_mask = fo.attention_mask.index_select(0, idx_dev);
      if (fo.lora_coeffs.defined()) fo.lora_coeffs = fo.lora_coeffs.index_select(0, idx_dev);
      last = last.index_select(0, idx);
      std::vector<int64_t> still;
      for (int64_t b : keep)
        still.push_back(live[static_cast<size_t>(b)]);
      live = std::move(still);
    }
    last = last + 1;
    input = next.index_select(0, torch::tensor(keep, torch::kLong)).view({n, 1}).to(dev);
    fo.attention_mask =
        torch::cat({fo.attention_mask, torch::ones({n, 1}, fo.attention_mask.options())}, 1);
    fo.position_ids = last.view({n, 1}).to(dev);
    fo.logit_positions = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(dev));
  }
  return out;
}

NllResult sequence_nll(const CausalLM& model, const at::Tensor& ids,
                       const at::Tensor& attention_mask, const at::Tensor& target_mask,
                       const at::Tensor& lora_coeffs, LoraGate* gate) {
  if (ids.dim() != 2 || target_mask.sizes() != ids.sizes())
    throw InputError("ids and target_mask must both be [batch, tokens]");
  LmForwardOptions fo;
  fo.attention_mask = attention_mask;
  fo.lora_coeffs = lora_coeffs;
  fo.gate = gate;
  const auto logits = model.forward(ids, fo).logits;  // [B, T, V]
  const int64_t T = ids.size(1);
  if (T < 2) {
    const auto z = torch::zeros({ids.size(0)}, torch::kFloat64);
    return {z, torch::zeros({ids.size(0)}, torch::kLong)};
  }
  // Logits at t-1 predict token t.
  const auto logp = torch::log_softmax(logits.narrow(1, 0, T - 1).to(torch::kFloat64), -1);
  const auto tgt = ids.narrow(1, 1, T - 1).to(logits.device(), torch::kLong);
  const auto tok_logp = logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1);  // [B, T-1]
  const auto m = target_mask.narrow(1, 1, T - 1).to(logits.device(), torch::kFloat64);
  return {(-tok_logp * m).sum(1).to(torch::kCPU), m.sum(1).to(torch::kCPU, torch::kLong)};
}

}  // namespace basin
