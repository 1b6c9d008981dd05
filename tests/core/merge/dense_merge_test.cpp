// The fast trim/drop route against references computed here with plain torch ops: dense task
// tensors, torch::kthvalue thresholds, whole-tensor sign election and disjoint mean. Shapes
// above 2^18 entries so the sampled bracket of kth_largest_magnitude is exercised.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

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
  // Every 11th entry zero, the entries the sample reads at this size (stride 300000 / 2^15
  // rounded up to a prime): it sees only zeros and brackets 0, so the second pass over the
  // full range must still be exact.
  auto holes = test::randn({300000}, 11);
  holes.index_put_({torch::indexing::Slice(0, torch::indexing::None, 11)}, 0.0f);
  for (const auto& t : {big, ties, sorted, holes, test::randn({37, 11}, 10)}) {
    const auto c = t.contiguous();
    const int64_t n = c.numel();
    for (int64_t k : {int64_t(1), n / 5, n / 2, n - 1, n}) {
      EXPECT_EQ(kth_largest_magnitude(c.data_ptr<float>(), n, k), kthvalue_threshold(c, k))
          << "n=" << n << " k=" << k;
    }
  }
}

TEST(Sparsify, BracketBlockCountsAndGathersInOrder) {
  // The counting pass's kernel (AVX-512 where the CPU has it, with a scalar tail) against a
  // plain loop: the count above the bracket and the gathered bit patterns, in order, for
  // lengths around the 16-lane width, signed values, ±inf and NaN, and brackets at the ends.
  auto x = test::randn({1000}, 12);
  x[3] = std::numeric_limits<float>::infinity();
  x[17] = -std::numeric_limits<float>::infinity();
  x[40] = std::numeric_limits<float>::quiet_NaN();
  x[41] = -0.0f;
  const auto* p = x.data_ptr<float>();
  const auto bits = [](float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b & 0x7fffffffu;
  };
  const std::pair<float, float> brackets[] = {{0.5f, 1.5f}, {0.0f, 0.1f}, {2.0f, 1e30f}};
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(15), int64_t(16), int64_t(17), int64_t(1000)}) {
    for (auto [flo, fhi] : brackets) {
      for (const auto& [lo, hi] : {std::pair<uint32_t, uint32_t>{bits(flo), bits(fhi)},
                                   std::pair<uint32_t, uint32_t>{0u, 0x7fffffffu}}) {
        int64_t above_ref = 0;
        std::vector<uint32_t> ref;
        for (int64_t j = 0; j < n; ++j) {
          const uint32_t b = bits(p[j]);
          if (b > hi) ++above_ref;
          if (b >= lo && b <= hi) ref.push_back(b);
        }
        std::vector<uint32_t> got(static_cast<size_t>(n) + 16);
        int64_t above = 5;  // added to
        const int64_t m = bracket_block(p, n, lo, hi, got.data(), &above);
        EXPECT_EQ(above, above_ref + 5) << n << " " << lo;
        got.resize(static_cast<size_t>(m));
        EXPECT_EQ(got, ref) << n << " " << lo;
      }
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

TEST(DenseMerge, FastModuleEqualsTheReferenceModule) {
  // The whole module: trim or drop, elect, mean and re-factorise to Σ r_i = 32 of
  // min(out, in) = 300. Independent random adapters trimmed to 20% leave no spectral gap at
  // 32, so this checks the exact truncation, not a near-optimal one: the fast route (top 32
  // eigenpairs by ?syevr, SYRK Gram, float32 V) against the reference route (full eigh) and
  // against the float64 truncation of the reference's dense ΔW computed here. The routes'
  // float32 Gram products differ by ‖ΔG‖₂ ≤ n ε₃₂ ‖M‖₂² (n = 400 terms), which moves the
  // rank-r truncation by about ‖ΔG‖₂ / σ_r even without a gap: relative 400 · 1.2e-7 · σ₁/σ_r
  // (≤ 3 here) ≈ 1.4e-4, so 2e-4 (measured about 1e-6). A wrong eigenpair or a truncation
  // that is only near-optimal (the rejected randomised solver: 0.33) is O(1) off.
  const auto in = inputs(4, 300, 400, 8);
  for (auto method : {MergeMethod::Ties, MergeMethod::DareTies, MergeMethod::MagnitudePrune}) {
    MergeRecipe r;
    r.method = method;
    r.density = 0.2;
    r.seed = 3;
    const auto fast = merge_module("m", in, r, 0, DenseRoute::Fast);
    const auto ref = merge_module("m", in, r, 0, DenseRoute::Reference);
    EXPECT_EQ(fast.rank(), 32);
    const auto product = [](const LoraModule& m) {
      return m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64));
    };
    // The dense ΔW before the factorisation: the reference's, bit for bit (the same GEMMs, c_i
    // applied once to each float32 product, the same thresholds and order of accumulation).
    EXPECT_TRUE(torch::equal(dense_merge(in, r), dense_merge_reference(in, r)))
        << method_name(method);
    const auto exact = test::dense_truncate(dense_merge_reference(in, r).to(torch::kFloat64), 32);
    EXPECT_LT(test::rel_err(product(fast), product(ref)), 2e-4) << method_name(method);
    EXPECT_LT(test::rel_err(product(fast), exact), 2e-4) << method_name(method);
    std::printf("%s: fast vs reference module, max rel ΔW diff %.3g\n", method_name(method),
                test::rel_err(product(fast), product(ref)));
  }
}

