#include "merge/low_rank.h"

#include <dlfcn.h>

#include <algorithm>
#include <climits>

#include "util/errors.h"

namespace basin {
namespace {

// The Fortran BLAS SYRK of the BLAS LibTorch loaded (OpenBLAS on Debian), found at run time
// like runtime.cpp's openblas_set_num_threads; a Gram product through it costs half a GEMM.
using Ssyrk = void (*)(const char*, const char*, const int*, const int*, const float*, const float*,
                       const int*, const float*, float*, const int*);
Ssyrk find_ssyrk() {
  static const Ssyrk f = reinterpret_cast<Ssyrk>(dlsym(RTLD_DEFAULT, "ssyrk_"));
  return f;
}

// G = X Xᵀ for X = M (wide) or Mᵀ (tall): [m, m] with m = min(out, in), in M's dtype.
at::Tensor gram(const at::Tensor& M, bool wide) {
  const Ssyrk syrk = find_ssyrk();
  const int64_t m = std::min(M.size(0), M.size(1)), n = std::max(M.size(0), M.size(1));
  if (!syrk || M.scalar_type() != torch::kFloat32 || n > INT32_MAX) {
    return wide ? M.mm(M.t()) : M.t().mm(M);
  }
  // Row-major M [out, in] is column-major Mᶜ [in, out] with leading dimension `in`:
  // wide (out <= in): G = M Mᵀ = Mᶜᵀ Mᶜ ("T"); tall: G = Mᵀ M = Mᶜ Mᶜᵀ ("N").
  const auto X = M.contiguous();
  auto G = torch::zeros({m, m}, torch::kFloat32);
  const int ni = static_cast<int>(m), ki = static_cast<int>(n);
  const int lda = static_cast<int>(X.size(1));
  const float one = 1.0f, zero = 0.0f;
  syrk("U", wide ? "T" : "N", &ni, &ki, &one, X.data_ptr<float>(), &lda, &zero, G.data_ptr<float>(),
       &ni);
  // Column-major upper = row-major lower: mirror it.
  return G.tril() + G.tril(-1).t();
}

}  // namespace

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

Svd randomized_top_svd(const at::Tensor& M, int64_t rank, const RandomizedSvdOptions& o) {
  const bool wide = M.size(0) <= M.size(1);
  const int64_t m = std::min(M.size(0), M.size(1));
  const int64_t k = std::min<int64_t>(rank, m);
  const int64_t l = std::min<int64_t>(k + o.oversample, m);
  const auto G = gram(M, wide);
  at::Tensor U, lam;
  if (l >= m) {
    // The sketch would span the whole space: the exact eigh of G is no dearer.
    auto [evals, evecs] = torch::linalg_eigh(G.to(torch::kFloat64), "L");
    U = evecs.flip({1}).narrow(1, 0, k);
    lam = evals.flip({0}).narrow(0, 0, k);
  } else {
    // Halko et al. 2011, Alg. 4.4 on G (symmetric, so Gᵀ = G): Q = orth(G^{q+1} Ω), with a QR
    // after every product so float32 keeps the lower directions.
    auto gen = at::detail::createCPUGenerator(o.seed);
    const auto omega = torch::randn({m, l}, gen, G.options());
    auto Q = std::get<0>(torch::linalg_qr(G.mm(omega), "reduced"));
    for (int i = 0; i < o.power_iterations; ++i)
      Q = std::get<0>(torch::linalg_qr(G.mm(Q), "reduced"));
    // Rayleigh–Ritz (Alg. 5.3): the exact eigh of the small Qᵀ G Q, in float64.
    const auto Q64 = Q.to(torch::kFloat64);
    const auto T = Q64.t().mm(G.mm(Q).to(torch::kFloat64));
    auto [evals, evecs] = torch::linalg_eigh((T + T.t()) * 0.5, "L");  // ascending
    U = Q64.mm(evecs.flip({1}).narrow(1, 0, k));
    lam = evals.flip({0}).narrow(0, 0, k);
  }
  const auto S = lam.clamp_min(0.0).sqrt();
  // V = Xᵀ U Σ⁻¹; directions with σ ≈ 0 carry nothing and are zeroed instead of divided.
  const double tiny = (S.numel() ? S.max().item<double>() : 0.0) * 1e-12;
  const auto inv = torch::where(S > tiny, 1.0 / S, torch::zeros_like(S));
  const auto Xt = wide ? M.t() : M;  // [n, m]
  const auto V = Xt.mm(U.to(M.scalar_type())).to(torch::kFloat64) * inv.unsqueeze(0);
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
