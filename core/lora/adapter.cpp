#include "lora/adapter.h"

#include <cmath>

#include "util/strings.h"

namespace basin {

const LoraModule* Adapter::find(std::string_view module) const {
  for (const auto& m : modules)
    if (m.name == module) return &m;
  return nullptr;
}

int64_t Adapter::parameter_count() const {
  int64_t n = 0;
  for (const auto& m : modules)
    n += m.A.numel() + m.B.numel();
  return n;
}

std::pair<int64_t, int64_t> Adapter::rank_range() const {
  if (modules.empty()) return {0, 0};
  int64_t lo = modules.front().rank(), hi = lo;
  for (const auto& m : modules) {
    lo = std::min(lo, m.rank());
    hi = std::max(hi, m.rank());
  }
  return {lo, hi};
}

std::vector<double> Adapter::delta_norms() const {
  std::vector<double> out;
  out.reserve(modules.size());
  for (const auto& m : modules) {
    // ||s B A||_F^2 = s^2 tr((BᵀB)(AAᵀ))
    const auto A = m.A.to(torch::kFloat64), B = m.B.to(torch::kFloat64);
    const double sq = (B.t().mm(B) * A.mm(A.t())).sum().item<double>();
    out.push_back(std::abs(m.scale) * std::sqrt(std::max(0.0, sq)));
  }
  return out;
}

void sort_modules(std::vector<LoraModule>& modules) {
  std::sort(modules.begin(), modules.end(),
            [](const LoraModule& a, const LoraModule& b) { return natural_less(a.name, b.name); });
}

}  // namespace basin