// Past the cache limit τ_i is recomputed per row block (7 rows here: 42 blocks and a last one
// of 6). Small integer factors and power-of-two coefficients make every product exact in
// float32 whatever the BLAS's blocking or order of summation, so the blocked route, the cached
// one and the reference route must agree bit for bit, many magnitudes tied at the threshold
// included: this checks the row offsets of the products, the DARE draws and the merged rows.
TEST(DenseMerge, RowBlocksPastTheCacheLimitGiveTheCachedMerge) {
  const int64_t out = 300, inf = 200, r = 4;
  std::vector<MergeInput> in;
  for (int i = 0; i < 4; ++i) {
    auto g = at::detail::createCPUGenerator(70 + i);
    in.push_back({torch::randint(-3, 4, {r, inf}, g, torch::kFloat32),
                  torch::randint(-3, 4, {out, r}, g, torch::kFloat32), i % 2 ? 0.5 : 0.25,
                  i == 2 ? -2.0 : 1.0, 31 + uint64_t(i)});
  }
  const int64_t row_bytes = int64_t(in.size()) * inf * 4;
  for (auto method : {MergeMethod::Ties, MergeMethod::MagnitudePrune, MergeMethod::DareTies,
                      MergeMethod::DareLinear}) {
    MergeRecipe rc;
    rc.method = method;
    rc.density = 0.3;
    rc.seed = 5;
    const auto blocked = dense_merge(in, rc, 4 * 7 * row_bytes);
    const auto cached = dense_merge(in, rc);
    EXPECT_TRUE(torch::equal(blocked, cached)) << method_name(method);
    EXPECT_TRUE(torch::equal(blocked, dense_merge_reference(in, rc))) << method_name(method);
    EXPECT_GT((blocked != 0).sum().item<int64_t>(), out * inf / 5) << method_name(method);
  }
}

TEST(Sparsify, DareCutIsTheSameDrawAsTheFloatingPointComparison) {
  // DARE keeps entry j when u_j = (mix64(key ^ j) >> 11) · 2⁻⁵³ < d (Yu et al. 2024, eq. 2);
  // the kernels compare the integer to dare_cut(d) instead. Checked draw by draw against the
  // floating-point rule, at dyadic densities (where u_j = d is possible), near 0 and 1, and
  // at the edges.
  EXPECT_EQ(dare_cut(0.5), uint64_t(1) << 52);
  EXPECT_EQ(dare_cut(0.0), 0u);
  EXPECT_EQ(dare_cut(1.0), uint64_t(1) << 53);
  EXPECT_EQ(dare_cut(0x1.0p-53), 1u);  // only u = 0 is below 2⁻⁵³
  EXPECT_EQ(dare_cut(0x1.8p-53), 2u);  // u ∈ {0, 2⁻⁵³} below 1.5 · 2⁻⁵³
  for (double d : {1e-9, 0.1, 0.2, 0.25, 0.3, 0.5, 0.9, 1.0 - 0x1.0p-53, 1.0}) {
    const uint64_t key = dare_key(9, 5), cut = dare_cut(d);
    int64_t kept = 0;
    for (int64_t j = 0; j < 200000; ++j) {
      const bool ref =
          static_cast<double>(mix64(key ^ static_cast<uint64_t>(j)) >> 11) * 0x1.0p-53 < d;
      ASSERT_EQ(dare_kept_cut(key, j, cut), ref) << "d=" << d << " j=" << j;
      kept += ref;
    }
    // The draw keeps about d of the entries (binomial, 6 standard deviations).
    EXPECT_NEAR(double(kept) / 200000.0, d, 6.0 * std::sqrt(d * (1 - d) / 200000.0) + 1e-6);
  }
}
