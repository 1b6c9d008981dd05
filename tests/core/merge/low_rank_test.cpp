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
