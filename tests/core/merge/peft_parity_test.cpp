// --peft-compat parity with PEFT 0.20's add_weighted_adapter (issue 13, point 3), each point on
// a case small enough to work by hand; the expected numbers are written out in float64 here.
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "io/json_file.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "merge/peft_compat.h"
#include "rank1_adapter.h"
#include "test_support.h"

using namespace basin;

namespace {

const std::string& kMod = test::kRank1Module;

using test::rank1_adapter;

Adapter run(AdapterSet set, MergeMethod method, std::vector<double> w, double density = 1.0,
            int64_t rank = 0, std::optional<double> clamp = {}) {
  MergeRecipe r;
  r.method = method;
  r.weights = std::move(w);
  r.density = density;
  r.rank = rank;
  r.clamp = clamp;
  r.peft_compat = true;
  jobs::NullProgress p;
  return merge(set, r, p);
}

at::Tensor delta(const LoraModule& m) {
  return m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64)) * m.scale;
}

// Entries are float32 results of O(1) sums of O(10) values: 1e-5 is ~100 float32 ulps.
void expect_matrix(const at::Tensor& got, const std::vector<std::vector<double>>& want,
                   double tol = 1e-5) {
  ASSERT_EQ(got.size(0), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j)
      EXPECT_NEAR(got[int64_t(i)][int64_t(j)].item<double>(), want[i][j], tol)
          << "entry (" << i << ", " << j << ")";
}

bool has_note(const std::vector<std::string>& notes, const std::string& a, const std::string& b) {
  for (const auto& n : notes)
    if (n.find(a) != std::string::npos && n.find(b) != std::string::npos) return true;
  return false;
}

// Adapters for the *_svd cases, s1 = 1 and s2 = 2, weights w = (3, 0.5), so w s = (3, 1):
//   Δ1 = s1 B1 A1 = [2 1]ᵀ[1 3]        = [[2 6] [1 3]]
//   Δ2 = s2 B2 A2 = 2 · [3 1]ᵀ[-1 1]   = [[-6 6] [-2 2]]
AdapterSet svd_pair() {
  AdapterSet s;
  s.add(rank1_adapter("one", {1, 3}, {2, 1}, 1.0));
  s.add(rank1_adapter("two", {-1, 1}, {3, 1}, 2.0));
  return s;
}
const std::vector<double> kSvdWeights = {3.0, 0.5};

}  // namespace

TEST(PeftParity, ASingleAdapterRunsAsLinearAndSaysSo) {
  // PEFT: combination_type = "linear" if len(adapters) == 1. For w s = 0.5·2 = 1, linear gives
  // A = √1·A1, B = √1·B1: the adapter itself. ties at density 0.5 would have trimmed A to [0 2].
  AdapterSet s;
  s.add(rank1_adapter("one", {1, 2}, {1, 0}, 2.0));
  const auto out = run(s, MergeMethod::Ties, {0.5}, 0.5);
  expect_matrix(out.modules[0].A.to(torch::kFloat64), {{1, 2}});
  expect_matrix(out.modules[0].B.to(torch::kFloat64), {{1}, {0}});
  MergeRecipe r;
  r.method = MergeMethod::Ties;
  r.weights = {0.5};
  r.peft_compat = true;
  EXPECT_TRUE(has_note(peft_plan(s, r).notes, "single adapter", "ties runs as linear"));
  EXPECT_NE(out.metadata.at("basin.merge.peft_notes").find("linear"), std::string::npos);
  // The exact route keeps the method asked: ties at density 0.5 of ΔW = [[2 4] [0 0]] keeps
  // both non-zero entries, 2 and 4 (k = 2), weighted by w = 0.5.
  r.peft_compat = false;
  r.density = 0.5;
  jobs::NullProgress p;
  expect_matrix(delta(merge(s, r, p).modules[0]), {{1, 2}, {0, 0}});
}

