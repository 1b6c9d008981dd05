// The LoRA side of CausalLM: installing a bank of adapters into slots, merging one into the
// weights, and the two routes of a projection with a bank (per-row coefficients on the bank's
// rank rows, or each row group's ΔW merged into a weight copy), chosen by a cost formula.
#include <set>

#include "model/causal_lm.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {

void CausalLM::set_lora_bank(const std::vector<std::shared_ptr<const Adapter>>& adapters) {
  slots_.clear();
  bank_size_ = static_cast<int64_t>(adapters.size());
  bank_ranks_.assign(adapters.size(), 0);
  const auto dev = param("model.embed_tokens.weight").device();
  std::set<std::string> targets;
  for (const auto& t : lora_targets())
    targets.insert(t);
  std::map<std::string, std::vector<std::pair<int64_t, const LoraModule*>>> per_module;
  for (size_t k = 0; k < adapters.size(); ++k)
    for (const auto& m : adapters[k]->modules) {
      if (!targets.count(m.name))
        throw InputError("adapter '" + adapters[k]->name + "' has module '" + m.name +
                         "', which this model does not have");
      const auto& W = param(m.name + ".weight");
      if (W.size(0) != m.out_features() || W.size(1) != m.in_features())
        throw InputError("adapter '" + adapters[k]->name + "' module '" + m.name +
                         "' has ΔW shape [" + std::to_string(m.out_features()) + ", " +
                         std::to_string(m.in_features()) + "] but the model's weight is " +
                         format_shape(W.sizes().vec()));
      per_module[m.name].emplace_back(static_cast<int64_t>(k), &m);
    }
  for (const auto& [name, entries] : per_module) {
    std::vector<at::Tensor> As, Bs, owners, scales;
    std::vector<std::pair<int64_t, int64_t>> rows(adapters.size(), {0, 0});
    int64_t first = 0;
    for (const auto& [k, m] : entries) {
      rows[static_cast<size_t>(k)] = {first, m->rank()};
      first += m->rank();
      As.push_back(m->A.to(dev, torch::kFloat32));
      Bs.push_back(m->B.to(dev, torch::kFloat32));
      owners.push_back(
          torch::full({m->rank()}, k, torch::TensorOptions().dtype(torch::kLong).device(dev)));
      scales.push_back(torch::full({m->rank()}, m->scale,
                                   torch::TensorOptions().dtype(torch::kFloat32).device(dev)));
    }
    for (size_t k = 0; k < rows.size(); ++k)
      bank_ranks_[k] = std::max(bank_ranks_[k], rows[k].second);
    slots_[name] = {torch::cat(As, 0).contiguous(), torch::cat(Bs, 1).contiguous(),
                    torch::cat(owners), torch::cat(scales), std::move(rows)};
  }
}

std::vector<std::string> CausalLM::lora_bank_modules() const {
  std::vector<std::string> out;
  for (const auto& t : lora_targets())
    if (slots_.count(t)) out.push_back(t);
  return out;
}

void CausalLM::clear_lora_bank() {
  slots_.clear();
  bank_size_ = 0;
  bank_ranks_.clear();
}

void CausalLM::merge_adapter(const Adapter& adapter, double weight) {
  for (const auto& m : adapter.modules) {
    auto it = params_.find(m.name + ".weight");
    if (it == params_.end())
      throw InputError("adapter '" + adapter.name + "' has module '" + m.name +
                       "', which this model does not have");
    auto& W = it->second;
    if (W.size(0) != m.out_features() || W.size(1) != m.in_features())
      throw InputError("adapter '" + adapter.name + "' module '" + m.name +
                       "' does not match the model's weight " + format_shape(W.sizes().vec()));
    W = W + (m.B.to(W.device(), torch::kFloat32).mm(m.A.to(W.device(), torch::kFloat32)) *
             (m.scale * weight));
  }
}

bool merged_groups_cheaper(int64_t tokens, int64_t groups, int64_t rank_rows, int64_t in,
                           int64_t out) {
  // Writing and reading a merged weight costs about this many multiply-adds per element
  // (memory-bound, against GEMM's compute-bound rate); measured on the demo kit's shapes.
  constexpr int64_t kMergeCopyCost = 8;
  // The merged copies of one projection stay under 256 MB.
  constexpr int64_t kMaxMergedFloats = int64_t{64} << 20;
  if (groups <= 0 || tokens % groups != 0 || groups * in * out > kMaxMergedFloats) return false;
  return groups * out * in * (rank_rows + kMergeCopyCost) < tokens * rank_rows * (in + out);
}

