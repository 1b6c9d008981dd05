// The low-rank SVD route against torch's dense SVD of the explicit matrix.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "merge/low_rank.h"
#include "merge/top_eigh.h"
#include "test_support.h"

using namespace basin;

TEST(LowRank, SvdOfFactoredSumMatchesDenseSvd) {
  std::vector<at::Tensor> As, Bs;
  std::vector<double> c{0.7, -1.3, 2.0};
  at::Tensor dense = torch::zeros({40, 30}, torch::kFloat64);
  const int64_t ranks[] = {3, 5, 2};
  for (int i = 0; i < 3; ++i) {
    As.push_back(test::randn({ranks[i], 30}, 10 + i));
    Bs.push_back(test::randn({40, ranks[i]}, 20 + i));
    dense +=
        c[static_cast<size_t>(i)] * Bs.back().to(torch::kFloat64).mm(As.back().to(torch::kFloat64));
  }
  const auto svd = low_rank_svd(Bs, As, c);
  const auto S_ref = torch::linalg_svdvals(dense);
  EXPECT_LT(test::rel_err(svd.S.narrow(0, 0, 10), S_ref.narrow(0, 0, 10)), 1e-10);
  const auto rebuilt = svd.U.mm(torch::diag(svd.S)).mm(svd.V.t());
  EXPECT_LT(test::rel_err(rebuilt, dense), 1e-10);
  // Orthonormal singular vectors.
  const auto k = svd.S.size(0);
  EXPECT_LT(test::rel_err(svd.U.t().mm(svd.U), torch::eye(k, torch::kFloat64)), 1e-10);
  EXPECT_LT(test::rel_err(svd.V.t().mm(svd.V), torch::eye(k, torch::kFloat64)), 1e-10);
}

namespace {

// Σ c_i B_i A_i kept as factors, and as the dense float64 matrix every result is checked against.
struct Stack {
  std::vector<at::Tensor> As, Bs;
  std::vector<double> c;
  at::Tensor dense() const {
    at::Tensor d = torch::zeros({Bs[0].size(0), As[0].size(1)}, torch::kFloat64);
    for (size_t i = 0; i < Bs.size(); ++i)
      d += c[i] * Bs[i].to(torch::kFloat64).mm(As[i].to(torch::kFloat64));
    return d;
  }
};

// n adapters of rank r with random float32 factors; B's of different scales, as trained ones.
Stack random_stack(int64_t out, int64_t in, int n, int64_t r, uint64_t seed) {
  Stack s;
  for (int i = 0; i < n; ++i) {
    s.As.push_back(test::randn({r, in}, seed + 2 * uint64_t(i)));
    s.Bs.push_back(test::randn({out, r}, seed + 2 * uint64_t(i) + 1) * std::pow(3.0, i % 3));
    s.c.push_back(i % 2 ? -0.7 : 1.3);
  }
  return s;
}

at::Tensor rebuild_svd(const Svd& svd) {
  return svd.U.mm(torch::diag(svd.S)).mm(svd.V.t());
}

// Largest |UᵀU − I| over U's non-zero columns.
double orthonormality_error(const at::Tensor& U) {
  const auto X = U.index_select(1, torch::nonzero(U.norm(2, {0}) > 0).squeeze(1));
  return (X.t().mm(X) - torch::eye(X.size(1), torch::kFloat64)).abs().max().item<double>();
}

bool finite(const Svd& svd) {
  return torch::isfinite(svd.U).all().item<bool>() && torch::isfinite(svd.S).all().item<bool>() &&
         torch::isfinite(svd.V).all().item<bool>();
}

}  // namespace

