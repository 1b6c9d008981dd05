// Sweeps, connectivity, surfaces, soups and pooled features on a tiny random model, checked
// against an independent route: a fresh model with Σ c_k ΔW_k merged into its weights, scored
// sequence by sequence with float64 log-softmax (no LoRA bank, no batching).
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analysis/cka.h"
#include "analysis/curve_metrics.h"
#include "jobs/progress.h"
#include "landscape/features.h"
#include "landscape/points.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "landscape/workbench.h"
#include "model/causal_lm.h"
#include "naive_lm.h"
#include "test_support.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "util/errors.h"
#include "util/runtime.h"

using namespace basin;

namespace {

ModelConfig tiny_config() {
  return test::tiny_decoder_config();
}

CausalLM tiny_model() {
  CausalLM m = CausalLM::random(tiny_config(), 11);
  uint64_t s = 500;
  for (auto& [name, t] : m.parameters())
    if (name.find("norm") == std::string::npos) t = 0.3 * test::randn(t.sizes().vec(), ++s);
  return m;
}

// An adapter on the targets whose name contains `only` (all when empty).
std::shared_ptr<const Adapter> adapter(const CausalLM& m, const std::string& name, uint64_t seed,
                                       const std::string& only = "", double size = 0.4) {
  auto a = std::make_shared<Adapter>();
  a->name = name;
  const int64_t r = 2;
  for (const auto& target : m.lora_targets()) {
    if (!only.empty() && target.find(only) == std::string::npos) continue;
    const auto& W = m.parameters().at(target + ".weight");
    LoraModule mod;
    mod.name = target;
    mod.A = size * test::randn({r, W.size(1)}, ++seed);
    mod.B = size * test::randn({W.size(0), r}, ++seed);
    mod.alpha = 4;
    mod.scale = 2;
    a->modules.push_back(mod);
  }
  return a;
}

EvalSet eval_set() {
  EvalSet s;
  const std::vector<std::vector<int64_t>> seqs = {
      {3, 1, 4, 1, 5, 9, 2, 6}, {5, 3, 5}, {8, 9, 7, 9, 3, 2}, {3, 8, 4, 6, 2, 6, 4}, {1, 2}};
  for (const auto& ids : seqs) {
    TrainExample e;
    e.ids = ids;
    e.target.assign(ids.size(), 0);
    for (size_t t = ids.size() / 2; t < ids.size(); ++t)
      e.target[t] = 1;
    e.target[0] = 0;
    if (ids.size() == 2) e.target[1] = 1;
    s.examples.push_back(e);
  }
  return s;
}

// Independent reference: merge Σ c_k ΔW_k into a copy of the weights, score each sequence on
// its own with float64 log-softmax.
PointScore reference(const CausalLM& base, const std::vector<std::shared_ptr<const Adapter>>& bank,
                     const Point& c, const EvalSet& set) {
  CausalLM m = base;
  for (auto& [name, t] : m.parameters())
    t = t.clone();
  for (size_t k = 0; k < bank.size(); ++k)
    if (c[k] != 0) m.merge_adapter(*bank[k], c[k]);
  double nll = 0;
  int64_t n = 0, wrong = 0;
  torch::NoGradGuard g;
  for (const auto& e : set.examples) {
    const auto ids = torch::tensor(e.ids).view({1, -1});
    const auto logits = m.logits(ids)[0].to(torch::kFloat64);
    for (size_t t = 1; t < e.ids.size(); ++t) {
      if (!e.target[t]) continue;
      const auto lp = torch::log_softmax(logits[int64_t(t) - 1], -1);
      nll -= lp[e.ids[t]].item<double>();
      wrong += lp.argmax().item<int64_t>() != e.ids[t] ? 1 : 0;
      ++n;
    }
  }
  return {nll / double(n), double(wrong) / double(n), n};
}

struct Fixture {
  CausalLM base = tiny_model();
  std::vector<std::shared_ptr<const Adapter>> bank;
  CausalLM model;
  Fixture() {
    bank = {adapter(base, "a", 100), adapter(base, "b", 200), adapter(base, "c", 300, "v_proj")};
    model = base;
    model.set_lora_bank(bank);
  }
};

}  // namespace

