// Every merge method against a dense float64 reference computed here from DESIGN.md's formulas,
// on small random adapters with unequal ranks and scales. ΔW is compared (factors are defined
// only up to an r×r change of basis). Tolerance: the merge computes in float32/float64 on
// entries of size ~1, so 1e-5 relative to max|ΔW| is ~100 float32 ulps of headroom.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "lora/adapter_set.h"
#include "merge/merge.h"
#include "merge/sparsify.h"
#include "test_support.h"
#include "util/errors.h"
#include "util/runtime.h"

using namespace basin;

namespace {

constexpr double kTol = 1e-5;
constexpr int64_t kOut = 12, kIn = 10;
const std::string kMod = "model.layers.0.self_attn.q_proj";

std::shared_ptr<Adapter> make_adapter(const std::string& name, int64_t r, double alpha,
                                      uint64_t seed) {
  auto a = std::make_shared<Adapter>();
  a->name = name;
  a->config.r = r;
  a->config.lora_alpha = alpha;
  LoraModule m;
  m.name = kMod;
  m.A = test::randn({r, kIn}, seed);
  m.B = test::randn({kOut, r}, seed + 100);
  m.alpha = alpha;
  m.scale = alpha / double(r);
  a->modules.push_back(m);
  return a;
}

// Three adapters: ranks 2, 3, 4 with scales 2, 1/3, 4.
AdapterSet three() {
  AdapterSet s;
  s.add(make_adapter("a", 2, 4.0, 1));
  s.add(make_adapter("b", 3, 1.0, 2));
  s.add(make_adapter("c", 4, 16.0, 3));
  return s;
}

at::Tensor delta(const LoraModule& m) {
  return m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64)) * m.scale;
}

at::Tensor merged_delta(const AdapterSet& s, const MergeRecipe& r) {
  jobs::NullProgress p;
  const Adapter out = merge(s, r, p);
  EXPECT_EQ(out.modules.size(), 1u);
  return delta(out.modules[0]);
}

// Reference trim: keep the k = floor(d·n) largest |x| (by sorting a copy).
at::Tensor ref_trim(const at::Tensor& t, double d) {
  const int64_t n = t.numel(), k = static_cast<int64_t>(d * n);
  std::vector<double> mags(static_cast<size_t>(n));
  auto acc = t.contiguous();
  for (int64_t i = 0; i < n; ++i)
    mags[static_cast<size_t>(i)] = std::abs(acc.view(-1)[i].item<double>());
  std::sort(mags.begin(), mags.end(), std::greater<>());
  if (k == 0) return torch::zeros_like(t);
  const double thr = mags[static_cast<size_t>(k - 1)];
  return t * (t.abs() >= thr).to(t.scalar_type());
}

// Reference TIES over a list of dense task tensors: elect (total or frequency), disjoint mean.
at::Tensor ref_ties(const std::vector<at::Tensor>& ts, bool frequency) {
  const auto n = ts.front().numel();
  auto out = torch::zeros_like(ts.front());
  for (int64_t j = 0; j < n; ++j) {
    double stat = 0;
    for (const auto& t : ts) {
      const double v = t.view(-1)[j].item<double>();
      stat += frequency ? (v > 0) - (v < 0) : v;
    }
    const double elected = stat >= 0 ? 1 : -1;
    double sum = 0;
    int count = 0;
    for (const auto& t : ts) {
      const double v = t.view(-1)[j].item<double>();
      if ((v > 0 && elected > 0) || (v < 0 && elected < 0)) {
        sum += v;
        ++count;
      }
    }
    out.view(-1)[j] = count ? sum / count : 0.0;
  }
  return out;
}

}  // namespace

TEST(Merge, CatIsExactWeightedSum) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::Cat;
  r.weights = {0.5, -1.0, 2.0};
  at::Tensor ref = torch::zeros({kOut, kIn}, torch::kFloat64);
  for (size_t i = 0; i < 3; ++i)
    ref += r.weights[i] * delta(s[i].modules[0]);
  EXPECT_LT(test::rel_err(merged_delta(s, r), ref), kTol);
  jobs::NullProgress p;
  EXPECT_EQ(merge(s, r, p).modules[0].rank(), 2 + 3 + 4);
}

