#include "model/lora_gate.h"

#include <cmath>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {

void LoraGate::begin_forward(const at::Tensor& token_mask) {
  this_forward_.clear();
  token_mask_ = token_mask;
  if (recording_ && token_mask.defined()) recorded_tokens_ += token_mask.sum().item<double>();
}

void LoraGate::start_recording() {
  recording_ = true;
  sums_.clear();
  recorded_tokens_ = 0;
}

at::Tensor LoraGate::coefficients(const GateSite& site, const at::Tensor& x,
                                  const at::Tensor& expert_out) {
  const std::string key = site_key(site);
  if (const auto it = this_forward_.find(key); it != this_forward_.end()) return it->second;
  at::Tensor g = compute(site, x, expert_out);
  if (g.dim() != 3 || g.size(0) != x.size(0) || g.size(1) != x.size(1) || g.size(2) != experts())
    throw Error("internal: gate at '" + key + "' returned a tensor of the wrong shape");
  this_forward_[key] = g;
  if (recording_) {
    torch::NoGradGuard no_grad;
    const auto m =
        token_mask_.defined()
            ? token_mask_.to(g.device(), torch::kFloat64).unsqueeze(-1)
            : torch::ones({g.size(0), g.size(1), 1},
                          torch::TensorOptions().dtype(torch::kFloat64).device(g.device()));
    const auto s = (g.detach().to(torch::kFloat64) * m).sum(at::IntArrayRef{0, 1}).to(torch::kCPU);
    auto& acc = sums_[key];
    acc = acc.defined() ? acc + s : s;
  }
  return g;
}

void check_gate_temperature(double t) {
  if (!(t > 0) || !std::isfinite(t))
    throw InputError("gate temperature must be a positive finite number, got " + format_double(t));
}

void check_gate_top_k(int64_t k, int64_t experts, const std::string& what) {
  if (k < 1 || k > experts)
    throw InputError(what + " must be in 1 … " + std::to_string(experts) +
                     " (the number of experts), got " + std::to_string(k));
}

}  // namespace basin