TEST(PeftParity, SvdVariantsApplyTheMethodToDenseDeltasThenTruncate) {
  // At rank 2 (= min(out, in)) the SVD is exact, so ΔW is the method's dense result M.
  // dare_linear_svd at density 1 is task arithmetic with PEFT's doubled scale:
  //   M = 3 Δ1 + 1 Δ2 = [[0 24] [1 11]].
  expect_matrix(delta(run(svd_pair(), MergeMethod::DareLinearSvd, kSvdWeights, 1.0, 2).modules[0]),
                {{0, 24}, {1, 11}});
  // magnitude_prune_svd at density 0.5 keeps int(0.5·4) = 2 entries of each Δ_i:
  //   Δ1 -> [[0 6] [0 3]], Δ2 -> [[-6 6] [0 0]];  M = 3·Δ1' + Δ2' = [[-6 24] [0 9]].
  expect_matrix(
      delta(run(svd_pair(), MergeMethod::MagnitudePruneSvd, kSvdWeights, 0.5, 2).modules[0]),
      {{-6, 24}, {0, 9}});
  // ties_svd at density 0.5: signs elected on the unweighted trimmed Δ_i (sums -6, 12, 0, 3 ->
  // -, +, +, +); agreeing weighted entries averaged:
  //   (0,0): -6/1;  (0,1): (18 + 6)/2 = 12;  (1,0): nothing agrees -> 0;  (1,1): 9/1.
  expect_matrix(delta(run(svd_pair(), MergeMethod::TiesSvd, kSvdWeights, 0.5, 2).modules[0]),
                {{-6, 12}, {0, 9}});
  // dare_ties_svd at density 1 (no drop): sums of Δ1 + Δ2 = -4, 12, -1, 5 elect -, +, -, +:
  //   (0,0): -6;  (0,1): (18 + 6)/2 = 12;  (1,0): -2;  (1,1): (9 + 2)/2 = 5.5.
  // (Voting on the weighted tensors, as the exact route does, would elect + at (0,0) and (1,0).)
  expect_matrix(delta(run(svd_pair(), MergeMethod::DareTiesSvd, kSvdWeights, 1.0, 2).modules[0]),
                {{-6, 12}, {-2, 5.5}});
}

TEST(PeftParity, TiesSvdTruncatesToTheLargestConfigRank) {
  // new_rank = max r_i = 1: the rank-1 truncation of M = [[-6 12] [0 9]] is σ1 u1 v1ᵀ with
  // MᵀM = [[36 -72] [-72 225]], λ1 = (261 + √(189² + 4·72²))/2, v1 ∝ (-72, λ1 - 36).
  const auto m = run(svd_pair(), MergeMethod::TiesSvd, kSvdWeights, 0.5).modules[0];
  EXPECT_EQ(m.rank(), 1);
  const double lam = (261 + std::sqrt(189.0 * 189.0 + 4 * 72.0 * 72.0)) / 2;
  const double vx = -72, vy = lam - 36, nv = std::hypot(vx, vy);
  const double v0 = vx / nv, v1 = vy / nv;
  const double M[2][2] = {{-6, 12}, {0, 9}};
  std::vector<std::vector<double>> want(2, std::vector<double>(2));
  for (int i = 0; i < 2; ++i) {
    const double mv = M[i][0] * v0 + M[i][1] * v1;
    want[i] = {mv * v0, mv * v1};
  }
  expect_matrix(delta(m), want);
}

TEST(PeftParity, SvdVariantsNeedPeftCompat) {
  MergeRecipe r;
  r.method = MergeMethod::TiesSvd;
  test::expect_input_error([&] { r.validate(2); }, {"ties_svd", "--peft-compat", "ties"});
  EXPECT_EQ(parse_method("dare_ties_svd"), MergeMethod::DareTiesSvd);
  EXPECT_EQ(base_method(MergeMethod::MagnitudePruneSvd), MergeMethod::MagnitudePrune);
  r.peft_compat = true;
  r.clamp = 0.9;
  EXPECT_NO_THROW(r.validate(2));  // PEFT's svd_clamp applies to every svd variant
}