TEST(Merge, LinearHasCrossTerms) {
  AdapterSet s;
  s.add(make_adapter("a", 3, 6.0, 1));
  s.add(make_adapter("b", 3, 1.5, 2));
  MergeRecipe r;
  r.method = MergeMethod::Linear;  // default weights 1/2
  at::Tensor A = torch::zeros({3, kIn}, torch::kFloat64),
             B = torch::zeros({kOut, 3}, torch::kFloat64);
  for (size_t i = 0; i < 2; ++i) {
    const auto& m = s[i].modules[0];
    A += 0.5 * std::sqrt(m.scale) * m.A.to(torch::kFloat64);
    B += 0.5 * std::sqrt(m.scale) * m.B.to(torch::kFloat64);
  }
  EXPECT_LT(test::rel_err(merged_delta(s, r), B.mm(A)), kTol);
  // Unequal ranks are refused, naming the module.
  auto t = three();
  try {
    jobs::NullProgress p;
    merge(t, r, p);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(kMod), std::string::npos);
  }
}

TEST(Merge, TaskArithmeticDefaultRankIsExact) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::TaskArithmetic;
  r.weights = {1.0, -0.5, 0.25};
  at::Tensor ref = torch::zeros({kOut, kIn}, torch::kFloat64);
  for (size_t i = 0; i < 3; ++i)
    ref += r.weights[i] * delta(s[i].modules[0]);
  EXPECT_LT(test::rel_err(merged_delta(s, r), ref), kTol);
  r.rank = 3;
  EXPECT_LT(test::rel_err(merged_delta(s, r), test::dense_truncate(ref, 3)), kTol);
}

TEST(Merge, SvdTruncatesTheAverageToMaxRank) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::Svd;  // c_i = s_i / N, rank max r_i = 4
  at::Tensor ref = torch::zeros({kOut, kIn}, torch::kFloat64);
  for (size_t i = 0; i < 3; ++i)
    ref += delta(s[i].modules[0]) / 3.0;
  jobs::NullProgress p;
  const Adapter out = merge(s, r, p);
  EXPECT_EQ(out.modules[0].rank(), 4);
  EXPECT_LT(test::rel_err(delta(out.modules[0]), test::dense_truncate(ref, 4)), kTol);
  r.rank = 2;
  EXPECT_LT(test::rel_err(merged_delta(s, r), test::dense_truncate(ref, 2)), kTol);
}

TEST(Merge, SvdClampClipsFactorEntriesAtTheQuantile) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::Svd;
  jobs::NullProgress p;
  const Adapter plain = merge(s, r, p);
  r.clamp = 0.9;
  const Adapter clamped = merge(s, r, p);
  // Quantile with linear interpolation (as torch.quantile), computed by sorting.
  const auto& m = plain.modules[0];
  auto pooled = torch::cat({m.B.flatten(), m.A.flatten()}).to(torch::kFloat64);
  std::vector<double> v(pooled.data_ptr<double>(), pooled.data_ptr<double>() + pooled.numel());
  std::sort(v.begin(), v.end());
  const double pos = 0.9 * double(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const double hi = v[lo] + (pos - double(lo)) * (v[std::min(lo + 1, v.size() - 1)] - v[lo]);
  EXPECT_LT(test::rel_err(clamped.modules[0].A, m.A.clamp(-hi, hi)), 1e-6);
  EXPECT_LT(test::rel_err(clamped.modules[0].B, m.B.clamp(-hi, hi)), 1e-6);
  EXPECT_GT((m.A.abs() > hi).sum().item<int64_t>() + (m.B.abs() > hi).sum().item<int64_t>(), 0);
}

TEST(Merge, TiesMatchesReferenceAtFullRank) {
  for (bool frequency : {false, true}) {
    auto s = three();
    MergeRecipe r;
    r.method = MergeMethod::Ties;
    r.density = 0.3;
    r.majority_sign = frequency ? MajoritySign::Frequency : MajoritySign::Total;
    r.weights = {1.0, 2.0, -0.5};
    r.rank = std::min(kOut, kIn);  // full rank: the SVD step is lossless
    std::vector<at::Tensor> ts;
    for (size_t i = 0; i < 3; ++i)
      ts.push_back(ref_trim(r.weights[i] * delta(s[i].modules[0]), 0.3));
    EXPECT_LT(test::rel_err(merged_delta(s, r), ref_ties(ts, frequency)), kTol)
        << "frequency=" << frequency;
  }
}

TEST(Merge, TiesDefaultRankTruncatesTheDenseResult) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::Ties;
  r.density = 0.5;
  std::vector<at::Tensor> ts;
  for (size_t i = 0; i < 3; ++i)
    ts.push_back(ref_trim(delta(s[i].modules[0]), 0.5));
  const auto ref = test::dense_truncate(ref_ties(ts, false), 9);  // Σ r_i = 9
  EXPECT_LT(test::rel_err(merged_delta(s, r), ref), kTol);
}

