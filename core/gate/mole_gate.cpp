#include "gate/mole_gate.h"

#include <cmath>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

// "model.layers.12.mlp.up_proj" → "model.layers.12"
std::string block_of(const std::string& module) {
  const std::string p = "model.layers.";
  if (module.compare(0, p.size(), p) != 0) return module;
  const auto dot = module.find('.', p.size());
  return dot == std::string::npos ? module : module.substr(0, dot);
}

// The sites of a bank: site key → the output width its gate reads (K · out features).
std::map<std::string, int64_t> site_widths(const CausalLM& model, MoleGranularity g) {
  std::map<std::string, int64_t> out;
  for (const auto& m : model.lora_bank_modules()) {
    const std::string key = g == MoleGranularity::Block ? block_of(m) : m;
    if (!out.count(key)) out[key] = model.parameters().at(m + ".weight").size(0);
  }
  return out;
}

}  // namespace

const char* granularity_name(MoleGranularity g) {
  return g == MoleGranularity::Block ? "block" : "module";
}

MoleGranularity parse_granularity(const std::string& name) {
  if (name == "module") return MoleGranularity::Module;
  if (name == "block") return MoleGranularity::Block;
  throw InputError("unknown gate granularity '" + excerpt(name) + "' (expected module or block)");
}

std::unique_ptr<MoleGate> MoleGate::create(const CausalLM& model, MoleGranularity granularity,
                                           double temperature, uint64_t seed) {
  check_gate_temperature(temperature);
  const int64_t K = model.lora_bank_size();
  if (K <= 0) throw InputError("a MoLE gate needs a LoRA bank with at least one expert");
  auto gen = at::detail::createCPUGenerator(seed * 104729 + 17);
  const auto dev = model.parameters().at("model.embed_tokens.weight").device();
  std::map<std::string, at::Tensor> w;
  for (const auto& [key, out] : site_widths(model, granularity))
    w[key] = (torch::randn({K * out, K}, gen, torch::kFloat32) * 0.01).to(dev);
  if (w.empty()) throw InputError("the LoRA bank targets no module of the model");
  return std::make_unique<MoleGate>(K, granularity, temperature, std::move(w));
}

MoleGate::MoleGate(int64_t experts, MoleGranularity granularity, double temperature,
                   std::map<std::string, at::Tensor> weights)
    : experts_(experts),
      granularity_(granularity),
      temperature_(temperature),
      weights_(std::move(weights)) {
  check_gate_temperature(temperature);
  for (const auto& [key, w] : weights_)
    if (w.dim() != 2 || w.size(1) != experts_ || w.size(0) % experts_ != 0)
      throw InputError("MoLE gate weight '" + key +
                       "' is not [K·out, K] for K = " + std::to_string(experts_));
}

std::string MoleGate::site_key(const GateSite& site) const {
  return granularity_ == MoleGranularity::Block ? block_of(site.module) : site.module;
}

std::vector<at::Tensor> MoleGate::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& [k, w] : weights_)
    out.push_back(w);
  return out;
}

int64_t MoleGate::parameter_count() const {
  int64_t n = 0;
  for (const auto& [k, w] : weights_)
    n += w.numel();
  return n;
}

void MoleGate::set_active(const std::vector<bool>& active) {
  if (!active.empty()) {
    if (static_cast<int64_t>(active.size()) != experts_)
      throw InputError("expert mask has " + std::to_string(active.size()) +
                       " entries; the gate has " + std::to_string(experts_) + " experts");
    if (std::find(active.begin(), active.end(), true) == active.end())
      throw InputError("the expert mask leaves no expert active");
  }
  active_ = active;
}

void MoleGate::check_model(const CausalLM& model, const std::string& label) const {
  if (model.lora_bank_size() != experts_)
    throw InputError(label + ": the gate has " + std::to_string(experts_) +
                     " experts but the model's LoRA bank holds " +
                     std::to_string(model.lora_bank_size()));
  const auto want = site_widths(model, granularity_);
  for (const auto& [key, out] : want) {
    const auto it = weights_.find(key);
    if (it == weights_.end()) throw InputError(label + ": no gate weights for site '" + key + "'");
    if (it->second.size(0) != experts_ * out)
      throw InputError(
          label + ": gate '" + key + "' reads " + std::to_string(it->second.size(0) / experts_) +
          " features per expert but the model's projection has " + std::to_string(out));
  }
  for (const auto& [key, w] : weights_)
    if (!want.count(key))
      throw InputError(label + ": gate site '" + key + "' is not a LoRA site of this model");
}

at::Tensor MoleGate::compute(const GateSite& site, const at::Tensor& x,
                             const at::Tensor& expert_out) {
  const std::string key = site_key(site);
  const auto it = weights_.find(key);
  if (it == weights_.end()) throw InputError("MoLE gate has no weights for site '" + key + "'");
  const auto& E = expert_out;  // [B, T, K, out]
  const int64_t B = E.size(0), T = E.size(1);
  const auto flat = E.reshape({B, T, -1});
  if (flat.size(2) != it->second.size(0))
    throw InputError("MoLE gate '" + key + "' reads " + std::to_string(it->second.size(0)) +
                     " features but the site gives " + std::to_string(flat.size(2)));
  // ε = standardise(concat_k E_k) per token (MoLE eq. 5, "normalisation").
  const auto mean = flat.mean(-1, true);
  const auto var = (flat - mean).pow(2).mean(-1, true);
  const auto eps = (flat - mean) * torch::rsqrt(var + 1e-5);
  auto logits = torch::matmul(eps, it->second.to(eps.device())) / temperature_;  // [B, T, K]
  if (!active_.empty()) {
    std::vector<uint8_t> off;
    for (bool a : active_)
      off.push_back(a ? 0 : 1);
    const auto mask = torch::tensor(off, torch::kUInt8).to(logits.device(), torch::kBool);
    logits = logits.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  (void)x;
  return torch::softmax(logits, -1);  // MoLE eq. 6
}

at::Tensor mole_balance_loss(const std::vector<at::Tensor>& gates, const at::Tensor& mask) {
  if (gates.empty()) throw Error("internal: balance loss of no gates");
  at::Tensor total;
  for (const auto& g : gates) {
    const auto m = mask.to(g.device(), g.scalar_type()).unsqueeze(-1);         // [B, T, 1]
    const auto q = (g * m).sum(at::IntArrayRef{0, 1}) / m.sum().clamp_min(1);  // [K]
    const auto l = -torch::log(q.clamp_min(1e-12)).sum();
    total = total.defined() ? total + l : l;
  }
  return total / static_cast<double>(gates.size());
}

at::Tensor MoleGate::balance_loss() const {
  std::vector<at::Tensor> gates;
  for (const auto& [k, g] : last_gates())
    gates.push_back(g);
  return mole_balance_loss(gates, last_token_mask());
}

}  // namespace basin
