// The low-rank SVD route against torch's dense SVD of the explicit matrix.
#include <gtest/gtest.h>

#include "merge/low_rank.h"
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

TEST(LowRank, RandomizedTopSvdMatchesTruncationWithASpectralGap) {
  // 24 directions decaying from 1 to 0.3, then a gap to 0.05 and a tail to 0.001 (σ_25/σ_24
  // = 1/6): error (1/6)^8 ≈ 6e-7 of σ_25 by Halko et al.'s bound, far under the tolerance.
  const auto head = torch::linspace(1.0, 0.3, 24, torch::kFloat64);
  const auto tail = torch::logspace(std::log10(0.05), -3.0, 96, 10.0, torch::kFloat64);
  for (auto shape : {std::pair<int64_t, int64_t>{300, 200}, {200, 500}}) {
    const auto M = with_spectrum(shape.first, shape.second, torch::cat({head, tail}), 5);
    const auto ref = test::dense_truncate(M, 24);
    // float64 in: exact to rounding; float32 in (as merges call it): float32 tolerance.
    EXPECT_LT(test::rel_err(rebuild(randomized_top_svd(M, 24)), ref), 1e-9);
    EXPECT_LT(test::rel_err(rebuild(randomized_top_svd(M.to(torch::kFloat32), 24)), ref), 1e-5);
  }
}

TEST(LowRank, RandomizedTopSvdWithoutAGapIsNearOptimal) {
  // A Gaussian matrix: singular values fall smoothly (Marchenko–Pastur), σ_25/σ_24 ≈ 0.99.
  // The factors then differ from the truncation's, but the approximation error stays within
  // a few per cent of the optimal one (Eckart–Young), ‖M − M̂‖_F ≤ 1.05 ‖M − M_24‖_F.
  const auto M = test::randn({300, 200}, 6).to(torch::kFloat64);
  const auto ref = test::dense_truncate(M, 24);
  const auto got = rebuild(randomized_top_svd(M, 24));
  const double opt = (M - ref).norm().item<double>();
  const double err = (M - got).norm().item<double>();
  EXPECT_LE(err, 1.05 * opt);
  RecordProperty("frobenius_error_over_optimal", std::to_string(err / opt));
  RecordProperty("rel_diff_to_truncation", std::to_string(test::rel_err(got, ref)));
  std::printf("no gap: ‖M−M̂‖/‖M−M_r‖ = %.5f, max|M̂−M_r|/max|M_r| = %.3g\n", err / opt,
              test::rel_err(got, ref));
}

TEST(LowRank, RandomizedTopSvdIsDeterministicAndExactAtFullRank) {
  const auto M = test::randn({120, 90}, 7);
  const auto a = randomized_top_svd(M, 20), b = randomized_top_svd(M, 20);
  EXPECT_TRUE(torch::equal(a.U, b.U));
  EXPECT_TRUE(torch::equal(a.S, b.S));
  EXPECT_TRUE(torch::equal(a.V, b.V));
  // rank + oversample ≥ min(out, in): the exact route.
  const auto M64 = M.to(torch::kFloat64);
  EXPECT_LT(test::rel_err(rebuild(randomized_top_svd(M64, 80)), test::dense_truncate(M64, 80)),
            1e-9);
}