TEST(PointEvaluator, EachPointEqualsMergedWeightsScoredAlone) {
  Fixture f;
  const PointEvaluator ev(f.model, eval_set(), /*max_rows=*/4);
  const std::vector<Point> pts = {{0, 0, 0}, {1, 0, 0}, {0.3, -0.5, 1.2}, {0, 0, 1}};
  jobs::NullProgress p;
  const auto got = ev.evaluate(pts, p);
  for (size_t i = 0; i < pts.size(); ++i) {
    const auto want = reference(f.base, f.bank, pts[i], eval_set());
    EXPECT_NEAR(got[i].loss, want.loss, 2e-5 * want.loss) << i;
    // Another route may flip an argmax between two logits within float32 rounding of each
    // other; allow one such token of the set, no more.
    EXPECT_NEAR(got[i].token_error, want.token_error, 1.0 / double(want.tokens) + 1e-12) << i;
    EXPECT_EQ(got[i].tokens, want.tokens);
  }
  // The points really differ (the adapters matter).
  EXPECT_GT(std::abs(got[0].loss - got[1].loss), 1e-3);
  // Batch size does not change the answer.
  const PointEvaluator one(f.model, eval_set(), 1);
  const auto again = one.evaluate(pts, p);
  for (size_t i = 0; i < pts.size(); ++i)
    EXPECT_NEAR(again[i].loss, got[i].loss, 2e-5 * got[i].loss) << i;  // other batch split
  EXPECT_GT(one.forward_passes(), ev.forward_passes());
  EXPECT_THROW(ev.evaluate({{1, 0}}, p), InputError);
  EXPECT_THROW(ev.evaluate({{1, 0, std::nan("")}}, p), InputError);
}

TEST(PointEvaluator, ReferenceRouteAgreesWithTheBankRoute) {
  // kReference (whole logits, point-major rows, the whole bank) is what benchmarks compare
  // kBank against; both must match the merged-weights reference.
  // kBank's projections may take either LoRA route (the bank's rank rows, or each point's ΔW
  // merged into a weight copy per batch); each forced route must match too.
  Fixture f;
  PointEvaluator fast(f.model, eval_set(), 3, EvalRoute::kBank);
  const PointEvaluator ref(f.model, eval_set(), 3, EvalRoute::kReference);
  const std::vector<Point> pts = {{0, 0, 0}, {0.5, 0.5, 0}, {0, -0.7, 1.1}, {1, 0, 0}};
  jobs::NullProgress p;
  const auto b = ref.evaluate(pts, p);
  using Route = LmForwardOptions::LoraRoute;
  for (const Route route : {Route::kAuto, Route::kBankRows, Route::kMergedGroups}) {
    fast.set_lora_route(route);
    const auto a = fast.evaluate(pts, p);
    for (size_t i = 0; i < pts.size(); ++i) {
      const auto want = reference(f.base, f.bank, pts[i], eval_set());
      EXPECT_NEAR(b[i].loss, want.loss, 2e-5 * want.loss) << i;
      EXPECT_NEAR(a[i].loss, b[i].loss, 2e-5 * b[i].loss) << i << " route " << int(route);
      EXPECT_NEAR(a[i].token_error, b[i].token_error, 1.0 / double(want.tokens) + 1e-12) << i;
      EXPECT_EQ(a[i].tokens, b[i].tokens);
    }
  }
}