TEST(PeftParity, ClampPoolsEveryDirectionOfTheTargetRank) {
  // 4 x 4 module, h2..h4 the Hadamard vectors (1,-1,1,-1)/2, (1,1,-1,-1)/2, (1,-1,-1,1)/2
  // (each has two entries +1/2 and two -1/2, so a sign flip of a direction leaves the pool).
  // Adapter one (r 2, s 1): B = [3 h2, 2 h3], A = [h2; h3]; adapter two (r 1, s 1): B = h4,
  // A = h4ᵀ. ΔW = 3 h2h2ᵀ + 2 h3h3ᵀ + h4h4ᵀ has rank 3; --rank 4 asks for 4 directions.
  // PEFT pools B = U_4 S_4 (entries ±1.5 ×2, ±1 ×2, ±0.5 ×2, and a zero column: 0 ×4) and
  // A = Vh_4 (h2, h3, h4: 0.5 ×6, -0.5 ×6; and the null row ±h1 = ±(1,1,1,1)/2: 0.5 ×4 or
  // -0.5 ×4): 32 entries. torch.quantile at q = 0.9 sits at position 0.9·31 = 27.9, between
  // sorted entries 27 (0.5) and 28 (1) for either sign of h1: 0.5 + 0.9·0.5 = 0.95.
  // Without the null direction (24 entries), position 20.7 gives 1.0.
  const auto h = [](std::vector<float> v) { return torch::tensor(v) / 2.0; };
  const auto h2 = h({1, -1, 1, -1}), h3 = h({1, 1, -1, -1}), h4 = h({1, -1, -1, 1});
  auto one = std::make_shared<Adapter>();
  one->name = "one";
  one->config.r = 2;
  one->config.lora_alpha = 2;
  LoraModule m1{kMod, torch::stack({h2, h3}), torch::stack({3 * h2, 2 * h3}, 1), 2.0, 1.0};
  one->modules.push_back(m1);
  auto two = std::make_shared<Adapter>();
  two->name = "two";
  two->config.r = 1;
  two->config.lora_alpha = 1;
  LoraModule m2{kMod, h4.view({1, 4}), h4.view({4, 1}), 1.0, 1.0};
  two->modules.push_back(m2);
  AdapterSet s;
  s.add(one);
  s.add(two);
  const auto m = run(s, MergeMethod::Svd, {1, 1}, 1.0, 4, 0.9).modules[0];
  ASSERT_EQ(m.rank(), 4);
  // Clipped at 0.95, the B columns ±1.5 and ±1 become ±0.95 = 1.9 · (±0.5):
  // ΔW = 1.9 h2h2ᵀ + 1.9 h3h3ᵀ + 1 h4h4ᵀ (each direction's sign cancels in u vᵀ).
  const auto o = [](const at::Tensor& v) {
    return v.to(torch::kFloat64).outer(v.to(torch::kFloat64));
  };
  const auto want = 1.9 * o(h2) + 1.9 * o(h3) + o(h4);
  EXPECT_LT((delta(m) - want).abs().max().item<double>(), 1e-6);  // float32 factors of O(1)
  // The fourth direction: B column zero, A row the unit null vector ±h1 (entries ±0.5).
  EXPECT_LT(m.B.select(1, 3).abs().max().item<double>(), 1e-6);
  EXPECT_NEAR(m.A[3].abs().min().item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(std::abs(m.A[3].sum().item<double>()), 2.0, 1e-6);
}

TEST(PeftParity, FieldsCopiedFromTheFirstAdapterAreNamed) {
  // PEFT's merged config is replace(config of adapters[0], r=new_rank, lora_alpha=new_rank, …).
  auto one = rank1_adapter("one", {1, 0}, {1, 0}, 1.0, "model.layers.0.self_attn.q_proj");
  one->config.use_rslora = true;
  one->config.target_modules = {"q_proj"};
  one->config.layers_to_transform = {0};
  one->config.exclude_modules = {"v_proj"};
  auto two = rank1_adapter("two", {0, 1}, {0, 1}, 1.0, "model.layers.1.self_attn.q_proj");
  two->config.target_modules = {"q_proj", "v_proj"};
  LoraModule v = two->modules[0];
  v.name = "model.layers.1.self_attn.v_proj";
  two->modules.push_back(v);
  AdapterSet s;
  s.add(one);
  s.add(two);
  MergeRecipe r;
  r.method = MergeMethod::Cat;
  r.weights = {1, 1};
  r.peft_compat = true;
  const auto notes = peft_plan(s, r).notes;
  // new_rank = 1 + 1 = 2: rsLoRA scale 2/√2 = √2.
  EXPECT_TRUE(has_note(notes, "use_rslora", "sqrt(2) = 1.414"));
  EXPECT_TRUE(has_note(notes, "layers_to_transform", "model.layers.1.self_attn.q_proj"));
  EXPECT_TRUE(has_note(notes, "exclude_modules", "model.layers.1.self_attn.v_proj"));
  // Basin's output is unchanged by them: every module merged, scale 1.
  jobs::NullProgress p;
  const auto out = merge(s, r, p);
  EXPECT_EQ(out.modules.size(), 3u);
  EXPECT_FALSE(out.config.use_rslora);
  for (const auto& m : out.modules)
    EXPECT_EQ(m.scale, 1.0);
  // Without those fields there is nothing to say.
  one->config.use_rslora = false;
  one->config.layers_to_transform.clear();
  one->config.exclude_modules.clear();
  AdapterSet plain;
  plain.add(one);
  plain.add(two);
  EXPECT_TRUE(peft_plan(plain, r).notes.empty());
}

namespace {

// PEFT 0.20's check_target_module_exists for target_modules alone, written out again here:
// a string is re.fullmatch'ed; a list entry selects the name itself or a ".entry" suffix.
bool peft_selects(const nlohmann::json& target_modules, const std::string& key) {
  if (target_modules.is_string())
    return std::regex_match(key, std::regex(target_modules.get<std::string>()));
  for (const auto& t : target_modules) {
    const std::string s = t.get<std::string>();
    if (key == s) return true;
    if (key.size() > s.size() && key.compare(key.size() - s.size() - 1, s.size() + 1, "." + s) == 0)
      return true;
  }
  return false;
}

}  // namespace

TEST(PeftParity, SavedTargetModulesSelectExactlyTheMergedModules) {
  // A diffusers-style model: to_out is a ModuleList (to_out.0 Linear, to_out.1 Dropout) and
  // ff.net holds GELU (net.0), Dropout (net.1) and Linear (net.2). Leaf names "0" and "2" would
  // also select ff.net.0 and to_out.… of other blocks; PEFT cannot put LoRA on a GELU.
  const std::vector<std::string> lora = {"blocks.0.attn.to_q", "blocks.0.attn.to_out.0",
                                         "blocks.0.ff.net.2", "blocks.1.attn.to_out.0"};
  const std::vector<std::string> others = {"blocks",
                                           "blocks.0",
                                           "blocks.0.attn",
                                           "blocks.0.attn.to_k",
                                           "blocks.0.attn.to_out",
                                           "blocks.0.attn.to_out.1",
                                           "blocks.0.ff.net",
                                           "blocks.0.ff.net.0",
                                           "blocks.0.ff.net.1",
                                           "blocks.1.attn.to_q",
                                           "blocks.1.ff.net.0",
                                           "blocks.1.ff.net.2",
                                           "proj_out"};
  test::TempDir dir;
  std::vector<test::TestModule> a_mods, b_mods;
  for (size_t i = 0; i < lora.size(); ++i) {
    test::TestModule m{lora[i], test::randn({8, 6}, 10 + i), test::randn({5, 8}, 20 + i)};
    (i % 2 ? b_mods : a_mods).push_back(m);
  }
  test::write_peft_adapter(dir / "a", a_mods, R"({"target_modules": ["to_q", "net.2"]})");
  test::write_peft_adapter(dir / "b", b_mods, R"({"target_modules": ["to_out.0"]})");
  AdapterSet set;
  set.add(load_peft_adapter(dir / "a"));
  set.add(load_peft_adapter(dir / "b"));
  MergeRecipe r;
  r.method = MergeMethod::Cat;
  jobs::NullProgress p;
  const auto merged = merge(set, r, p);
  save_peft_adapter(merged, dir / "out");
  const auto cfg = read_json_file(dir / "out" / "adapter_config.json");
  std::set<std::string> selected;
  for (const auto* names : {&lora, &others})
    for (const auto& k : *names)
      if (peft_selects(cfg["target_modules"], k)) selected.insert(k);
  EXPECT_EQ(selected, std::set<std::string>(lora.begin(), lora.end())) << cfg["target_modules"];
  // And Basin reads its own output back, every module targeted.
  EXPECT_EQ(load_peft_adapter(dir / "out")->modules.size(), lora.size());
}

TEST(PeftParity, RankAboveMinOutInIsNamedAndZeroPadded) {
  // A [2 x 3] module (out 2, in 3) and --rank 4: PEFT's default svd_full_matrices=True cannot
  // give 4 directions here. Basin keeps min(2, 3) = 2 directions and pads to 4 with zeros.
  const auto mk = [](const std::string& name, std::vector<float> a, std::vector<float> b) {
    auto ad = std::make_shared<Adapter>();
    ad->name = name;
    ad->config.r = 1;
    ad->config.lora_alpha = 1;
    ad->modules.push_back(
        {kMod, torch::tensor(a).view({1, 3}), torch::tensor(b).view({2, 1}), 1, 1});
    return ad;
  };
  AdapterSet s;
  s.add(mk("one", {1, 0, 2}, {1, 0}));
  s.add(mk("two", {0, 1, 0}, {0, 2}));
  MergeRecipe r;
  r.method = MergeMethod::Svd;
  r.weights = {1, 1};
  r.rank = 4;
  r.peft_compat = true;
  EXPECT_TRUE(has_note(peft_plan(s, r).notes, "rank: new_rank 4", "[2x3]"));
  const auto m = run(s, MergeMethod::Svd, {1, 1}, 1.0, 4).modules[0];
  EXPECT_EQ(m.rank(), 4);
  // ΔW = B1 A1 + B2 A2 = [[1 0 2] [0 2 0]] (s = 1, w = 1), exact at 2 directions.
  expect_matrix(delta(m), {{1, 0, 2}, {0, 2, 0}});
  EXPECT_EQ(m.A.narrow(0, 2, 2).abs().max().item<double>(), 0.0);
  EXPECT_EQ(m.B.narrow(1, 2, 2).abs().max().item<double>(), 0.0);
}

TEST(PeftParity, DareLinearSvdDropsWhatExactDareLinearDrops) {
  // With s_i = 1 PEFT's doubled scale is invisible, and at rank min(out, in) = 2 the SVD is
  // exact: dare_linear_svd must then equal the exact dare_linear, mask for mask.
  AdapterSet s;
  s.add(rank1_adapter("one", {1, 3}, {2, 1}, 1.0));
  s.add(rank1_adapter("two", {-1, 1}, {3, 1}, 1.0));
  MergeRecipe exact;
  exact.method = MergeMethod::DareLinear;
  exact.weights = {1, 0.5};
  exact.density = 0.5;
  exact.seed = 7;
  exact.rank = 2;
  jobs::NullProgress p;
  const auto want = delta(merge(s, exact, p).modules[0]);
  MergeRecipe peft = exact;
  peft.method = MergeMethod::DareLinearSvd;
  peft.peft_compat = true;
  const auto got = delta(merge(s, peft, p).modules[0]);
  // Both are float32 sums of four O(10) products, truncated exactly: 1e-5 absolute.
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-5) << got << want;
  EXPECT_GT(want.abs().max().item<double>(), 0.0);
}
