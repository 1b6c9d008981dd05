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

// SVD of Σ_i c_i B_i A_i: QR of the stacked B's and of the stacked Aᵀ's, then the SVD of the
// small R×R core R_B R_Aᵀ (R = Σ r_i). O((out + in) R² + R³) instead of O(out · in · min).
Svd low_rank_svd(const std::vector<at::Tensor>& Bs, const std::vector<at::Tensor>& As,
                 const std::vector<double>& coeffs);

// Top-`rank` SVD of a dense matrix, via the eigen-decomposition of the smaller Gram matrix
// (float64). Used for the trim/drop merges whose result is dense by nature.
Svd dense_top_svd(const at::Tensor& M, int64_t rank);

// B = U_r diag(S_r), A = V_rᵀ (rank r = min(rank, k)); with `clamp`, entries of both factors
// are clipped to ± the clamp-quantile of their pooled values (PEFT's svd clamp). float32 out.
Factors factors_from_svd(const Svd& svd, int64_t rank, std::optional<double> clamp);

}  // namespace basin