TEST(PointEvaluator, WorkersScoreBatchesSideBySideWithTheSameScores) {
  Fixture f;
  PointEvaluator one(f.model, eval_set(), /*max_rows=*/2);
  PointEvaluator three(f.model, eval_set(), 2);
  one.set_workers(1);
  three.set_workers(3);
  std::vector<Point> pts;
  for (int i = 0; i < 7; ++i)
    pts.push_back({0.1 * i, 1.0 - 0.1 * i, 0.05 * i});
  jobs::NullProgress p;
  const auto a = one.evaluate(pts, p);
  const auto b = three.evaluate(pts, p);
  EXPECT_EQ(one.last_workers(), 1);
  EXPECT_EQ(three.last_workers(), 3);
  EXPECT_EQ(three.forward_passes(), one.forward_passes());  // the same batches
  for (size_t i = 0; i < pts.size(); ++i) {
    // The same rows per batch and the same order of sums; only a GEMM's thread count may
    // differ between the two runs (one compute thread per worker), which changes float32
    // accumulation order at most: the loose bound of the other routes covers it.
    EXPECT_NEAR(b[i].loss, a[i].loss, 2e-5 * a[i].loss) << i;
    EXPECT_NEAR(b[i].token_error, a[i].token_error, 1.0 / double(a[i].tokens) + 1e-12) << i;
    EXPECT_EQ(b[i].tokens, a[i].tokens);
  }
  // A cancel from any worker stops the evaluation with Cancelled.
  int reports = 0;
  jobs::CallbackProgress stop([&](double, const std::string&) { return ++reports < 3; });
  EXPECT_THROW(three.evaluate(pts, stop), jobs::Cancelled);
}

