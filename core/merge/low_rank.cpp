#include "merge/low_rank.h"

#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>

#include "jobs/parallel.h"
#include "merge/top_eigh.h"
#include "util/errors.h"
#include "util/runtime.h"

namespace basin {
namespace {

// Below this many Gram multiply-adds, (out + in)·R², a module's SVD runs on one thread.
constexpr double kOneThreadFlops = 1e9;
// Below this many elements, element-wise passes over a module's factors run on one thread.
constexpr double kOneThreadElements = 1 << 24;

// The Fortran BLAS SYRKs of the BLAS LibTorch loaded (OpenBLAS on Debian), found at run time
// like runtime.cpp's openblas_set_num_threads; a Gram product through one costs half a GEMM.
template <typename T>
using Syrk = void (*)(const char*, const char*, const int*, const int*, const T*, const T*,
                      const int*, const T*, T*, const int*);
template <typename T>
Syrk<T> find_syrk() {
  static const Syrk<T> f = reinterpret_cast<Syrk<T>>(
      dlsym(RTLD_DEFAULT, std::is_same_v<T, float> ? "ssyrk_" : "dsyrk_"));
  return f;
}

// Full: the whole symmetric matrix. Otherwise only its upper triangle in row-major order
// (LAPACK's lower triangle in column-major order, all that top_eigh reads) is written, the
// rest is 0: the mirroring costs 2.2 ms per 896x896 Gram.
template <typename T>
at::Tensor syrk_gram(const at::Tensor& X, bool row_major, bool full) {
  const Syrk<T> syrk = find_syrk<T>();
  const int64_t n = X.size(0), m = X.size(1);
  auto G = torch::zeros({m, m}, X.options());
  // Row-major X [n, m] is column-major Xᶜ [m, n] (ld m): XᵀX = Xᶜ Xᶜᵀ ("N"). A transposed
  // contiguous X is column-major Xᶜ = X [n, m] (ld n): XᵀX = Xᶜᵀ Xᶜ ("T").
  const int mi = static_cast<int>(m), ki = static_cast<int>(n);
  const int lda = static_cast<int>(row_major ? m : n);
  const T one = 1, zero = 0;
  syrk(full ? "U" : "L", row_major ? "N" : "T", &mi, &ki, &one, X.data_ptr<T>(), &lda, &zero,
       G.data_ptr<T>(), &mi);
  // Column-major upper = row-major lower: mirror it.
  return full ? G.tril() + G.tril(-1).t() : G;
}

// G = XᵀX [m, m] for X [n, m], in X's dtype; through SYRK where X is float32 or float64 and
// row-major or the transpose of a row-major matrix (then, unless `full`, only the row-major
// upper triangle is written, as syrk_gram says).
at::Tensor gram_of_columns(const at::Tensor& X, bool full = true) {
  const bool row_major = X.is_contiguous(), col_major = X.t().is_contiguous();
  const bool fits =
      X.is_cpu() && X.size(0) <= INT32_MAX && X.size(1) <= INT32_MAX && (row_major || col_major);
  if (fits && X.scalar_type() == torch::kFloat32 && find_syrk<float>())
    return syrk_gram<float>(X, row_major, full);
  if (fits && X.scalar_type() == torch::kFloat64 && find_syrk<double>())
    return syrk_gram<double>(X, row_major, full);
  return X.t().mm(X);
}

// G = X Xᵀ for X = M (wide) or Mᵀ (tall): [m, m] with m = min(out, in), in M's dtype; its
// row-major upper triangle at least (gram_of_columns).
at::Tensor gram_upper(const at::Tensor& M, bool wide) {
  return gram_of_columns(wide ? M.t() : M, /*full=*/false);
}

// One stacked side X [n, R] of ΔW = Bcat diag(c) Acatᵀ, written X = U M with U [n, k]
// orthonormal and M [k, R]. U is kept implicit where it can be: U Y = X (P Y).
struct Side {
  at::Tensor M;  // [k, R]
  at::Tensor P;  // [R, k]: U = X P (Gram route)
  at::Tensor Q;  // [n, k]: U itself (QR route)
  at::Tensor basis_times(const at::Tensor& X, const at::Tensor& Y) const {
    return Q.defined() ? Q.mm(Y) : X.mm(P.mm(Y));
  }
};

// An eigenvalue of the column-normalised Gram matrix under kNullUlps · R · ulp of the largest is
// rounding noise: the direction is an exact linear dependence (the same adapter twice, a B
// that is a multiple of another) and is dropped. Measured for such stacks (n = 300–8960,
// R = 32–256): at most 8 ulp of the largest. A dropped direction carries a singular value of at
// most √(4 R ulp) ≈ 3e-7 of the stack's largest (R = 128), a few float32 ulps of the inputs.
constexpr double kNullUlps = 4.0;
// Kept directions above kResolved of the largest (the normalised stack's condition number
// κ ≤ 10⁴): U = X P is orthonormal to about ulp · κ² ≤ 2e-8 over all its columns (measured
// 3e-10 at κ = 10^3.6), and to rounding over the top ones. A stack with a direction between
// the two levels is factored by Householder QR instead, which resolves it.
constexpr double kResolved = 1e-8;
// The Cholesky route takes stacks whose Gram matrix is certified to κ(Gn) ≤ kCholeskyKappa:
// U is orthonormal to about ulp · κ(Gn) ≤ 2e-10. Random stacks certify at κ(Gn) ≤ 2e3.
constexpr double kCholeskyKappa = 1e6;

Side qr_side(const at::Tensor& X) {
  auto [Q, R] = torch::linalg_qr(X, "reduced");
  return {R, {}, Q};
}

// X = U M without forming U, from the column-normalised Gram matrix Gn = D⁻¹XᵀXD⁻¹: one SYRK,
// O(n R²), where Householder QR costs O(n R²) twice (factor, then form Q). A certified
// well-conditioned stack takes the Cholesky factor Gn = L Lᵀ: U = X D⁻¹ L⁻ᵀ, M = Lᵀ D
// (CholeskyQR, Fukaya et al. 2014); any other the eigendecomposition Gn = W Λ Wᵀ:
// U = X D⁻¹ W Λ^{-1/2}, M = Λ^{1/2} Wᵀ D (SVQB, Stathopoulos & Wu 2002), which drops
// noise-level directions. A stack with directions between noise and kResolved goes to QR.
Side gram_side(const at::Tensor& X) {
  const int64_t R = X.size(1);
  const auto G = gram_of_columns(X);
  const auto norms = G.diagonal().sqrt();
  // Zero columns (a B still at its zero initialisation) carry nothing: left out.
  const auto live = torch::nonzero(norms > 0).squeeze(1);
  const int64_t n_live = live.size(0);
  if (n_live == 0)
    return {torch::zeros({0, R}, X.options()), torch::zeros({R, 0}, X.options()), {}};
  const auto d = norms.index_select(0, live);
  const auto inv_d = 1.0 / d;
  const auto Gn = (n_live == R ? G : G.index_select(0, live).index_select(1, live)) *
                  inv_d.unsqueeze(1) * inv_d.unsqueeze(0);
  // M [k, live] and P [live, k], scattered back to all R columns (zero for the dead ones).
  auto side = [&](const at::Tensor& M, const at::Tensor& P) -> Side {
    if (n_live == R) return {M, P, {}};
    auto Mr = torch::zeros({M.size(0), R}, X.options());
    auto Pr = torch::zeros({R, P.size(1)}, X.options());
    Mr.index_copy_(1, live, M);
    Pr.index_copy_(0, live, P);
    return {Mr, Pr, {}};
  };
  auto [L, info] = torch::linalg_cholesky_ex(Gn, /*upper=*/false, /*check_errors=*/false);
  if (info.item<int>() == 0) {
    const auto L_inv = torch::linalg_solve_triangular(L, torch::eye(n_live, X.options()),
                                                      /*upper=*/false);
    // κ(Gn) ≤ ‖Gn‖_F ‖L⁻¹‖_F² (λ_max ≤ ‖Gn‖_F, 1/λ_min = ‖L⁻ᵀL⁻¹‖₂ ≤ ‖L⁻¹‖_F²).
    const double kappa = Gn.norm().item<double>() * L_inv.square().sum().item<double>();
    if (kappa <= kCholeskyKappa)
      return side(L.t() * d.unsqueeze(0), L_inv.t() * inv_d.unsqueeze(1));
  }
  auto [lam, W] = torch::linalg_eigh(Gn, "L");  // ascending; the largest is ≥ 1 (unit diagonal)
  const double top = lam[-1].item<double>();
  const double ulp = std::numeric_limits<double>::epsilon();
  const double noise = kNullUlps * double(n_live) * ulp * top;
  const auto kept = lam > noise;
  if ((kept & (lam < kResolved * top)).any().item<bool>()) return qr_side(X);
  const auto idx = torch::nonzero(kept).squeeze(1);
  const auto Wk = W.index_select(1, idx);  // [live, k]
  const auto s = lam.index_select(0, idx).sqrt();
  return side((Wk * d.unsqueeze(1)).t() * s.unsqueeze(1), Wk * inv_d.unsqueeze(1) / s.unsqueeze(0));
}

}  // namespace

// Gram-based SVD of a factored sum: CholeskyQR / SVQB per stack, then the R×R core's SVD.
Svd low_rank_svd(const std::vector<at::Tensor>& Bs, const std::vector<at::Tensor>& As,
                 const std::vector<double>& coeffs, int64_t rank) {
  if (Bs.empty() || Bs.size() != As.size() || Bs.size() != coeffs.size())
    throw Error("low_rank_svd: factor lists disagree");
  const int64_t out = Bs[0].size(0), in = As[0].size(1);
  int64_t total = 0, R = 0;  // all stacked columns; those with c_i ≠ 0
  for (size_t i = 0; i < Bs.size(); ++i) {
    if (Bs[i].dim() != 2 || As[i].dim() != 2 || Bs[i].size(0) != out || As[i].size(1) != in ||
        Bs[i].size(1) != As[i].size(0))
      throw Error("low_rank_svd: factor shapes disagree");
    total += Bs[i].size(1);
    if (coeffs[i] != 0.0) R += Bs[i].size(1);
  }
  // The Grams and basis products of one module are small (4096 x 4096 at R = 128: 0.13 GFLOP):
  // a second compute thread costs more in wake-ups than it saves (docs/PERFORMANCE.md).
  // The two stacks are independent: with a second core free (not inside a merge's workers,
  // which already hold one compute thread each), each side runs on its own thread.
  const bool small = double(out + in) * double(R) * double(R) < kOneThreadFlops;
  const bool sides_in_parallel = small && compute_threads() >= 2 && Bs[0].is_cpu();
  std::optional<jobs::OneComputeThread> one;
  if (small) one.emplace();
  const auto both = [&](const std::function<void(int)>& side) {
    if (!sides_in_parallel) {
      side(0);
      side(1);
      return;
    }
    jobs::parallel_tasks(2, 2, [&](size_t i, const std::atomic<bool>&) { side(int(i)); });
  };
  const int64_t k_all = std::min({out, in, total});
  const int64_t r = rank < 0 ? k_all : std::clamp<int64_t>(rank, 1, std::max<int64_t>(k_all, 1));
  // On the inputs' device (a merge on a CUDA device keeps every product there).
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(Bs[0].device());
  // Stacked in float64 (adapters with c_i = 0 left out): Bcat [out, R], Acat = Astackᵀ [in, R].
  auto Bcat = torch::empty({out, R}, f64);
  auto Astack = torch::empty({R, in}, f64);
  auto c = torch::empty({R}, f64);
  for (size_t i = 0, pos = 0; i < Bs.size(); ++i) {
    if (coeffs[i] == 0.0) continue;
    const int64_t ri = Bs[i].size(1);
    const auto p = static_cast<int64_t>(pos);
    Bcat.narrow(1, p, ri).copy_(Bs[i]);
    Astack.narrow(0, p, ri).copy_(As[i]);
    c.narrow(0, p, ri).fill_(coeffs[i]);
    pos += static_cast<size_t>(ri);
  }
  const auto Acat = Astack.t();
  // ΔW = Bcat diag(c) Acatᵀ = U_b (M_b diag(c) M_aᵀ) U_aᵀ; the SVD of the small core
  // M_b diag(c) M_aᵀ [k_b, k_a] gives ΔW's, and only its top r vectors are carried back.
  at::Tensor U, S, V;
  int64_t m = 0;
  if (R > 0) {
    Side b, a;
    both([&](int i) { (i == 0 ? b : a) = gram_side(i == 0 ? Bcat : Acat); });
    if (b.M.size(0) > 0 && a.M.size(0) > 0) {
      const auto core = (b.M * c.unsqueeze(0)).mm(a.M.t());
      auto [Uc, Sc, Vhc] = torch::linalg_svd(core, /*full_matrices=*/false);
      m = std::min(r, Sc.size(0));
      S = Sc.narrow(0, 0, m);
      const auto Uc_r = Uc.narrow(1, 0, m), Vc_r = Vhc.narrow(0, 0, m).t();
      both([&](int i) {
        if (i == 0)
          U = b.basis_times(Bcat, Uc_r);
        else
          V = a.basis_times(Acat, Vc_r);
      });
    }
  }
  if (m == r && m > 0) return {U, S, V};
  // ΔW has fewer than r directions (rank-deficient stack, zero coefficients): the rest carry
  // σ = 0 and zero vectors, so callers still get r columns.
  auto Uz = torch::zeros({out, r}, f64), Sz = torch::zeros({r}, f64),
       Vz = torch::zeros({in, r}, f64);
  if (m > 0) {
    Uz.narrow(1, 0, m).copy_(U);
    Sz.narrow(0, 0, m).copy_(S);
    Vz.narrow(1, 0, m).copy_(V);
  }
  return {Uz, Sz, Vz};
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
                                 torch::TensorOptions().dtype(torch::kLong).device(G.device()));
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

Svd dense_top_svd_partial(const at::Tensor& M, int64_t rank) {
  const bool wide = M.size(0) <= M.size(1);  // Gram on the smaller side
  const int64_t m = std::min(M.size(0), M.size(1));
  const int64_t k = std::clamp<int64_t>(rank, 1, m);
  // G = X Xᵀ by SYRK (half the multiply-adds of dense_top_svd's GEMM; the two differ in
  // rounding only), decomposed in float64 like the reference, for its top k pairs only.
  const auto e = top_eigh(gram_upper(M, wide).to(torch::kFloat64), k);
  const auto& U = e.vectors;  // [m, k]
  const auto S = e.values.clamp_min(0.0).sqrt();
  // V = Xᵀ U Σ⁻¹ in M's precision (float32 for merges: the factors are stored in float32);
  // directions with σ ≈ 0 carry nothing and are zeroed instead of divided.
  const double tiny = (S.numel() ? S.max().item<double>() : 0.0) * 1e-12;
  const auto inv = torch::where(S > tiny, 1.0 / S, torch::zeros_like(S));
  const auto Xt = wide ? M.t() : M;  // [n, m]
  const auto V = Xt.mm(U.to(M.scalar_type())).to(torch::kFloat64) * inv.unsqueeze(0);
  if (wide) return {U, S, V};
  return {V, S, U};
}

Factors factors_from_svd(const Svd& svd, int64_t rank, std::optional<double> clamp) {
  const int64_t r = std::max<int64_t>(1, std::min<int64_t>(rank, svd.S.size(0)));
  // A few element-wise passes over [out + in, r] elements. On two threads, OpenMP's worker
  // would then spin for milliseconds on the core (often the hyperthread sibling) that the next
  // module's one-thread BLAS calls need: 18 ms instead of 8.5 per 4096² merge (PERFORMANCE.md).
  std::optional<jobs::OneComputeThread> one;
  if (double(svd.U.size(0) + svd.V.size(0)) * double(r) < kOneThreadElements) one.emplace();
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
