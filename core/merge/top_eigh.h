// The top eigenpairs of a symmetric matrix, exactly: the re-factorisation of the trim/drop
// merges needs the top r of min(out, in) eigenpairs of the Gram matrix of ΔW, and a full eigh
// computes all of them.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace basin {

// Eigenvalues (descending) and their orthonormal eigenvectors.
struct TopEigh {
  at::Tensor values;   // [k]
  at::Tensor vectors;  // [m, k]
  // How they were found: float64's certified tridiagonal route, with T's vectors by twisted
  // factorisations (Twisted) or by inverse iteration (InverseIteration, when the former fail
  // the certificate: identical eigenvalues); or LAPACK ?syevr (float32, and the fallback).
  enum class Route { Twisted, InverseIteration, Syevr } route = Route::Syevr;
};

// The k largest eigenpairs of the symmetric G [m, m] (float32 or float64, 1 <= k <= m; only
// its upper triangle in row-major order, LAPACK's lower in column-major order, is read), in
// G's dtype. Every route shares the Householder tridiagonalisation T = QᵀGQ (?sytrd) and
// transforms only k vectors back, so O(4/3 m³ + 2 m² k) instead of the full eigh's
// O(4/3 m³ + 2 m³); they differ in how T's top k pairs are found. float64: the eigenvalues by
// bisection on Sturm counts (dstebz's method, 32 shifts at a time), the vectors by twisted
// factorisations and Cholesky QR, else by inverse iteration (dstein); Q applied in blocks of
// reflectors (dlarft/dlarfb). The pairs are certified on T before they are transformed back:
// max_j ‖T z_j − λ_j z_j‖₂ ≤ tol · ‖T‖∞ and max |ZᵀZ − I| ≤ tol, with tol =
// `certificate_tol` (default, when negative: 4 m ε, the bound of the TopEigh test);
// otherwise (and for float32) LAPACK ?syevr over the index range (bisection, inverse
// iteration, ?ormtr). All are backward stable: the pairs are exact for some G + E with
// ‖E‖₂ = O(m ε ‖G‖₂), so each eigenvalue is within that of the exact one (Weyl) and each
// residual ‖G v − λ v‖ is O(m ε ‖G‖₂), as for the full solver. Throws Error when LAPACK fails
// on every route.
TopEigh top_eigh(const at::Tensor& G, int64_t k, double certificate_tol = -1.0);

// The same pairs by LAPACK ?syevr over the index range alone (top_eigh's fallback; the
// benchmark compares the two routes).
TopEigh top_eigh_syevr(const at::Tensor& G, int64_t k);

}  // namespace basin