TEST(LowRank, TopRankSvdMatchesDenseTruncationOnTallWideAndSquare) {
  // Random stacks are well conditioned (their column-normalised Gram matrices certify at
  // κ ≤ 2e3): the Gram routes' error is then a few ulp (measured ≤ 6e-15 here), so 1e-10 leaves
  // room for the truncation's sensitivity to the gap at r. 40×30 has more stacked columns (48)
  // than either dimension: the stacks are rank-deficient by shape.
  for (auto [out, in] :
       std::vector<std::pair<int64_t, int64_t>>{{500, 64}, {64, 500}, {200, 200}, {40, 30}}) {
    SCOPED_TRACE(std::to_string(out) + "x" + std::to_string(in));
    const auto s = random_stack(out, in, 6, 8, 100);
    const auto dense = s.dense();
    const auto top = low_rank_svd(s.Bs, s.As, s.c, 10);
    ASSERT_EQ(top.S.size(0), 10);
    EXPECT_LT(test::rel_err(rebuild_svd(top), test::dense_truncate(dense, 10)), 1e-10);
    EXPECT_LT(test::rel_err(top.S, torch::linalg_svdvals(dense).narrow(0, 0, 10)), 1e-10);
    EXPECT_LT(orthonormality_error(top.U), 1e-12);
    EXPECT_LT(orthonormality_error(top.V), 1e-12);
    // All min(out, in, R) directions: ΔW itself, and the top 10 are the same vectors.
    const auto all = low_rank_svd(s.Bs, s.As, s.c);
    EXPECT_EQ(all.S.size(0), std::min<int64_t>({out, in, 48}));
    EXPECT_LT(test::rel_err(rebuild_svd(all), dense), 1e-10);
    EXPECT_LT(test::rel_err(all.U.narrow(1, 0, 10), top.U), 1e-12);
    EXPECT_LT(test::rel_err(all.V.narrow(1, 0, 10), top.V), 1e-12);
  }
}

TEST(LowRank, RankDeficientStacksDropDirectionsWithoutNaN) {
  // 5 adapters of rank 6 (30 stacked directions); each variant leaves ΔW of rank `rank`.
  const auto base = random_stack(120, 90, 5, 6, 200);
  std::vector<std::tuple<std::string, Stack, int64_t>> cases;
  auto add = [&](std::string name, int64_t rank, auto edit) {
    Stack s = base;
    edit(s);
    cases.emplace_back(std::move(name), std::move(s), rank);
  };
  add("same adapter twice", 24, [](Stack& s) {
    s.Bs[3] = s.Bs[1];
    s.As[3] = s.As[1];
  });
  add("one B a multiple of another", 24, [](Stack& s) { s.Bs[4] = s.Bs[0] * -2.0; });
  add("one A equal to another", 24, [](Stack& s) { s.As[2] = s.As[0]; });
  add("zero coefficient", 24, [](Stack& s) { s.c[2] = 0.0; });
  add("B still zero (untrained)", 24, [](Stack& s) { s.Bs[1] = torch::zeros_like(s.Bs[1]); });
  add("+c and -c of one adapter", 18, [](Stack& s) {
    s.Bs[3] = s.Bs[1];
    s.As[3] = s.As[1];
    s.c[3] = -s.c[1];
  });
  for (const auto& [name, s, rank] : cases) {
    SCOPED_TRACE(name);
    const auto dense = s.dense();
    const auto svd = low_rank_svd(s.Bs, s.As, s.c, 30);  // more than ΔW's rank
    ASSERT_TRUE(finite(svd));
    ASSERT_EQ(svd.S.size(0), 30);
    // The exact factorisation at full rank and the truncation at 10 (rounding-level errors: the
    // dropped directions are exact dependences, σ = 0 in exact arithmetic).
    EXPECT_LT(test::rel_err(rebuild_svd(svd), dense), 1e-10);
    const auto top = low_rank_svd(s.Bs, s.As, s.c, 10);
    EXPECT_LT(test::rel_err(rebuild_svd(top), test::dense_truncate(dense, 10)), 1e-10);
    // Beyond ΔW's rank: σ at rounding level (exactly 0 with zero vectors where a stack lost a
    // direction); the directions that are kept stay orthonormal.
    const double smax = svd.S[0].item<double>();
    EXPECT_LT(svd.S.narrow(0, rank, 30 - rank).abs().max().item<double>(), 1e-12 * smax);
    EXPECT_LT(orthonormality_error(svd.U), 1e-12);
    EXPECT_LT(orthonormality_error(svd.V), 1e-12);
  }
  // Every coefficient zero: ΔW = 0, returned as zeros of the requested rank.
  Stack zero = base;
  zero.c.assign(zero.c.size(), 0.0);
  const auto svd = low_rank_svd(zero.Bs, zero.As, zero.c, 8);
  ASSERT_TRUE(finite(svd));
  EXPECT_EQ(svd.S.size(0), 8);
  EXPECT_EQ(rebuild_svd(svd).abs().max().item<double>(), 0.0);
}