TEST(Merge, MagnitudePruneMatchesReference) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::MagnitudePrune;
  r.density = 0.4;
  r.weights = {0.5, 1.0, 1.5};
  r.rank = 10;
  at::Tensor ref = torch::zeros({kOut, kIn}, torch::kFloat64);
  for (size_t i = 0; i < 3; ++i)
    ref += ref_trim(r.weights[i] * delta(s[i].modules[0]), 0.4);
  EXPECT_LT(test::rel_err(merged_delta(s, r), ref), kTol);
}

TEST(Merge, DareLinearAndDareTiesMatchReferenceWithTheSameMasks) {
  // The masks are reproducible from (seed, stream); merge_module gets explicit streams.
  auto s = three();
  for (auto method : {MergeMethod::DareLinear, MergeMethod::DareTies}) {
    MergeRecipe r;
    r.method = method;
    r.density = 0.5;
    r.seed = 42;
    r.rank = 10;
    std::vector<MergeInput> in;
    std::vector<at::Tensor> ts;
    for (size_t i = 0; i < 3; ++i) {
      const auto& m = s[i].modules[0];
      in.push_back({m.A, m.B, m.scale, 1.0, 7 + i});
      const auto mask = dare_keep_mask({kOut, kIn}, 0.5, 42, 7 + i).to(torch::kFloat64);
      ts.push_back(delta(m) * mask / 0.5);
    }
    at::Tensor ref;
    if (method == MergeMethod::DareLinear) {
      ref = ts[0] + ts[1] + ts[2];
    } else {
      ref = ref_ties(ts, false);
    }
    const auto out = merge_module(kMod, in, r);
    EXPECT_LT(test::rel_err(delta(out), ref), kTol) << method_name(method);
  }
}

TEST(Merge, DareMaskKeepsTheRequestedFractionAndDependsOnSeed) {
  const auto m1 = dare_keep_mask({200, 500}, 0.3, 1, 5);
  const double kept = m1.mean().item<double>();
  // Binomial(100000, 0.3): sd = 0.00145; 6 sd.
  EXPECT_NEAR(kept, 0.3, 0.009);
  EXPECT_TRUE(torch::equal(m1, dare_keep_mask({200, 500}, 0.3, 1, 5)));
  EXPECT_FALSE(torch::equal(m1, dare_keep_mask({200, 500}, 0.3, 2, 5)));
  EXPECT_FALSE(torch::equal(m1, dare_keep_mask({200, 500}, 0.3, 1, 6)));
}

TEST(Merge, MissingModuleCountsAsZero) {
  AdapterSet s;
  auto a = make_adapter("a", 2, 2.0, 1);
  auto b = make_adapter("b", 2, 2.0, 2);
  LoraModule extra = a->modules[0];
  extra.name = "model.layers.1.mlp.up_proj";
  a->modules.push_back(extra);
  s.add(a);
  s.add(b);
  MergeRecipe r;
  r.method = MergeMethod::TaskArithmetic;
  jobs::NullProgress p;
  const Adapter out = merge(s, r, p);
  ASSERT_EQ(out.modules.size(), 2u);
  const auto* up = out.find("model.layers.1.mlp.up_proj");
  ASSERT_NE(up, nullptr);
  EXPECT_LT(test::rel_err(delta(*up), delta(extra)), kTol);
}

TEST(Merge, ProvenanceNamesInputsAndRecipe) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::Cat;
  jobs::NullProgress p;
  const auto out = merge(s, r, p);
  const auto inputs = nlohmann::json::parse(out.metadata.at("basin.merge.inputs"));
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[1]["name"], "b");
  EXPECT_EQ(nlohmann::json::parse(out.metadata.at("basin.merge.recipe"))["method"], "cat");
}

TEST(Merge, CancelStopsBetweenModules) {
  auto s = three();
  MergeRecipe r;
  r.method = MergeMethod::Svd;
  jobs::NullProgress p;
  p.request_cancel();
  EXPECT_THROW(merge(s, r, p), jobs::Cancelled);
}

