// The fast trim/drop route against references computed here with plain torch ops: dense task
// tensors, torch::kthvalue thresholds, whole-tensor sign election and disjoint mean. Shapes
// above 2^18 entries so the sampled bracket of kth_largest_magnitude is exercised.
#include <gtest/gtest.h>

#include "merge/dense_merge.h"
#include "merge/merge.h"
#include "merge/sparsify.h"
#include "test_support.h"

using namespace basin;

namespace {

// The threshold rule of the trim: the k-th largest |x| by torch::kthvalue.
float kthvalue_threshold(const at::Tensor& t, int64_t k) {
  return std::get<0>(torch::kthvalue(t.abs().flatten(), t.numel() - k + 1)).item<float>();
}

std::vector<MergeInput> inputs(int n, int64_t out, int64_t in, int64_t r) {
  std::vector<MergeInput> v;
  for (int i = 0; i < n; ++i) {
    const uint64_t s = 50 + 2 * uint64_t(i);
    v.push_back({test::randn({r, in}, s) / std::sqrt(double(in)), test::randn({out, r}, s + 1),
                 0.5 + 0.25 * i, i % 2 ? -1.0 : 1.5, 11 + uint64_t(i)});
  }
  return v;
}

at::Tensor tau(const MergeInput& x) {
  return x.B.mm(x.A) * (x.weight * x.scale);
}

// TIES steps 2–3 (Yadav et al. 2023, §3) on whole tensors.
at::Tensor ref_elect_mean(const std::vector<at::Tensor>& ts, bool frequency) {
  const auto st = torch::stack(ts, 0);
  const auto stat = frequency ? st.sign().sum(0) : st.sum(0);
  const auto e = torch::where(stat >= 0, 1.0, -1.0).to(st.scalar_type());
  const auto agree = (st.sign() == e.unsqueeze(0)).to(st.scalar_type());
  return (st * agree).sum(0) / agree.sum(0).clamp_min(1.0);
}

}  // namespace

TEST(Sparsify, KthLargestMagnitudeEqualsKthvalue) {
  const auto big = test::randn({640, 512}, 7);  // 327,680 entries: the sampled bracket
  // Quantised values: thousands of entries tie with the threshold.
  const auto ties = (test::randn({600, 500}, 8) * 16).round() / 16;
  // Sorted magnitudes: a strided sample sees a skewed picture, the bracket may miss.
  const auto sorted = std::get<0>(test::randn({300000}, 9).abs().sort()) * -1;
  // Every 9th entry (the sample's stride at this size) zero: the sample misses, the second
  // pass over the full range must still be exact.
  auto holes = test::randn({300000}, 11);
  holes.index_put_({torch::indexing::Slice(0, torch::indexing::None, 9)}, 0.0f);
  for (const auto& t : {big, ties, sorted, holes, test::randn({37, 11}, 10)}) {
    const auto c = t.contiguous();
    const int64_t n = c.numel();
    for (int64_t k : {int64_t(1), n / 5, n / 2, n - 1, n}) {
      EXPECT_EQ(kth_largest_magnitude(c.data_ptr<float>(), n, k), kthvalue_threshold(c, k))
          << "n=" << n << " k=" << k;
    }
  }
}

TEST(Sparsify, MagnitudeTrimKeepsTheSameEntriesAsKthvalue) {
  const auto ties = (test::randn({600, 500}, 8) * 16).round() / 16;
  for (const auto& t : {test::randn({640, 512}, 7), ties}) {
    for (double d : {0.05, 0.2, 0.7}) {
      const int64_t k = trim_count(d, t.numel());
      const auto ref = t * (t.abs() >= kthvalue_threshold(t, k)).to(t.scalar_type());
      const auto got = magnitude_trim(t, d);
      EXPECT_TRUE(torch::equal(got != 0, ref != 0)) << d;
      EXPECT_TRUE(torch::equal(got, ref)) << d;
      // Entries tied with the threshold are all kept, so at least k survive.
      EXPECT_GE((got != 0).sum().item<int64_t>(), k - (t == 0).sum().item<int64_t>());
    }
  }
}