namespace {

// 4 adapters of rank 8 whose stacked B [300, 32] has singular values graded from 1 to `smallest`.
Stack graded_stack(double smallest, uint64_t seed) {
  Stack s = random_stack(300, 200, 4, 8, seed);
  const auto Q = std::get<0>(torch::linalg_qr(test::randn({300, 32}, 7).to(torch::kFloat64)));
  const auto Z = std::get<0>(torch::linalg_qr(test::randn({32, 32}, 8).to(torch::kFloat64)));
  const auto sv = torch::logspace(0, std::log10(smallest), 32, 10.0, torch::kFloat64);
  const auto X = Q.mm(torch::diag(sv)).mm(Z.t());
  for (int i = 0; i < 4; ++i)
    s.Bs[size_t(i)] = X.narrow(1, 8 * i, 8).contiguous();
  return s;
}

}  // namespace

TEST(LowRank, IllConditionedStacksStayExact) {
  // The top directions are exact to rounding whatever the route; all R columns of U stay
  // orthonormal to about ulp · κ² of the normalised stack (the Gram routes) or ulp (QR).
  struct Case {
    const char* name;
    double smallest;  // of the B stack's singular values
    double orthonormality_all;
  };
  // κ = 10²: the Cholesky route, ulp · κ² ≈ 2e-12 (measured 1e-13). κ = 10^3.6: beyond the
  // Cholesky route's certified κ(Gn) ≤ 10⁶, kept by the eigendecomposition (λ ≥ 1e-8),
  // ulp · κ² ≈ 3.5e-9 (measured 3e-10).
  for (const Case& c :
       {Case{"kappa 1e2", 1e-2, 1e-11}, Case{"kappa 10^3.6", std::pow(10, -3.6), 1e-8}}) {
    SCOPED_TRACE(c.name);
    const Stack s = graded_stack(c.smallest, 300);
    const auto dense = s.dense();
    const auto top = low_rank_svd(s.Bs, s.As, s.c, 8);
    EXPECT_LT(test::rel_err(rebuild_svd(top), test::dense_truncate(dense, 8)), 1e-10);
    EXPECT_LT(orthonormality_error(top.U), 1e-12);
    const auto all = low_rank_svd(s.Bs, s.As, s.c);
    EXPECT_LT(test::rel_err(rebuild_svd(all), dense), 1e-10);
    EXPECT_LT(orthonormality_error(all.U), c.orthonormality_all);
  }
  // One B equal to another up to 1e-5 (float64 inputs, so the difference is real): the
  // normalised Gram matrix has an eigenvalue near 1e-10, resolved only by Householder QR, which
  // the route falls back to — exact and orthonormal over every column.
  Stack s = random_stack(300, 200, 4, 8, 400);
  s.Bs[3] = s.Bs[0].to(torch::kFloat64) + 1e-5 * test::randn({300, 8}, 9).to(torch::kFloat64);
  const auto dense = s.dense();
  const auto all = low_rank_svd(s.Bs, s.As, s.c);
  EXPECT_LT(test::rel_err(rebuild_svd(all), dense), 1e-10);
  EXPECT_LT(orthonormality_error(all.U), 1e-12);
  const auto top = low_rank_svd(s.Bs, s.As, s.c, 8);
  EXPECT_LT(test::rel_err(rebuild_svd(top), test::dense_truncate(dense, 8)), 1e-10);
}

