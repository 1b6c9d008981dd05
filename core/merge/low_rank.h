// Exact low-rank linear algebra for merges: the SVD of ΔW = Σ c_i B_i A_i from its factors,
// never forming the dense [out, in] matrix (DESIGN.md "Performance principles").
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace basin {

// ΔW ≈ U diag(S) Vᵀ with U [out, k], S [k] (descending), V [in, k]; float64.
struct Svd {
  at::Tensor U, S, V;
};

// LoRA factors with ΔW = B · A (scale folded in).
struct Factors {
  at::Tensor A;  // [r, in]
  at::Tensor B;  // [out, r]
};

// SVD of Σ_i c_i B_i A_i from its factors: each stack (the B's, the Aᵀ's; R = Σ r_i columns)
// is factored X = U M through its R×R Gram matrix (Cholesky; the eigendecomposition where a
// stack is rank-deficient; Householder QR where it is ill-conditioned) without forming U, then
// the core M_B diag(c) M_Aᵀ is decomposed and only the top `rank` vectors are formed, one
// [n, R]×[R, rank] product per side. O((out + in) R² + R³) instead of O(out · in · min).
// Returns min(rank, out, in, R) directions (all of them for rank < 0), float64; directions a
// stack lacks (a repeated adapter, c_i = 0) come back with σ = 0 and zero vectors.
Svd low_rank_svd(const std::vector<at::Tensor>& Bs, const std::vector<at::Tensor>& As,
                 const std::vector<double>& coeffs, int64_t rank = -1);

// Top-`rank` SVD of a dense matrix, via the eigen-decomposition of the smaller Gram matrix
// (float64). Used for the trim/drop merges whose result is dense by nature.
Svd dense_top_svd(const at::Tensor& M, int64_t rank);

// The randomised top-r eigensolver's settings (see randomized_top_svd).
struct RandomizedSvdOptions {
  int64_t oversample = 16;   // p: sketch columns beyond the rank (Halko et al. 2011, §4.2)
  int power_iterations = 3;  // q: products with the Gram matrix after the first (§4.5)
  uint64_t seed = 0x5eed;    // the Gaussian sketch's seed: the same factors on every run
};

// Top-`rank` SVD of a dense matrix by randomised subspace iteration on the smaller Gram
// matrix G = X Xᵀ (Halko, Martinsson & Tropp 2011, Alg. 4.4 with A = G, then Alg. 5.3's
// Rayleigh–Ritz step): Q = orth(G^{q+1} Ω) for a seeded Gaussian Ω [m, r + p], the exact
// eigh of Qᵀ G Q [r + p]², V = Xᵀ U Σ⁻¹. Cost O(m²n) for G (a float32 SYRK) plus
// O(q m² (r + p)) instead of the O(m³) full eigh. Its error against the exact truncation
// falls as (σ_{r+p+1} / σ_r)^{2(q+1)}: float32-exact where the spectrum has a gap after r,
// within a few per cent of the optimal truncation error without one (docs/PERFORMANCE.md).
// Where r + p reaches min(out, in), the Gram matrix is decomposed exactly. float64 out.
Svd randomized_top_svd(const at::Tensor& M, int64_t rank, const RandomizedSvdOptions& options = {});

// B = U_r diag(S_r), A = V_rᵀ (rank r = min(rank, k)); with `clamp`, entries of both factors
// are clipped to ± the clamp-quantile of their pooled values (PEFT's svd clamp). float32 out.
Factors factors_from_svd(const Svd& svd, int64_t rank, std::optional<double> clamp);

}  // namespace basin
