#include "gate/task_router.h"

#include <cmath>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {

void check_router_options(const RouterOptions& o, int64_t K) {
  check_gate_top_k(o.top_k, K, "router top-k");
  check_gate_temperature(o.temperature);
  if (o.layer < -1)
    throw InputError("router layer must be ≥ 0 (or −1 = last), got " + std::to_string(o.layer));
}

TaskRouter::TaskRouter(const RouterOptions& options, at::Tensor weight, at::Tensor bias,
                       at::Tensor mean, at::Tensor std)
    : options_(options),
      weight_(std::move(weight)),
      bias_(std::move(bias)),
      mean_(std::move(mean)),
      std_(std::move(std)) {
  if (weight_.dim() != 2 || bias_.dim() != 1 || bias_.size(0) != weight_.size(1) ||
      mean_.dim() != 1 || std_.dim() != 1 || mean_.size(0) != weight_.size(0) ||
      std_.size(0) != weight_.size(0))
    throw InputError("router tensors do not fit together (weight [d, K], bias [K], mean/std [d])");
  check_router_options(options_, weight_.size(1));
}

int TaskRouter::resolved_layer(const CausalLM& model) const {
  const int L = static_cast<int>(model.config().num_hidden_layers);
  return options_.layer < 0 ? L : options_.layer;
}

void TaskRouter::check_model(const CausalLM& model, const std::string& label) const {
  if (model.config().hidden_size != width())
    throw InputError(label + ": the router reads " + std::to_string(width()) +
                     "-wide states but the model's hidden_size is " +
                     std::to_string(model.config().hidden_size));
  if (resolved_layer(model) > model.config().num_hidden_layers)
    throw InputError(label + ": router layer " + std::to_string(options_.layer) +
                     " exceeds the model's " + std::to_string(model.config().num_hidden_layers) +
                     " layers");
  if (model.lora_bank_size() != experts())
    throw InputError(label + ": the router chooses among " + std::to_string(experts()) +
                     " experts but the model's LoRA bank holds " +
                     std::to_string(model.lora_bank_size()));
}

at::Tensor prompt_states(const CausalLM& model, const at::Tensor& ids,
                         const at::Tensor& prompt_mask, int layer) {
  torch::NoGradGuard no_grad;
  LmForwardOptions fo;  // no coefficients: the base model
  fo.output_layer = layer;
  fo.attention_mask = prompt_mask;
  const auto h = model.forward(ids, fo).hidden;  // [B, T, d]
  const auto m = prompt_mask.to(h.device(), torch::kFloat32).unsqueeze(-1);
  return (h * m).sum(1) / m.sum(1).clamp_min(1);
}

at::Tensor TaskRouter::features(const CausalLM& model, const at::Tensor& ids,
                                const at::Tensor& prompt_mask) const {
  return prompt_states(model, ids, prompt_mask, resolved_layer(model));
}

at::Tensor TaskRouter::logits(const at::Tensor& features) const {
  const auto dev = features.device();
  const auto z = (features - mean_.to(dev)) / std_.to(dev);
  return torch::matmul(z, weight_.to(dev)) + bias_.to(dev);
}

at::Tensor TaskRouter::coefficients(const at::Tensor& logits) const {
  const auto top = logits.topk(options_.top_k, -1);
  const auto w = options_.top_k == 1 ? torch::ones_like(std::get<0>(top))
                                     : torch::softmax(std::get<0>(top) / options_.temperature, -1);
  return torch::zeros_like(logits).scatter(-1, std::get<1>(top), w);
}

}  // namespace basin