TEST(LowRank, Float32RoundedCombinationIsExactToItsRounding) {
  // B_3 = float32(B_0 + 0.5 B_1): a dependence broken only by float32 rounding (σ ~ 1e-8 of
  // the stack's), below the Gram route's noise level, so that direction is dropped. Its bound,
  // √(kNullUlps · R · ulp) ≈ 1.7e-7 of the stack (R = 32), sets the tolerance's scale; measured
  // 5e-10. Float32 factors carry 6e-8 relative rounding themselves.
  Stack s = random_stack(300, 200, 4, 8, 500);
  s.Bs[3] = (s.Bs[0].to(torch::kFloat64) + 0.5 * s.Bs[1].to(torch::kFloat64)).to(torch::kFloat32);
  const auto dense = s.dense();
  const auto top = low_rank_svd(s.Bs, s.As, s.c, 8);
  const double err = test::rel_err(rebuild_svd(top), test::dense_truncate(dense, 8));
  EXPECT_LT(err, 1e-6);
  EXPECT_LT(orthonormality_error(top.U), 1e-12);
  std::printf("float32-rounded combination: max rel ΔW error %.3g\n", err);
}

TEST(LowRank, DenseTopSvdMatchesTruncation) {
  for (auto shape : {std::pair<int64_t, int64_t>{20, 50}, {50, 20}}) {
    const auto M = test::randn({shape.first, shape.second}, 3).to(torch::kFloat64);
    const auto svd = dense_top_svd(M, 6);
    const auto rebuilt = svd.U.mm(torch::diag(svd.S)).mm(svd.V.t());
    EXPECT_LT(test::rel_err(rebuilt, test::dense_truncate(M, 6)), 1e-8);
  }
}