at::Tensor CausalLM::linear(const std::string& name, int64_t layer, const at::Tensor& x,
                            const Mix& mix) const {
  const auto& W = param(name + ".weight");
  const auto bias = params_.find(name + ".bias");
  // x W^T (+ b) as one GEMM into a fresh [tokens, out]: the bias rides in as the GEMM's C.
  auto plain = [&] {
    const auto x2 = x.reshape({-1, W.size(1)});
    at::Tensor y =
        bias != params_.end() ? torch::addmm(bias->second, x2, W.t()) : torch::mm(x2, W.t());
    auto shape = x.sizes().vec();
    shape.back() = W.size(0);
    return y.view(shape);
  };
  if (!mix.coeffs.defined() && !mix.gate) return plain();
  const auto it = slots_.find(name);
  if (it == slots_.end()) return plain();
  const Slot& s = it->second;
  if (mix.gate) {
    at::Tensor y = plain();
    const GateSite site{name, layer};
    if (mix.gate->needs_expert_outputs()) {
      // MoLE (Wu et al. 2024, eq. 4-6): the gate reads every expert's output
      // E_k = s_k B_k A_k x and the projection adds Σ_k G_k E_k.
      const auto h = torch::matmul(x, s.A.t()) * s.scale;  // [B, T, R]
      std::vector<at::Tensor> experts;
      for (const auto& [first, count] : s.rows)
        experts.push_back(
            count ? torch::matmul(h.narrow(-1, first, count), s.B.narrow(1, first, count).t())
                  : torch::zeros_like(y));
      const auto E = torch::stack(experts, 2);  // [B, T, K, out]
      const auto g = mix.gate->coefficients(site, x, E);
      return y + (E * g.unsqueeze(-1)).sum(2);
    }
    // Per-token weight of every rank row: G[b, t, owner(r)] · s_owner(r)   -> [B, T, R]
    const auto g = mix.gate->coefficients(site, x, {});
    const auto c = g.index_select(2, s.owner) * s.scale;
    return y + torch::matmul(torch::matmul(x, s.A.t()) * c, s.B.t());
  }
  Slot kept;
  const Slot* sp = &s;
  if (mix.active.defined()) {
    kept = active_slot(s, mix);
    if (!kept.A.defined()) return plain();  // no kept adapter touches this module
    sp = &kept;
  }
  using Route = LmForwardOptions::LoraRoute;
  const int64_t in = W.size(1), out = W.size(0), R = sp->A.size(0), tokens = x.numel() / in;
  if (mix.groups > 0 &&
      (mix.route == Route::kMergedGroups ||
       (mix.route == Route::kAuto && merged_groups_cheaper(tokens, mix.groups, R, in, out)))) {
    // W_g = W + B diag(c_g[owner] · s) A for each group g, then one GEMM per group.
    const int64_t G = mix.groups;
    const auto cg = mix.group_coeffs.index_select(1, sp->owner) * sp->scale.unsqueeze(0);
    const auto Wg =
        torch::baddbmm(W.unsqueeze(0).expand({G, out, in}), sp->B.unsqueeze(0) * cg.unsqueeze(1),
                       sp->A.unsqueeze(0).expand({G, R, in}));
    auto y = torch::bmm(x.reshape({G, tokens / G, in}), Wg.transpose(1, 2));
    if (bias != params_.end()) y = y + bias->second;
    auto shape = x.sizes().vec();
    shape.back() = out;
    return y.view(shape);
  }
  // Per-sample weight of every rank row: C[b, owner(r)] · s_owner(r)   -> [B, R]
  const auto c = mix.coeffs.index_select(1, sp->owner) * sp->scale.unsqueeze(0);
  const auto h = torch::matmul(x, sp->A.t()) * c.unsqueeze(1);  // [B, T, R]
  // The bank's product accumulates into the base output (GEMM with beta = 1): no second
  // [tokens, out] tensor and no elementwise add over it.
  at::Tensor y = plain();
  // In place, so autocast (bf16 evaluation) does not cast it: y is then bfloat16 (the base
  // GEMM's output) and h float32 (scaled by c); both factors follow y's type (no-ops in fp32).
  y.view({-1, out}).addmm_(h.reshape({-1, R}).to(y.scalar_type()), sp->B.t().to(y.scalar_type()));
  return y;
}

CausalLM::Slot CausalLM::active_slot(const Slot& s, const Mix& mix) const {
  std::vector<int64_t> rows, owner;
  for (size_t j = 0; j < mix.active_list.size(); ++j) {
    const auto [first, count] = s.rows[static_cast<size_t>(mix.active_list[j])];
    for (int64_t r = first; r < first + count; ++r) {
      rows.push_back(r);
      owner.push_back(static_cast<int64_t>(j));
    }
  }
  Slot out;
  if (rows.empty()) return out;
  const auto n = static_cast<int64_t>(rows.size());
  const auto dev = s.A.device();
  out.owner = torch::tensor(owner, torch::kLong).to(dev);
  if (rows.back() - rows.front() + 1 == n) {  // one block of rank rows: views, no copy
    out.A = s.A.narrow(0, rows.front(), n);
    out.B = s.B.narrow(1, rows.front(), n);
    out.scale = s.scale.narrow(0, rows.front(), n);
  } else {
    const auto idx = torch::tensor(rows, torch::kLong).to(dev);
    out.A = s.A.index_select(0, idx);
    out.B = s.B.index_select(1, idx);
    out.scale = s.scale.index_select(0, idx);
  }
  return out;
}

}  // namespace basin