// Six modules of different shapes, so that workers finish out of order.
AdapterSet six_modules(bool nan_in_last = false) {
  AdapterSet s;
  for (int a = 0; a < 3; ++a) {
    auto ad = std::make_shared<Adapter>();
    ad->name = "a" + std::to_string(a);
    ad->config.r = 2 + a;
    ad->config.lora_alpha = 4.0;
    for (int m = 0; m < 6; ++m) {
      LoraModule mod;
      mod.name = "model.layers." + std::to_string(m) + ".mlp.up_proj";
      const int64_t r = 2 + a, out = 8 + 7 * m, in = 30 - 3 * m;
      mod.A = test::randn({r, in}, 1000 * a + m);
      mod.B = test::randn({out, r}, 1000 * a + m + 500);
      if (nan_in_last && m == 5 && a == 1) mod.B[0][0] = std::nan("");
      mod.alpha = 4.0;
      mod.scale = 4.0 / double(r);
      ad->modules.push_back(mod);
    }
    s.add(ad);
  }
  return s;
}

// Modules are merged side by side (one compute thread per worker): the same modules in the
// same order as merging each alone, for a low-rank, a dense and a random-mask method. The
// workers' BLAS runs on one thread and the reference's on whatever the machine picks, so ΔW
// agrees to float32 rounding (kTol), not bit for bit.
TEST(Merge, ModulesMergedSideBySideEqualEachMergedAlone) {
  const auto s = six_modules();
  const int before = compute_threads();
  for (const auto method : {MergeMethod::Svd, MergeMethod::Ties, MergeMethod::DareTies}) {
    MergeRecipe r;
    r.method = method;
    r.density = 0.5;
    r.rank = 3;
    set_compute_threads(3);
    std::vector<double> fractions;
    jobs::CallbackProgress p([&](double f, const std::string&) {
      fractions.push_back(f);
      return true;
    });
    const Adapter out = merge(s, r, p);
    EXPECT_EQ(compute_threads(), 3) << "the caller's thread count is restored";
    set_compute_threads(1);
    ASSERT_EQ(out.modules.size(), 6u);
    const auto w = r.effective_weights(s.size());
    for (size_t mi = 0; mi < 6; ++mi) {
      std::vector<MergeInput> in;
      for (size_t ai = 0; ai < s.size(); ++ai) {
        const LoraModule& m = s[ai].modules[mi];
        in.push_back({m.A, m.B, m.scale, w[ai], static_cast<uint64_t>(mi) * 1000003u + ai});
      }
      const auto alone = merge_module(s[0].modules[mi].name, in, r);
      EXPECT_EQ(out.modules[mi].name, alone.name);
      const auto got = delta(out.modules[mi]), want = delta(alone);
      EXPECT_LE((got - want).abs().max().item<double>(),
                kTol * std::max(1.0, want.abs().max().item<double>()))
          << method_name(method) << " module " << mi;
    }
    ASSERT_FALSE(fractions.empty());
    EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end())) << "progress never goes back";
    EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
  }
  set_compute_threads(before);
}

// A module that fails on one worker ends the merge with its error, named, from the caller.
TEST(Merge, AFailingModuleOnAWorkerEndsTheMergeWithItsError) {
  const auto s = six_modules(/*nan_in_last=*/true);
  const int before = compute_threads();
  set_compute_threads(2);
  MergeRecipe r;
  r.method = MergeMethod::Cat;
  jobs::NullProgress p;
  try {
    merge(s, r, p);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.5.mlp.up_proj"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(compute_threads(), 2);
  set_compute_threads(before);
}

TEST(MergeRecipe, RejectsBadValues) {
  MergeRecipe r;
  EXPECT_THROW(r.validate(0), InputError);
  r.weights = {1.0};
  EXPECT_THROW(r.validate(2), InputError);
  r.weights = {1.0, std::nan("")};
  EXPECT_THROW(r.validate(2), InputError);
  r.weights = {1.0, INFINITY};
  EXPECT_THROW(r.validate(2), InputError);
  r.weights.clear();
  r.rank = -1;
  EXPECT_THROW(r.validate(2), InputError);
  r.rank = 0;
  for (double d : {0.0, -0.1, 1.5, std::nan("")}) {
    r.density = d;
    EXPECT_THROW(r.validate(2), InputError) << d;
  }
  r.density = 1.0;
  EXPECT_NO_THROW(r.validate(2));
  EXPECT_THROW(parse_method("average"), InputError);
  try {
    parse_method("average");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'average'"), std::string::npos);
  }
  EXPECT_THROW(
      MergeRecipe::from_json(nlohmann::json::parse(R"({"method": "ties", "density": "x"})")),
      InputError);
  const auto back = MergeRecipe::from_json(nlohmann::json::parse(
      R"({"method": "dare_ties", "density": 0.25, "seed": 7, "weights": [1, -1]})"));
  EXPECT_EQ(back.method, MergeMethod::DareTies);
  EXPECT_EQ(back.seed, 7u);
  EXPECT_EQ(back.weights, (std::vector<double>{1, -1}));
}
