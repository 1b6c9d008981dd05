#include "model/generate.h"

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
  at::Tensor next_input = prompts;
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const auto logits = model.forward(next_input, fo).logits;                           // [B, T, V]
    const auto next = logits.select(1, logits.size(1) - 1).argmax(-1).to(torch::kCPU);  // [B]
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
