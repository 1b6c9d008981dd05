// --peft-compat against PEFT 0.19's add_weighted_adapter formulas, on cases small enough to
// compute by hand (the expected numbers are written out in the comments).
//   adapter 1: A1 = [1 2], B1 = [1 0]ᵀ, r = 1, alpha = 2  -> s1 = 2
//   adapter 2: A2 = [0 1], B2 = [0 3]ᵀ, r = 1, alpha = 1  -> s2 = 1
//   weights w = (0.5, 2)  -> w1 s1 = 1, w2 s2 = 2
#include <gtest/gtest.h>

#include <cmath>

#include "lora/adapter_set.h"
#include "merge/merge.h"
#include "rank1_adapter.h"
#include "test_support.h"

using namespace basin;

namespace {

const std::string& kMod = test::kRank1Module;

using test::rank1_adapter;

AdapterSet pair() {
  AdapterSet s;
  s.add(rank1_adapter("one", {1, 2}, {1, 0}, 2.0));
  s.add(rank1_adapter("two", {0, 1}, {0, 3}, 1.0));
  return s;
}

LoraModule run(MergeMethod method, std::vector<double> w, double density = 1.0) {
  MergeRecipe r;
  r.method = method;
  r.weights = std::move(w);
  r.density = density;
  r.peft_compat = true;
  jobs::NullProgress p;
  auto s = pair();
  return merge(s, r, p).modules.at(0);
}

void expect_tensor(const at::Tensor& got, std::vector<double> want) {
  const auto g = got.to(torch::kFloat64).flatten();
  ASSERT_EQ(g.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(g[static_cast<int64_t>(i)].item<double>(), want[i], 1e-6) << "entry " << i;
}

const double r2 = std::sqrt(2.0);

}  // namespace

TEST(PeftCompat, CatPutsWeightAndScaleOnA) {
  // A = [w1 s1 A1; w2 s2 A2] = [[1 2]; [0 2]], B = [B1 B2] = [[1 0]; [0 3]]
  const auto m = run(MergeMethod::Cat, {0.5, 2.0});
  expect_tensor(m.A, {1, 2, 0, 2});
  expect_tensor(m.B, {1, 0, 0, 3});
  EXPECT_EQ(m.scale, 1.0);
}

TEST(PeftCompat, LinearSplitsSqrtOfWeightTimesScaleOverBothFactors) {
  // A' = 1·A1 + √2·A2 = [1, 2+√2];  B' = 1·B1 + √2·B2 = [1, 3√2]ᵀ
  const auto m = run(MergeMethod::Linear, {0.5, 2.0});
  expect_tensor(m.A, {1, 2 + r2});
  expect_tensor(m.B, {1, 3 * r2});
  // Negative weight: the sign goes on A only: A' = [1, 2-√2], B' unchanged.
  const auto n = run(MergeMethod::Linear, {0.5, -2.0});
  expect_tensor(n.A, {1, 2 - r2});
  expect_tensor(n.B, {1, 3 * r2});
}

TEST(PeftCompat, TiesVotesOnUnweightedFactorsThenTakesDisjointMean) {
  // A: signs (+,+) and (0,+), vote (+,+); A1 alone at entry 0 -> 1; entry 1 -> (2 + √2·1)/2.
  // B: (1,0) and (0,3): each entry has one agreeing tensor -> (1, 3√2).
  const auto m = run(MergeMethod::Ties, {0.5, 2.0});
  expect_tensor(m.A, {1, 1 + r2 / 2});
  expect_tensor(m.B, {1, 3 * r2});
}

TEST(PeftCompat, MagnitudePruneKeepsTopKOfEachFactor) {
  // density 0.5 keeps int(0.5·2) = 1 entry per factor: A1 -> [0 2], A2 -> [0 1], B's unchanged.
  const auto m = run(MergeMethod::MagnitudePrune, {0.5, 2.0}, 0.5);
  expect_tensor(m.A, {0, 2 + r2});
  expect_tensor(m.B, {1, 3 * r2});
}

TEST(PeftCompat, DareAtDensityOneIsTheWeightedSumOfFactors) {
  const auto m = run(MergeMethod::DareLinear, {0.5, 2.0}, 1.0);
  expect_tensor(m.A, {1, 2 + r2});
  expect_tensor(m.B, {1, 3 * r2});
}

TEST(PeftCompat, SvdAppliesTheScaleTwice) {
  // PEFT: ΔW = Σ (w_i s_i) · (s_i B_i A_i) = 2·[[1 2];[0 0]] + 2·[[0 0];[0 3]] = [[2 4];[0 6]],
  // truncated to rank max(r_i) = 1. For M = [[2 4];[0 6]]: MᵀM = [[4 8];[8 52]], its top
  // eigenvalue λ = 28 + √640, σ1 = √λ; rank-1 part = M v vᵀ with v the top eigenvector.
  const auto m = run(MergeMethod::Svd, {0.5, 2.0});
  const double lam = 28 + std::sqrt(640.0);
  // eigenvector of [[4 8];[8 52]] for λ: (8, λ-4) normalised
  const double vx = 8, vy = lam - 4, nv = std::sqrt(vx * vx + vy * vy);
  const double v0 = vx / nv, v1 = vy / nv;
  const double M[2][2] = {{2, 4}, {0, 6}};
  std::vector<double> want;
  for (int i = 0; i < 2; ++i) {
    const double mv = M[i][0] * v0 + M[i][1] * v1;
    want.push_back(mv * v0);
    want.push_back(mv * v1);
  }
  expect_tensor(m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64)), want);
  EXPECT_NEAR(m.B.to(torch::kFloat64).norm().item<double>(), std::sqrt(lam), 1e-5);  // B = U Σ
  // The exact route (c_i = w_i s_i) gives a different matrix: [[1 2];[0 6]] before truncation.
  MergeRecipe exact;
  exact.method = MergeMethod::Svd;
  exact.weights = {0.5, 2.0};
  exact.rank = 2;
  jobs::NullProgress p;
  auto s = pair();
  const auto e = merge(s, exact, p).modules.at(0);
  expect_tensor(e.B.to(torch::kFloat64).mm(e.A.to(torch::kFloat64)), {1, 2, 0, 6});
}

TEST(PeftCompat, CatPadsTheSlotWhereAnAdapterLacksTheModule) {
  AdapterSet s = pair();
  auto three = rank1_adapter("three", {5, 5}, {1, 1}, 1.0);
  three->modules[0].name = "model.layers.0.mlp.down_proj";
  s.add(three);
  MergeRecipe r;
  r.method = MergeMethod::Cat;
  r.peft_compat = true;
  r.weights = {1, 1, 1};
  jobs::NullProgress p;
  const auto out = merge(s, r, p);
  for (const auto& m : out.modules)
    EXPECT_EQ(m.rank(), 3) << m.name;  // Σ config r = 3
  const auto* down = out.find("model.layers.0.mlp.down_proj");
  ASSERT_NE(down, nullptr);
  expect_tensor(down->A, {5, 5, 0, 0, 0, 0});
}
