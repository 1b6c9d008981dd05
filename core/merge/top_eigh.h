// The top eigenpairs of a symmetric matrix, exactly, by LAPACK's ?syevr over an index range:
// the re-factorisation of the trim/drop merges needs the top r of min(out, in) eigenpairs of
// the Gram matrix of ΔW, and a full eigh computes all of them.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace basin {

// Eigenvalues (descending) and their orthonormal eigenvectors.
struct TopEigh {
  at::Tensor values;   // [k]
  at::Tensor vectors;  // [m, k]
};

// The k largest eigenpairs of the symmetric G [m, m] (float32 or float64, 1 <= k <= m; only
// its lower triangle is read), in G's dtype. LAPACK ?syevr with RANGE = 'I' (Dhillon &
// Parlett's MRRR on the tridiagonal form): the same Householder tridiagonalisation as the full
// solver, then only k eigenvectors computed and transformed back, so O(4/3 m³ + m² k) instead
// of the full eigh's O(4/3 m³ + 2 m³). Backward stable: the pairs are exact for some G + E with
// ‖E‖₂ = O(m ε ‖G‖₂), so each eigenvalue is within that of the exact one (Weyl) and each
// residual ‖G v − λ v‖ is O(m ε ‖G‖₂), as for the full solver. Throws Error when LAPACK fails.
TopEigh top_eigh(const at::Tensor& G, int64_t k);

}  // namespace basin