TEST(Sweep, EndpointsEqualEachAdapterAloneAndMidpointIsTheAverageDelta) {
  Fixture f;
  const PointEvaluator ev(f.model, eval_set());
  const auto ends = bank_endpoints({"a", "b", "c"});
  jobs::NullProgress p;
  const auto alphas = sweep_alphas({0.0, 1.0, 4});
  const Curve c = sweep(ev, ends[0], ends[1], alphas, p);
  ASSERT_EQ(c.alpha.size(), 5u);
  EXPECT_DOUBLE_EQ(c.alpha[2], 0.5);
  // α = 1 is a alone, α = 0 is b alone.
  EXPECT_NEAR(c.loss[4], reference(f.base, f.bank, {1, 0, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(c.loss[0], reference(f.base, f.bank, {0, 1, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(c.loss[2], reference(f.base, f.bank, {0.5, 0.5, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(c.convexity_gap(), convexity_gap(c.alpha, c.loss), 0);
  // Extrapolation range is allowed, beyond it is not.
  EXPECT_EQ(sweep_alphas({-0.5, 1.5, 8}).size(), 9u);
  EXPECT_DOUBLE_EQ(sweep_alphas({-0.5, 1.5, 8})[2], 0.0);
  EXPECT_THROW(sweep_alphas({-1.0, 1.0, 4}), InputError);
  EXPECT_THROW(sweep_alphas({0.0, 3.0, 4}), InputError);
  EXPECT_THROW(sweep_alphas({1.0, 0.0, 4}), InputError);
  EXPECT_THROW(sweep_alphas({0.0, 1.0, 0}), InputError);
}

TEST(Sweep, CancelMidSweepStopsWithCancelled) {
  Fixture f;
  const PointEvaluator ev(f.model, eval_set(), 2);
  const auto ends = bank_endpoints({"a", "b", "c"});
  int reports = 0;
  jobs::CallbackProgress p([&](double, const std::string&) { return ++reports < 3; });
  EXPECT_THROW(sweep(ev, ends[0], ends[1], sweep_alphas({0, 1, 20}), p), jobs::Cancelled);
  EXPECT_LT(ev.forward_passes(), 21 * 5 / 2);  // stopped early
}

TEST(Connectivity, EveryPairStreamsAndSharesEndpoints) {
  Fixture f;
  const PointEvaluator ev(f.model, eval_set());
  auto ends = bank_endpoints({"a", "b", "c"});
  ends.push_back({"base", {0, 0, 0}});
  jobs::NullProgress p;
  std::vector<size_t> seen;
  const auto alphas = sweep_alphas({0, 1, 4});
  const auto r = connectivity(ev, ends, alphas, p, [&](const ConnectivityResult& part) {
    seen.push_back(part.curves.size());
    // Pairs not finished yet are NaN in the matrix.
    const auto m = part.matrix("convexity_gap");
    EXPECT_EQ(std::isnan(m.values(0, 3)), part.curves.size() < 3);
  });
  EXPECT_EQ(seen, (std::vector<size_t>{1, 2, 3, 4, 5, 6}));
  ASSERT_EQ(r.curves.size(), 6u);
  // Pair (1, 3) = b ↔ base: α = 1 is b, α = 0 the base model.
  const Curve* c = r.curve(3, 1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->a, "b");
  EXPECT_EQ(c->b, "base");
  EXPECT_NEAR(c->loss.back(), reference(f.base, f.bank, {0, 1, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(c->loss.front(), reference(f.base, f.bank, {0, 0, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(c->loss[1], reference(f.base, f.bank, {0, 0.25, 0}, eval_set()).loss, 1e-4);
  for (const char* which : {"convexity_gap", "barrier", "error_barrier"}) {
    const auto m = r.matrix(which);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        EXPECT_DOUBLE_EQ(m.values(i, j), m.values(j, i));
    EXPECT_DOUBLE_EQ(m.values(0, 1),
                     which == std::string("barrier") ? r.curve(0, 1)->barrier() : m.values(0, 1));
  }
  // 4 singles + 6 pairs × 3 interior points, in batches: far fewer passes than points.
  EXPECT_LE(ev.forward_passes(), 4 + 6);
  // JSON round trip keeps every curve.
  const auto back = ConnectivityResult::from_json(r.to_json());
  ASSERT_EQ(back.curves.size(), 6u);
  EXPECT_DOUBLE_EQ(back.curves[4].loss[2], r.curves[4].loss[2]);
  EXPECT_DOUBLE_EQ(back.matrix("barrier").values(2, 3), r.matrix("barrier").values(2, 3));
}

TEST(Connectivity, SharesComputeDisjointBlocksOfPairsThatGatherToTheWholeResult) {
  Fixture f;
  const PointEvaluator ev(f.model, eval_set());
  auto ends = bank_endpoints({"a", "b", "c"});
  ends.push_back({"base", {0, 0, 0}});
  jobs::NullProgress p;
  const auto alphas = sweep_alphas({0, 1, 4});
  const auto whole = connectivity(ev, ends, alphas, p);
  // 6 pairs over 4 shares: blocks of 1, 2, 1, 2 pairs in pair order.
  std::vector<ConnectivityResult> shares;
  size_t next = 0;
  for (int i = 0; i < 4; ++i) {
    const auto r = connectivity(ev, ends, alphas, p, {}, jobs::Shard{i, 4});
    ASSERT_EQ(r.curves.size(), 6u);
    const auto [b, e] = jobs::Shard{i, 4}.block(6);
    EXPECT_EQ(b, next);
    next = e;
    EXPECT_EQ(r.computed_pairs(), e - b);
    for (size_t k = 0; k < 6; ++k)
      EXPECT_EQ(r.curves[k].alpha.empty(), k < b || k >= e) << "share " << i << " pair " << k;
    // A share's missing pairs survive its JSON form as missing.
    shares.push_back(ConnectivityResult::from_json(r.to_json()));
    EXPECT_EQ(shares.back().computed_pairs(), e - b);
    EXPECT_TRUE(std::isnan(shares.back().matrix("barrier").values(0, 1)) == (b > 0));
  }
  const auto gathered = ConnectivityResult::gather(shares);
  ASSERT_EQ(gathered.curves.size(), 6u);
  // A share scores its endpoints and pairs in batches of other compositions than the whole
  // run, so float32 sums run in other orders: each mean NLL over ≤ 64-term dot products carries
  // a relative error ≲ 64 · 2⁻²⁴ ≈ 4e-6, hence 1e-5 relative.
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_EQ(gathered.curves[k].a, whole.curves[k].a);
    EXPECT_EQ(gathered.curves[k].b, whole.curves[k].b);
    for (size_t t = 0; t < alphas.size(); ++t)
      EXPECT_NEAR(gathered.curves[k].loss[t], whole.curves[k].loss[t],
                  1e-5 * whole.curves[k].loss[t])
          << k << " " << t;
  }
  // A pair in no share, or in two, is refused.
  auto missing = shares;
  missing.erase(missing.begin() + 1);
  EXPECT_THROW(ConnectivityResult::gather(missing), InputError);
  auto twice = shares;
  twice.push_back(shares[2]);
  EXPECT_THROW(ConnectivityResult::gather(twice), InputError);
  auto other = shares;
  other[1].alphas[1] = 0.3;
  EXPECT_THROW(ConnectivityResult::gather(other), InputError);
  // A file naming millions of models is refused before pairs are sized from it.
  auto huge = shares[0].to_json();
  huge["labels"] = std::vector<std::string>(100000, "m");
  EXPECT_THROW(ConnectivityResult::from_json(huge), InputError);
}

TEST(Surface, CornersAreTheAdaptersAndAxesAreTrueDistances) {
  // a on q_proj, b on v_proj: orthogonal in Frobenius. The plane through base (0), a and b
  // has base at (0,0), a at (‖a‖, 0), b at (⟨b,a⟩/‖a‖ = 0, ‖b‖).
  CausalLM base = tiny_model();
  std::vector<std::shared_ptr<const Adapter>> bank = {adapter(base, "a", 1, "q_proj"),
                                                      adapter(base, "b", 2, "v_proj")};
  CausalLM model = base;
  model.set_lora_bank(bank);
  const PointEvaluator ev(model, eval_set());
  jobs::NullProgress p;
  const auto gram = bank_gram(bank, p);
  // Independent norms from dense ΔW.
  auto norm2 = [](const Adapter& a) {
    double s = 0;
    for (const auto& m : a.modules)
      s += (m.scale * torch::mm(m.B.to(torch::kFloat64), m.A.to(torch::kFloat64)))
               .pow(2)
               .sum()
               .item<double>();
    return s;
  };
  EXPECT_NEAR(gram(0, 0), norm2(*bank[0]), 1e-6 * gram(0, 0));
  EXPECT_NEAR(gram(0, 1), 0.0, 1e-9);
  const auto s =
      loss_surface(ev, {Endpoint{"base", {0, 0}}, Endpoint{"a", {1, 0}}, Endpoint{"b", {0, 1}}},
                   gram, {3, 0.0}, p);
  EXPECT_NEAR(s.anchor_x[1], std::sqrt(norm2(*bank[0])), 1e-4);
  EXPECT_NEAR(s.anchor_x[2], 0.0, 1e-6);
  EXPECT_NEAR(s.anchor_y[2], std::sqrt(norm2(*bank[1])), 1e-4);
  ASSERT_EQ(s.loss.rows(), 3);
  // Grid corners: (0,0) = base, (‖a‖, 0) = a, (0, ‖b‖) = b, (‖a‖, ‖b‖) = a + b.
  EXPECT_NEAR(s.loss(0, 0), reference(base, bank, {0, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(s.loss(0, 2), reference(base, bank, {1, 0}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(s.loss(2, 0), reference(base, bank, {0, 1}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(s.loss(2, 2), reference(base, bank, {1, 1}, eval_set()).loss, 1e-4);
  EXPECT_NEAR(s.loss(1, 1), reference(base, bank, {0.5, 0.5}, eval_set()).loss, 1e-4);
  // Collinear points have no plane.
  EXPECT_THROW(
      loss_surface(ev, {Endpoint{"base", {0, 0}}, Endpoint{"a", {1, 0}}, Endpoint{"2a", {2, 0}}},
                   gram, {3, 0.0}, p),
      InputError);
  EXPECT_THROW(
      loss_surface(ev, {Endpoint{"base", {0, 0}}, Endpoint{"a", {1, 0}}, Endpoint{"b", {0, 1}}},
                   gram, {1, 0.0}, p),
      InputError);
  const auto back = SurfaceResult::from_json(s.to_json());
  EXPECT_DOUBLE_EQ(back.loss(2, 1), s.loss(2, 1));
}

TEST(Soup, GreedyWithInterpolationOnAKnownCase) {
  // Ingredients are the numbers 0, 1, 4; loss(θ) = (θ − 0.45)². By hand:
  // singles 0.2025, 0.3025, 12.6025 ⇒ order 0, 1, 2; soup starts at θ = 0.
  // Step 1 (θ_i = 1): θ' = 0.8, 0.6, 0.4, 0.2 ⇒ losses .1225, .0225, .0025, .0625 ⇒ k = 3,
  //   θ = 0.4 = 0.6·θ0 + 0.4·θ1.
  // Step 2 (θ_i = 4): θ' = 3.28, 2.56, 1.84, 1.12: all worse ⇒ rejected.
  // Uniform soup: θ = 5/3 ⇒ (5/3 − 0.45)².
  const std::vector<double> v = {0, 1, 4};
  int calls = 0;
  PointLossFn loss = [&](const std::vector<Point>& pts) {
    ++calls;
    std::vector<double> out;
    for (const auto& c : pts) {
      double th = 0;
      for (size_t k = 0; k < 3; ++k)
        th += c[k] * v[k];
      out.push_back((th - 0.45) * (th - 0.45));
    }
    return out;
  };
  jobs::NullProgress p;
  const auto r = greedy_soup({"zero", "one", "four"}, loss, p);
  EXPECT_EQ(r.order, (std::vector<int>{0, 1, 2}));
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].candidate, "one");
  EXPECT_EQ(r.steps[0].accepted_k, 3);
  EXPECT_NEAR(r.steps[0].tried[1], 0.0225, 1e-12);
  EXPECT_EQ(r.steps[1].accepted_k, 0);
  EXPECT_NEAR(r.coeffs[0], 0.6, 1e-12);
  EXPECT_NEAR(r.coeffs[1], 0.4, 1e-12);
  EXPECT_NEAR(r.coeffs[2], 0.0, 1e-12);
  EXPECT_NEAR(r.loss, 0.0025, 1e-12);
  EXPECT_NEAR(r.uniform_loss, (5.0 / 3 - 0.45) * (5.0 / 3 - 0.45), 1e-12);
  EXPECT_EQ(r.best_single(), 0);
  EXPECT_EQ(calls, 3);  // singles + uniform, then one batch of 4 per step
  const auto back = SoupResult::from_json(r.to_json());
  EXPECT_EQ(back.steps[0].accepted_k, 3);
  EXPECT_DOUBLE_EQ(back.coeffs[1], r.coeffs[1]);
}

TEST(Soup, OnTheModelNeverWorseThanTheBestIngredient) {
  Fixture f;
  const PointEvaluator ev(f.model, eval_set());
  jobs::NullProgress p;
  const auto r = greedy_soup(
      {"a", "b", "c"},
      [&](const std::vector<Point>& pts) {
        std::vector<double> l;
        for (const auto& s : ev.evaluate(pts, p))
          l.push_back(s.loss);
        return l;
      },
      p);
  EXPECT_LE(r.loss, r.single_loss[size_t(r.best_single())]);
  EXPECT_NEAR(r.loss, reference(f.base, f.bank, r.coeffs, eval_set()).loss, 1e-4);
}

TEST(Features, PooledStatesMatchAPerInputForwardAndFeedCka) {
  test::TempDir dir;
  const std::vector<std::string> texts = {"the cat sat on the mat", "a dog ran in the park",
                                          "the cat ran", "dogs and cats", "on the mat again"};
  BpeTrainOptions bo;
  bo.vocab_size = 290;
  bo.min_frequency = 1;
  jobs::NullProgress p;
  train_bpe_tokenizer(texts, bo, dir / "tokenizer.json", p);
  const auto tok = Tokenizer::from_file(dir / "tokenizer.json");
  ModelConfig c = tiny_config();
  c.vocab_size = 300;
  CausalLM base = CausalLM::random(c, 3);
  std::vector<std::shared_ptr<const Adapter>> bank = {adapter(base, "a", 7, "", 2.0)};
  CausalLM model = base;
  model.set_lora_bank(bank);
  // "<|endoftext|>" is special: it is fed but not pooled.
  // The long input (> 256 tokens) makes the fast route split batches by length.
  std::string long_text;
  for (int i = 0; i < 90; ++i)
    long_text += texts[3] + " ";
  const std::vector<std::string> inputs = {texts[0], texts[1] + "<|endoftext|>", texts[2],
                                           long_text};
  const auto f = pooled_features(model, tok, inputs, -1, {{0.0}, {1.0}}, p, /*batch=*/2);
  ASSERT_EQ(f.size(), 2u);
  ASSERT_EQ(f[0].rows(), 4);
  ASSERT_GT(tok.encode(long_text).size(), 256u);
  ASSERT_EQ(f[0].cols(), 16);
  // By hand: the adapter merged into the weights, one input at a time, mean over plain tokens.
  CausalLM merged = base;
  for (auto& [name, t] : merged.parameters())
    t = t.clone();
  merged.merge_adapter(*bank[0]);
  torch::NoGradGuard g;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto ids32 = tok.encode(inputs[i]);
    std::vector<int64_t> ids(ids32.begin(), ids32.end());
    LmForwardOptions o;
    o.output_layer = 2;
    const auto h = merged.forward(torch::tensor(ids).view({1, -1}), o).hidden[0];
    auto sum = torch::zeros({16}, torch::kFloat64);
    int n = 0;
    for (size_t t = 0; t < ids.size(); ++t)
      if (!tok.is_special(ids32[t])) {
        sum += h[int64_t(t)].to(torch::kFloat64);
        ++n;
      }
    for (int j = 0; j < 16; ++j)
      EXPECT_NEAR(f[1](int64_t(i), j), sum[j].item<double>() / n, 1e-4) << i << "," << j;
  }
  EXPECT_GT((f[0] - f[1]).norm(), 1e-3);
  EXPECT_NEAR(linear_cka(f[0], f[0]), 1.0, 1e-12);
  // The earlier route (point-major rows, every layer, logits) gives the same states, also
  // at a middle layer where the fast route stops early. The fast route may merge ΔW into the
  // weights (row_groups): W + ΔW is then rounded once per weight, and this adapter's ΔW is far
  // larger than W (size 2.0), so each projection carries float32 rounding of |ΔW||x| rather
  // than of |Wx + ΔWx|; both routes land within 1e-5 of the merged float32 reference, so they
  // differ by at most 2e-5 of the state. 5e-5 keeps a margin and stays four orders of
  // magnitude below the adapter's effect (f[0] vs f[1] above).
  // The fast route's batches run side by side on compute_threads() workers: the second layer
  // is computed with three (each batch fills its own rows, so the states are the same).
  const int threads_before = compute_threads();
  for (int layer : {1, -1}) {
    set_compute_threads(layer == 1 ? 1 : 3);
    const auto fast = pooled_features(model, tok, inputs, layer, {{0.0}, {1.0}, {0.5}}, p, 64);
    set_compute_threads(threads_before);
    const auto ref = pooled_features(model, tok, inputs, layer, {{0.0}, {1.0}, {0.5}}, p, 2,
                                     EvalRoute::kReference);
    for (size_t q = 0; q < 3; ++q)
      for (Eigen::Index i = 0; i < ref[q].rows(); ++i)
        EXPECT_LT((fast[q].row(i) - ref[q].row(i)).norm(), 5e-5 * ref[q].row(i).norm())
            << layer << "," << q << "," << i;
  }
  EXPECT_THROW(pooled_features(model, tok, inputs, 5, {{0.0}}, p), InputError);
  EXPECT_THROW(pooled_features(model, tok, {"<|endoftext|>"}, -1, {{0.0}}, p), InputError);
}

TEST(Workbench, ResolvesTheBaseModelFolderOfAnAdapter) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "kit" / "model");
  std::filesystem::create_directories(dir / "kit" / "adapters" / "a");
  test::write_bytes(dir / "kit" / "model" / "config.json", "{}");
  Adapter a;
  a.path = dir / "kit" / "adapters" / "a";
  a.config.base_model_name_or_path = "../model";  // relative to the folder holding the adapter
  EXPECT_EQ(resolve_base_model(a), std::filesystem::weakly_canonical(dir / "kit" / "model"));
  a.config.base_model_name_or_path = (dir / "kit" / "model").string();
  EXPECT_EQ(resolve_base_model(a), std::filesystem::weakly_canonical(dir / "kit" / "model"));
  a.config.base_model_name_or_path = "Qwen/Qwen2-0.5B";  // a hub id: not a folder here
  EXPECT_TRUE(resolve_base_model(a).empty());
}
