#include "merge/low_rank.h"

#include "util/errors.h"

namespace basin {

Svd low_rank_svd(const std::vector<at::Tensor>& Bs, const std::vector<at::Tensor>& As,
                 const std::vector<double>& coeffs) {
  if (Bs.empty() || Bs.size() != As.size() || Bs.size() != coeffs.size())
    throw Error("low_rank_svd: factor lists disagree");
  std::vector<at::Tensor> bs, ats;
  for (size_t i = 0; i < Bs.size(); ++i) {
    bs.push_back(Bs[i].to(torch::kFloat64) * coeffs[i]);
    ats.push_back(As[i].to(torch::kFloat64).t());
  }
  const auto Bcat = torch::cat(bs, 1);   // [out, R]
  const auto Acat = torch::cat(ats, 1);  // [in, R]
  // ΔW = Bcat Acatᵀ = Qb (Rb Raᵀ) Qaᵀ
  auto [Qb, Rb] = torch::linalg_qr(Bcat, "reduced");
  auto [Qa, Ra] = torch::linalg_qr(Acat, "reduced");
  const auto core = Rb.mm(Ra.t());
  auto [Uc, S, Vhc] = torch::linalg_svd(core, /*full_matrices=*/false);
  return {Qb.mm(Uc), S, Qa.mm(Vhc.t())};
}

Svd dense_top_svd(const at::Tensor& M_in, int64_t rank) {
  const bool wide = M_in.size(0) <= M_in.size(1);  // Gram on the smaller side
  const auto X = wide ? M_in : M_in.t();           // [m, n], m <= n
  const int64_t k = std::min<int64_t>(rank, X.size(0));
  // The Gram product is the O(m²n) step: done in the input's precision (float32 for merges,
  // float64 in tests), then decomposed and projected in float64.
  const auto G = X.mm(X.t()).to(torch::kFloat64);
  auto [evals, evecs] = torch::linalg_eigh(G, "L");  // ascending
  const auto idx = torch::arange(X.size(0) - 1, X.size(0) - 1 - k, -1,
                                 torch::TensorOptions().dtype(torch::kLong));
  const auto lam = evals.index_select(0, idx).clamp_min(0.0);
  const auto U = evecs.index_select(1, idx);  // [m, k]
  const auto S = lam.sqrt();
  // V = Xᵀ U Σ⁻¹; directions with σ ≈ 0 carry nothing and are zeroed instead of divided.
  const double tiny = (S.numel() ? S.max().item<double>() : 0.0) * 1e-12;
  const auto inv = torch::where(S > tiny, 1.0 / S, torch::zeros_like(S));
  const auto V = X.t().to(torch::kFloat64).mm(U) * inv.unsqueeze(0);  // [n, k]
  if (wide) return {U, S, V};
  return {V, S, U};
}

Factors factors_from_svd(const Svd& svd, int64_t rank, std::optional<double> clamp) {
  const int64_t r = std::max<int64_t>(1, std::min<int64_t>(rank, svd.S.size(0)));
  auto B = svd.U.narrow(1, 0, r) * svd.S.narrow(0, 0, r).unsqueeze(0);  // [out, r]
  auto A = svd.V.narrow(1, 0, r).t().contiguous();                      // [r, in]
  if (clamp) {
    const auto pooled = torch::cat({B.flatten(), A.flatten()});
    const double hi = torch::quantile(pooled, *clamp).item<double>();
    B = B.clamp(-hi, hi);
    A = A.clamp(-hi, hi);
  }
  return {A.to(torch::kFloat32).contiguous(), B.to(torch::kFloat32).contiguous()};
}

}  // namespace basin