TEST(LowRank, FactorsFromSvdKeepBEqualsUSigma) {
  const auto M = test::randn({8, 6}, 4).to(torch::kFloat64);
  const auto svd = dense_top_svd(M, 6);
  const auto f = factors_from_svd(svd, 3, std::nullopt);
  EXPECT_EQ(f.A.sizes(), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(f.B.sizes(), (std::vector<int64_t>{8, 3}));
  // A has orthonormal rows (Vᵀ), B's column norms are the singular values.
  EXPECT_LT(test::rel_err(f.A.to(torch::kFloat64).mm(f.A.to(torch::kFloat64).t()),
                          torch::eye(3, torch::kFloat64)),
            1e-6);
  EXPECT_LT(test::rel_err(f.B.to(torch::kFloat64).norm(2, 0), svd.S.narrow(0, 0, 3)), 1e-6);
}

namespace {

// M = U diag(s) Vᵀ with orthonormal random U [m, n0], V [n, n0] and the given spectrum.
at::Tensor with_spectrum(int64_t m, int64_t n, const at::Tensor& s, uint64_t seed) {
  const int64_t k = s.size(0);
  const auto U = std::get<0>(torch::linalg_qr(test::randn({m, k}, seed).to(torch::kFloat64)));
  const auto V = std::get<0>(torch::linalg_qr(test::randn({n, k}, seed + 1).to(torch::kFloat64)));
  return U.mm(torch::diag(s)).mm(V.t());
}

at::Tensor rebuild(const Svd& svd) {
  return svd.U.mm(torch::diag(svd.S)).mm(svd.V.t());
}

}  // namespace

namespace {

constexpr double kEps64 = 0x1.0p-52, kEps32 = 0x1.0p-23;

// G = Q diag(λ) Qᵀ for a random orthogonal Q [m, m] (float64), and Q with its columns in the
// order of λ.
std::pair<at::Tensor, at::Tensor> symmetric_with_spectrum(const at::Tensor& lam, uint64_t seed) {
  const int64_t m = lam.size(0);
  const auto Q = std::get<0>(torch::linalg_qr(test::randn({m, m}, seed).to(torch::kFloat64)));
  const auto G = Q.mm(torch::diag(lam)).mm(Q.t());
  return {(G + G.t()) * 0.5, Q};
}

// ‖(I − V Vᵀ) W‖₂ for orthonormal V, W: the sine of the largest angle from span(W) to span(V).
double outside(const at::Tensor& V, const at::Tensor& W) {
  return torch::linalg_svdvals(W - V.mm(V.t().mm(W)))[0].item<double>();
}

}  // namespace

TEST(TopEigh, EqualsTheFullSpectrumOnSeparatedNearDegenerateDegenerateAndGapFreeSpectra) {
  // m = 160, the top k = 40. Both routes are backward stable: their pairs are exact for G + E
  // with ‖E‖₂ = O(m ε ‖G‖₂), so each eigenvalue is within ‖E‖₂ of the exact one (Weyl) and
  // each residual ‖G v − λ v‖ is within ‖E‖₂; tol = 4 m ε ‖G‖₂ allows LAPACK's constants
  // (measured below 0.05 tol). An eigenpair from the wrong end, a vector paired with the wrong
  // value or an unsorted result fails these by O(‖G‖). float64 runs the certified tridiagonal
  // route (dsterf + dstein) and, with a certificate tolerance of 0 that no result meets, the
  // ?syevr fallback; float32 runs ?syevr.
  const int64_t m = 160, k = 40;
  auto separated = torch::linspace(10.0, 1.0, m, torch::kFloat64);  // gap 0.057 at k
  // λ_k and λ_{k+1} 1e-9 apart (relative): the k-th eigenvector alone is ill-determined.
  auto near = separated.clone();
  near[k] = near[k - 1].item<double>() * (1.0 - 1e-9);
  // Five equal eigenvalues λ_{k-2..k+2} across the cut, and a triple top eigenvalue.
  auto degenerate = separated.clone();
  degenerate.narrow(0, k - 3, 5).fill_(degenerate[k - 1].item<double>());
  degenerate.narrow(0, 0, 3).fill_(10.0);
  // No gap anywhere: λ_{i+1}/λ_i = 0.9995 (the merged ΔW of the sample set reach
  // σ_{r+1}/σ_r = 0.9995), so all pairs lie in one of dstein's clusters (spacing below
  // 10⁻³ ‖G‖) and are reorthogonalised against each other.
  const auto gap_free = 10.0 * torch::pow(0.9995, torch::arange(m, torch::kFloat64));
  int seed = 20;
  enum class Variant { Double, DoubleFallback, Single };
  for (const auto& lam : {separated, near, degenerate, gap_free}) {
    const auto [G, Q] = symmetric_with_spectrum(lam, ++seed);
    const double norm = lam.max().item<double>();
    for (auto variant : {Variant::Double, Variant::DoubleFallback, Variant::Single}) {
      const bool single = variant == Variant::Single;
      const double eps = single ? kEps32 : kEps64;
      const double tol = 4.0 * double(m) * eps * norm;
      // Single precision: the float32-rounded G is the problem; its float64 spectrum the
      // reference.
      const auto Gp = single ? G.to(torch::kFloat32) : G;
      const auto G64 = Gp.to(torch::kFloat64);
      const auto exact = std::get<0>(torch::linalg_eigh(G64)).flip({0}).narrow(0, 0, k);
      const auto e = top_eigh(Gp, k, variant == Variant::DoubleFallback ? 0.0 : -1.0);
      const int v = static_cast<int>(variant);
      if (variant == Variant::DoubleFallback) {  // the fallback is ?syevr itself
        EXPECT_TRUE(torch::equal(e.vectors, top_eigh_syevr(Gp, k).vectors)) << v;
      }
      // float64 takes the twisted factorisations wherever the matrix is in general position
      // (the degenerate spectrum's equal eigenvalues are split by G's rounding, and Cholesky
      // QR orthonormalises their vectors); the fallback and float32 run ?syevr.
      if (variant == Variant::Double) {
        EXPECT_NE(e.route, TopEigh::Route::Syevr) << v;
        if (lam.equal(separated) || lam.equal(gap_free)) {
          EXPECT_EQ(e.route, TopEigh::Route::Twisted) << v;
        }
      } else {
        EXPECT_EQ(e.route, TopEigh::Route::Syevr) << v;
      }
      ASSERT_EQ(e.values.scalar_type(), Gp.scalar_type());
      ASSERT_EQ(e.vectors.sizes(), (std::vector<int64_t>{m, k}));
      const auto val = e.values.to(torch::kFloat64), V = e.vectors.to(torch::kFloat64);
      EXPECT_LE((val - exact).abs().max().item<double>(), tol) << v;
      const auto residual = (G64.mm(V) - V * val.unsqueeze(0)).norm(2, 0).max();
      EXPECT_LE(residual.item<double>(), tol) << v;
      EXPECT_LE((V.t().mm(V) - torch::eye(k, torch::kFloat64)).abs().max().item<double>(),
                4.0 * double(m) * eps)
          << v;
      if (single) continue;
      // The subspace, where it is determined (Davis–Kahan: sin θ ≤ ‖E‖₂ / gap). Separated and
      // gap-free: span(V) is the top-k eigenspace (gap-free: λ_k − λ_{k+1} = 5e-4 λ_k ≫ tol).
      // Near-degenerate and degenerate: span(V) holds the eigenvectors above the cluster at
      // the cut and lies in those down to its end.
      const bool plain = lam.equal(separated) || lam.equal(gap_free);
      const int64_t below = plain ? k : k - 3;  // first index in the cluster
      const int64_t end = plain ? k : lam.equal(near) ? k + 1 : k + 2;
      const double gap_in = lam[below - 1].item<double>() - lam[below].item<double>();
      const double gap_out = lam[end - 1].item<double>() - lam[end].item<double>();
      EXPECT_LE(outside(V, Q.narrow(1, 0, below)), tol / gap_in) << v;
      const auto Qend = Q.narrow(1, 0, end);
      EXPECT_LE(outside(Qend, V), tol / gap_out) << v;
    }
  }
}

TEST(TopEigh, AllPairsAndTinyMatrices) {
  // k = m (every pair, as for the 128-row k_proj Grams), m = 1 and 2, a matrix whose
  // tridiagonal form splits (block diagonal: dsytrd leaves exact zeros between the blocks)
  // with the same eigenvalue in both blocks. Checked as above against torch's eigh.
  const auto block =
      std::get<0>(symmetric_with_spectrum(torch::tensor({3.0, 2.0, 1.0}, torch::kFloat64), 5));
  auto split = torch::zeros({6, 6}, torch::kFloat64);
  split.narrow(0, 0, 3).narrow(1, 0, 3).copy_(block);
  split.narrow(0, 3, 3).narrow(1, 3, 3).copy_(block);
  const auto lam40 = torch::linspace(5.0, 0.5, 40, torch::kFloat64);
  const std::vector<std::pair<at::Tensor, int64_t>> cases = {
      {std::get<0>(symmetric_with_spectrum(lam40, 6)), 40},
      {torch::full({1, 1}, 2.5, torch::kFloat64), 1},
      {std::get<0>(symmetric_with_spectrum(torch::tensor({2.0, -1.0}, torch::kFloat64), 7)), 1},
      {split, 4},
      // The zero matrix (bisection's interval shrinks to pivmin) and a negative definite one.
      {torch::zeros({5, 5}, torch::kFloat64), 2},
      {std::get<0>(symmetric_with_spectrum(-torch::linspace(1.0, 3.0, 12, torch::kFloat64), 8)),
       5}};
  for (const auto& [G, k] : cases) {
    const int64_t m = G.size(0);
    // 4 m ε ‖G‖₂ as above, with ‖G‖₂ ≤ m max |g_ij|, plus 1e-300 for the zero matrix
    // (bisection stops within pivmin ≈ 2.2e-308 of an eigenvalue).
    const double tol = 4.0 * double(m) * kEps64 * G.abs().max().item<double>() * double(m) + 1e-300;
    const auto exact = std::get<0>(torch::linalg_eigh(G)).flip({0}).narrow(0, 0, k);
    const auto e = top_eigh(G, k);
    // m = 1 has no tridiagonal form to certify, and the zero matrix's certificate bound
    // tol ‖T‖∞ is 0, which bisection's pivmin-wide answer misses: both run ?syevr.
    const bool fallback = m == 1 || G.abs().max().item<double>() == 0.0;
    // The split matrix has exactly equal eigenvalues (one in each block): the twisted
    // factorisations give equal vectors, Cholesky QR fails, and inverse iteration runs.
    const auto expected = fallback         ? TopEigh::Route::Syevr
                          : G.equal(split) ? TopEigh::Route::InverseIteration
                                           : TopEigh::Route::Twisted;
    EXPECT_EQ(e.route, expected) << m;
    EXPECT_LE((e.values - exact).abs().max().item<double>(), tol) << m;
    const auto residual = (G.mm(e.vectors) - e.vectors * e.values.unsqueeze(0)).abs().max();
    EXPECT_LE(residual.item<double>(), tol) << m;
    EXPECT_LE(
        (e.vectors.t().mm(e.vectors) - torch::eye(k, torch::kFloat64)).abs().max().item<double>(),
        4.0 * double(m) * kEps64)
        << m;
  }
}

TEST(TopEigh, ReadsOnlyTheUpperTriangle) {
  // dense_top_svd_partial hands over a Gram matrix whose SYRK wrote only the row-major upper
  // triangle: NaN below the diagonal must change nothing, on either route.
  const auto G =
      std::get<0>(symmetric_with_spectrum(torch::linspace(4.0, 1.0, 30, torch::kFloat64), 9));
  const auto upper = G.triu() + torch::full_like(G, std::nan("")).tril(-1);
  for (double tol : {-1.0, 0.0}) {
    const auto a = top_eigh(G, 7, tol), b = top_eigh(upper, 7, tol);
    EXPECT_EQ(a.route, b.route);
    EXPECT_TRUE(torch::equal(a.values, b.values)) << tol;
    EXPECT_TRUE(torch::equal(a.vectors, b.vectors)) << tol;
  }
}

TEST(LowRank, DenseTopSvdPartialEqualsTheFullEighTruncation) {
  // Both compute the Gram matrix of the smaller side and its eigenpairs; the partial route
  // forms G by SYRK instead of GEMM and only the top r pairs. float64 in: the same truncation
  // to rounding, with or without a spectral gap at r (1e-9 leaves 10⁶ ε for the Gram's
  // κ(σ₁²/σ_r²) ≤ 20). With a gap: σ₂₅/σ₂₄ = 1/6; without: a Gaussian matrix, σ₂₅/σ₂₄ ≈ 0.99.
  const auto head = torch::linspace(1.0, 0.3, 24, torch::kFloat64);
  const auto tail = torch::logspace(std::log10(0.05), -3.0, 96, 10.0, torch::kFloat64);
  for (auto shape : {std::pair<int64_t, int64_t>{300, 200}, {200, 500}}) {
    const auto gapped = with_spectrum(shape.first, shape.second, torch::cat({head, tail}), 5);
    const auto gauss = test::randn({shape.first, shape.second}, 6).to(torch::kFloat64);
    for (const auto& M : {gapped, gauss}) {
      const auto ref = test::dense_truncate(M, 24);
      EXPECT_LT(test::rel_err(rebuild(dense_top_svd_partial(M, 24)), ref), 1e-9);
      EXPECT_LT(test::rel_err(rebuild(dense_top_svd(M, 24)), ref), 1e-9);
      // float32 in, as the merges call it, against the reference route on the same float32
      // matrix: the two Gram products round differently, ‖ΔG‖₂ ≤ n ε₃₂ ‖M‖₂² (n ≤ 500 terms),
      // and a perturbation of G moves the rank-r truncation by at most about ‖ΔG‖₂ / σ_r even
      // without a gap (a rotation inside a cluster moves it by the cluster's width times the
      // angle): relative n ε₃₂ σ₁/σ_r ≤ 500 · 1.2e-7 · 3.4 ≈ 2e-4 (measured about 1e-6).
      const auto M32 = M.to(torch::kFloat32);
      const double err =
          test::rel_err(rebuild(dense_top_svd_partial(M32, 24)), rebuild(dense_top_svd(M32, 24)));
      EXPECT_LT(err, 2e-4);
      std::printf("%ldx%ld float32: partial vs full eigh, max rel ΔW diff %.3g\n", shape.first,
                  shape.second, err);
    }
  }
  // rank = min(out, in): every pair, the exact matrix back.
  const auto M = test::randn({30, 70}, 8).to(torch::kFloat64);
  EXPECT_LT(test::rel_err(rebuild(dense_top_svd_partial(M, 30)), M), 1e-12);
}