TEST(DenseMerge, TiesAndMagnitudePruneMatchKthvalueReference) {
  const auto in = inputs(4, 640, 512, 8);
  for (auto method : {MergeMethod::Ties, MergeMethod::MagnitudePrune}) {
    for (bool frequency : {false, true}) {
      MergeRecipe r;
      r.method = method;
      r.density = 0.2;
      r.majority_sign = frequency ? MajoritySign::Frequency : MajoritySign::Total;
      std::vector<at::Tensor> ts;
      for (const auto& x : in) {
        const auto t = tau(x);
        const int64_t k = trim_count(0.2, t.numel());
        ts.push_back(t * (t.abs() >= kthvalue_threshold(t, k)).to(torch::kFloat32));
      }
      const auto ref = method == MergeMethod::Ties ? ref_elect_mean(ts, frequency)
                                                   : ts[0] + ts[1] + ts[2] + ts[3];
      const auto got = dense_merge(in, r);
      EXPECT_LT(test::rel_err(got, ref), 1e-6) << method_name(method) << frequency;
      // The same entries survive: a zero in one is a zero in the other.
      EXPECT_TRUE(torch::equal(got == 0, ref == 0)) << method_name(method) << frequency;
      EXPECT_LT(test::rel_err(got, dense_merge_reference(in, r)), 1e-6);
    }
  }
}

TEST(DenseMerge, DareMatchesMaskReference) {
  const auto in = inputs(3, 300, 200, 4);
  for (auto method : {MergeMethod::DareLinear, MergeMethod::DareTies}) {
    MergeRecipe r;
    r.method = method;
    r.density = 0.3;
    r.seed = 9;
    std::vector<at::Tensor> ts;
    for (const auto& x : in)
      ts.push_back(tau(x) * dare_keep_mask({300, 200}, 0.3, 9, x.stream) / 0.3);
    const auto ref =
        method == MergeMethod::DareTies ? ref_elect_mean(ts, false) : ts[0] + ts[1] + ts[2];
    EXPECT_LT(test::rel_err(dense_merge(in, r), ref), 1e-6) << method_name(method);
  }
}

TEST(DenseMerge, FullDensityIsThePlainSumOrTies) {
  const auto in = inputs(3, 40, 30, 3);
  MergeRecipe r;
  r.method = MergeMethod::Ties;
  r.density = 1.0;
  std::vector<at::Tensor> ts;
  for (const auto& x : in)
    ts.push_back(tau(x));
  EXPECT_LT(test::rel_err(dense_merge(in, r), ref_elect_mean(ts, false)), 1e-6);
  r.method = MergeMethod::MagnitudePrune;
  EXPECT_LT(test::rel_err(dense_merge(in, r), ts[0] + ts[1] + ts[2]), 1e-6);
}

TEST(DenseMerge, FastModuleIsANearOptimalTruncationOfTheSameDenseMerge) {
  // The whole module: trim, elect, mean and re-factorise to Σ r_i = 32 of min(out, in) = 300,
  // so the randomised eigensolver runs. Independent random adapters trimmed to 20% leave no
  // spectral gap at 32 (the rank-32 truncation is then ill-conditioned), so the factors are
  // checked by their error against the exact float64 truncation of the reference's dense ΔW.
  const auto in = inputs(4, 300, 400, 8);
  MergeRecipe r;
  r.method = MergeMethod::Ties;
  r.density = 0.2;
  const auto fast = merge_module("m", in, r, 0, DenseRoute::Fast);
  EXPECT_EQ(fast.rank(), 32);
  const auto M = dense_merge_reference(in, r).to(torch::kFloat64);
  const auto dw = fast.B.to(torch::kFloat64).mm(fast.A.to(torch::kFloat64));
  const double opt = (M - test::dense_truncate(M, 32)).norm().item<double>();
  EXPECT_LE((M - dw).norm().item<double>(), 1.02 * opt);
}
