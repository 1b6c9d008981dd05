#include "gate/arrow_gate.h"

#include <cmath>
#include <set>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

void check_options(const ArrowOptions& o, int64_t K) {
  check_gate_top_k(o.top_k, K, "Arrow top-k");
  check_gate_temperature(o.temperature);
}

}  // namespace

at::Tensor top_right_singular_vector(const at::Tensor& A, const at::Tensor& B) {
  const auto a = A.to(torch::kCPU, torch::kFloat64), b = B.to(torch::kCPU, torch::kFloat64);
  // ΔW ∝ B A = Q (R A): its right singular vectors are those of R A [r, in].
  const auto qr = torch::linalg_qr(b, "reduced");
  const auto core = std::get<1>(qr).mm(a);
  const auto svd = torch::linalg_svd(core, /*full_matrices=*/false);
  const auto& S = std::get<1>(svd);
  if (S.numel() == 0 || !(S[0].item<double>() > 0))
    return torch::zeros({a.size(1)}, torch::kFloat64);
  return std::get<2>(svd)[0].contiguous();  // Vh row 0
}

std::unique_ptr<ArrowGate> ArrowGate::build(
    const std::vector<std::shared_ptr<const Adapter>>& experts, const ArrowOptions& options) {
  const auto K = static_cast<int64_t>(experts.size());
  if (K == 0) throw InputError("Arrow routing needs at least one expert");
  check_options(options, K);
  std::map<std::string, at::Tensor> protos;
  for (int64_t k = 0; k < K; ++k)
    for (const auto& m : experts[size_t(k)]->modules) {
      auto& P = protos[m.name];
      if (!P.defined()) P = torch::zeros({K, m.in_features()}, torch::kFloat64);
      if (P.size(1) != m.in_features())
        throw IncompatibleError("experts disagree on the input width of '" + m.name + "'");
      P[k] = top_right_singular_vector(m.A, m.B);
    }
  for (auto& [name, P] : protos)
    P = P.to(torch::kFloat32).contiguous();
  return std::make_unique<ArrowGate>(K, options, std::move(protos));
}

ArrowGate::ArrowGate(int64_t experts, const ArrowOptions& options,
                     std::map<std::string, at::Tensor> prototypes)
    : experts_(experts), options_(options), prototypes_(std::move(prototypes)) {
  check_options(options, experts);
  for (const auto& [name, P] : prototypes_)
    if (P.dim() != 2 || P.size(0) != experts_)
      throw InputError("Arrow prototypes of '" + name +
                       "' are not [K, in] for K = " + std::to_string(experts_));
}

void ArrowGate::check_model(const CausalLM& model, const std::string& label) const {
  if (model.lora_bank_size() != experts_)
    throw InputError(label + ": the gate has " + std::to_string(experts_) +
                     " experts but the model's LoRA bank holds " +
                     std::to_string(model.lora_bank_size()));
  for (const auto& m : model.lora_bank_modules()) {
    const auto it = prototypes_.find(m);
    if (it == prototypes_.end()) throw InputError(label + ": no Arrow prototypes for '" + m + "'");
    const auto in = model.parameters().at(m + ".weight").size(1);
    if (it->second.size(1) != in)
      throw InputError(label + ": Arrow prototypes of '" + m + "' have width " +
                       std::to_string(it->second.size(1)) + " but the model's projection reads " +
                       std::to_string(in));
  }
}

at::Tensor ArrowGate::compute(const GateSite& site, const at::Tensor& x, const at::Tensor&) {
  const auto it = prototypes_.find(site.module);
  if (it == prototypes_.end())
    throw InputError("Arrow gate has no prototypes for '" + site.module + "'");
  const auto P = it->second.to(x.device(), x.scalar_type());  // [K, in], unit rows
  // |cos(x, v_k)| = |x · v_k| / ‖x‖ (the prototypes have unit norm; their sign is arbitrary).
  const auto cos = torch::matmul(x, P.t()).abs() / x.norm(2, -1, true).clamp_min(1e-12);
  const auto top = cos.topk(options_.top_k, -1);
  const auto w = torch::softmax(std::get<0>(top) / options_.temperature, -1);
  return torch::zeros_like(cos).scatter(-1, std::get<1>(top), w);
}

}  // namespace basin
