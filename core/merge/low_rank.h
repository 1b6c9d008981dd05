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

// The same truncation as dense_top_svd through the top `rank` eigenpairs only (top_eigh:
// tridiagonalisation, bisection and twisted factorisations, certified, float64) of the Gram
// matrix formed by SYRK, and V in M's precision: the trim/drop merges' fast route. Equal to
// dense_top_svd within the rounding of M's precision (the Gram products' order of summation and V's
// product differ).
Svd dense_top_svd_partial(const at::Tensor& M, int64_t rank);

// B = U_r diag(S_r), A = V_rᵀ (rank r = min(rank, k)); with `clamp`, entries of both factors
// are clipped to ± the clamp-quantile of their pooled values (PEFT's svd clamp). float32 out.
Factors factors_from_svd(const Svd& svd, int64_t rank, std::optional<double> clamp);

}  // namespace basin
