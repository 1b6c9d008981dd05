// The decoder against an independent naive reference written here (per sequence, per position,
// per head, straight from the equations), on a tiny random model saved to safetensors and read
// back; LoRA slots against merged weights; a batch of K coefficient rows against K runs.
#include <gtest/gtest.h>

#include <cmath>

#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "naive_lm.h"
#include "test_support.h"
#include "util/errors.h"
#include "util/runtime.h"

using namespace basin;

namespace {

ModelConfig tiny_config(const std::string& type = "qwen2", bool tied = false) {
  return test::tiny_decoder_config(type, tied);
}

CausalLM tiny_model(const ModelConfig& c, uint64_t seed) {
  return test::tiny_decoder(c, seed);
}

using test::D;
using test::naive_logits;

std::shared_ptr<Adapter> random_adapter(const CausalLM& m, const std::string& name, int64_t r,
                                        double alpha, uint64_t seed, bool skip_mlp = false) {
  auto a = std::make_shared<Adapter>();
  a->name = name;
  for (const auto& target : m.lora_targets()) {
    if (skip_mlp && target.find("mlp") != std::string::npos) continue;
    const auto& W = m.parameters().at(target + ".weight");
    LoraModule mod;
    mod.name = target;
    mod.A = 0.3 * test::randn({r, W.size(1)}, ++seed);
    mod.B = 0.3 * test::randn({W.size(0), r}, ++seed);
    mod.alpha = alpha;
    mod.scale = alpha / double(r);
    a->modules.push_back(mod);
  }
  return a;
}

}  // namespace

TEST(CausalLM, ForwardMatchesNaiveReferenceAfterSaveAndLoad) {
  for (auto [type, tied] : {std::pair<std::string, bool>{"qwen2", false}, {"llama", true}}) {
    test::TempDir dir;
    const auto c = tiny_config(type, tied);
    tiny_model(c, 7).save(dir / "m");
    const CausalLM m = CausalLM::load(dir / "m");
    const std::vector<int64_t> ids{3, 17, 0, 36, 5, 5, 21};
    const auto got = m.logits(torch::tensor(ids).view({1, -1}))[0];
    const auto want = naive_logits(c, m.parameters(), ids);
    EXPECT_LT(test::rel_err(got, want), 1e-5) << type;
  }
}

TEST(CausalLM, PaddingDoesNotChangeRealTokens) {
  const auto c = tiny_config();
  const CausalLM m = tiny_model(c, 3);
  const auto a = torch::tensor(std::vector<int64_t>{1, 2, 3, 4, 5}).view({1, -1});
  const auto b = torch::tensor(std::vector<int64_t>{6, 7, 8, 0, 0}).view({1, -1});
  CausalLM::ForwardOptions o;
  o.attention_mask = torch::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}).view({2, 5});
  const auto both = m.logits(torch::cat({a, b}), o);
  // Batch of 2 vs batch of 1: other GEMM shapes, so other summation orders and possibly other
  // BLAS kernels. Accumulations here are ≤ 24 long in float32 (2⁻²⁴ ≈ 6e-8 each), so 1e-5 of
  // the largest logit bounds the difference with room to spare; masking errors are O(1).
  EXPECT_LT(test::rel_err(both[0], m.logits(a)[0]), 1e-5);
  EXPECT_LT(test::rel_err(both[1].narrow(0, 0, 3), m.logits(b.narrow(1, 0, 3))[0]), 1e-5);
}

TEST(CausalLM, LoraSlotWithCoefficientsEqualsMergedWeights) {
  const auto c = tiny_config();
  const CausalLM base = tiny_model(c, 5);
  const auto a1 = random_adapter(base, "a1", 2, 4.0, 100);
  const auto a2 = random_adapter(base, "a2", 3, 1.5, 200, /*skip_mlp=*/true);
  CausalLM banked = base;
  banked.set_lora_bank({a1, a2});
  const std::vector<int64_t> ids{4, 8, 15, 16, 23, 4};
  const auto x = torch::tensor(ids).view({1, -1});
  const double c1 = 0.7, c2 = -0.4;
  CausalLM::ForwardOptions o;
  o.lora_coeffs = torch::tensor(std::vector<float>{float(c1), float(c2)}).view({1, 2});
  const auto got = banked.logits(x, o)[0];
  CausalLM merged = tiny_model(c, 5);
  merged.merge_adapter(*a1, c1);
  merged.merge_adapter(*a2, c2);
  EXPECT_LT(test::rel_err(got, merged.logits(x)[0]), 1e-5);
  // And both equal the naive reference with ΔW = Σ c_k s_k B_k A_k added to the weights.
  std::map<std::string, at::Tensor> deltas;
  for (const auto& [adapter, coeff] : {std::pair{a1, c1}, std::pair{a2, c2}})
    for (const auto& mod : adapter->modules) {
      const auto dlt = D(mod.B).mm(D(mod.A)) * (mod.scale * coeff);
      deltas[mod.name] = deltas.count(mod.name) ? deltas[mod.name] + dlt : dlt;
    }
  EXPECT_LT(test::rel_err(got, naive_logits(c, base.parameters(), ids, deltas)), 1e-5);
}

TEST(CausalLM, BatchOfCoefficientRowsEqualsSeparateRuns) {
  const auto c = tiny_config();
  CausalLM m = tiny_model(c, 9);
  m.set_lora_bank({random_adapter(m, "a", 2, 2.0, 1), random_adapter(m, "b", 4, 8.0, 2)});
  const auto ids = torch::tensor(std::vector<int64_t>{1, 9, 2, 8, 3}).view({1, -1});
  // An interpolation sweep α ∈ {0, 0.25, ..., 1}: coefficients (α, 1-α), 5 points in one batch.
  std::vector<float> coeffs;
  for (int i = 0; i <= 4; ++i) {
    coeffs.push_back(i / 4.0f);
    coeffs.push_back(1 - i / 4.0f);
  }
  CausalLM::ForwardOptions o;
  o.lora_coeffs = torch::tensor(coeffs).view({5, 2});
  const auto batched = m.logits(ids.expand({5, -1}), o);
  for (int i = 0; i <= 4; ++i) {
    CausalLM::ForwardOptions one;
    one.lora_coeffs = o.lora_coeffs.narrow(0, i, 1);
    // Batch of 5 vs batch of 1: float32 summation order may differ (see above).
    EXPECT_LT(test::rel_err(batched[i], m.logits(ids, one)[0]), 1e-5) << i;
  }
  // Zero coefficients give the base model.
  CausalLM::ForwardOptions zero;
  zero.lora_coeffs = torch::zeros({1, 2});
  CausalLM plain = tiny_model(c, 9);
  EXPECT_LT(test::rel_err(m.logits(ids, zero)[0], plain.logits(ids)[0]), 1e-6);
}

TEST(CausalLM, HiddenStateOfAnyLayer) {
  const auto c = tiny_config();
  const CausalLM m = tiny_model(c, 11);
  const auto ids = torch::tensor(std::vector<int64_t>{1, 2, 3}).view({1, -1});
  CausalLM::ForwardOptions o;
  o.output_layer = 0;
  EXPECT_TRUE(torch::allclose(m.forward(ids, o).hidden[0][1],
                              m.parameters().at("model.embed_tokens.weight")[2]));
  o.output_layer = 2;
  const auto r = m.forward(ids, o);
  const auto head = m.parameters().at("lm_head.weight");
  EXPECT_LT(test::rel_err(torch::matmul(r.hidden, head.t()), r.logits), 1e-6);
}

TEST(CausalLM, BadInputsNameTheProblem) {
  test::TempDir dir;
  const auto c = tiny_config();
  tiny_model(c, 1).save(dir / "m");
  auto expect_error = [](auto&& f, const std::string& frag) {
    try {
      f();
      FAIL() << "expected InputError with " << frag;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
    }
  };
  expect_error([&] { CausalLM::load(dir / "nothing"); }, "missing config.json");
  // Unknown model_type.
  auto cfg = c.to_json();
  cfg["model_type"] = "gpt_neox";
  test::write_bytes(dir / "m" / "config.json", cfg.dump());
  expect_error([&] { CausalLM::load(dir / "m"); }, "gpt_neox");
  // Vocabulary larger than the embedding matrix.
  cfg = c.to_json();
  cfg["vocab_size"] = 40;
  test::write_bytes(dir / "m" / "config.json", cfg.dump());
  expect_error([&] { CausalLM::load(dir / "m"); }, "config.json implies [40, 16]");
  // A tensor missing from the file.
  cfg = c.to_json();
  cfg["num_hidden_layers"] = 3;
  test::write_bytes(dir / "m" / "config.json", cfg.dump());
  expect_error([&] { CausalLM::load(dir / "m"); }, "model.layers.2.");
  // An adapter for a module the model lacks.
  CausalLM m = tiny_model(c, 1);
  auto a = std::make_shared<Adapter>();
  a->name = "odd";
  LoraModule mod;
  mod.name = "model.layers.9.self_attn.q_proj";
  mod.A = torch::zeros({1, 16});
  mod.B = torch::zeros({16, 1});
  a->modules.push_back(mod);
  expect_error([&] { m.set_lora_bank({a}); }, "model.layers.9.self_attn.q_proj");
}

#include "model/generate.h"

TEST(Generate, GreedyWithKvCacheEqualsRecomputingTheWholeSequence) {
  const auto c = tiny_config();
  CausalLM m = tiny_model(c, 21);
  m.set_lora_bank({random_adapter(m, "a", 2, 2.0, 5)});
  const auto prompt = torch::tensor(std::vector<int64_t>{5, 6, 7}).view({1, -1});
  const auto coeffs = torch::tensor(std::vector<float>{0.5f}).view({1, 1});
  GenerateOptions o;
  o.max_new_tokens = 8;
  o.lora_coeffs = coeffs;
  const auto got = greedy_generate(m, prompt, o)[0];
  // Reference: no cache, full forward each step.
  std::vector<int64_t> seq{5, 6, 7}, want;
  for (int i = 0; i < 8; ++i) {
    CausalLM::ForwardOptions fo;
    fo.lora_coeffs = coeffs;
    const auto logits = m.logits(torch::tensor(seq).view({1, -1}), fo)[0];
    const int64_t next = logits[static_cast<int64_t>(seq.size()) - 1].argmax().item<int64_t>();
    want.push_back(next);
    seq.push_back(next);
  }
  EXPECT_EQ(got, want);
  // Stops at EOS (without emitting it).
  size_t j = 1;  // first position whose token did not occur before it
  while (j < want.size() && std::find(want.begin(), want.begin() + static_cast<long>(j), want[j]) !=
                                want.begin() + static_cast<long>(j))
    ++j;
  ASSERT_LT(j, want.size());
  o.eos_token_id = want[j];
  const auto stopped = greedy_generate(m, prompt, o)[0];
  EXPECT_EQ(stopped, std::vector<int64_t>(want.begin(), want.begin() + static_cast<long>(j)));
}

TEST(CausalLM, LeftPaddingWithPositionIdsAndPickedLogitsEqualsTheUnpaddedRun) {
  const auto c = tiny_config();
  CausalLM m = tiny_model(c, 13);
  m.set_lora_bank({random_adapter(m, "a", 2, 2.0, 7), random_adapter(m, "b", 3, 3.0, 8),
                   random_adapter(m, "c", 2, 1.0, 9, /*skip_mlp=*/true)});
  const std::vector<int64_t> p1{4, 9, 1, 7, 3}, p2{8, 2};
  // Row 1 left-padded by 3; positions restart at 0 on its first real token.
  const auto ids = torch::tensor(std::vector<int64_t>{4, 9, 1, 7, 3, 0, 0, 0, 8, 2}).view({2, 5});
  CausalLM::ForwardOptions o;
  o.attention_mask = torch::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0, 1, 1}).view({2, 5});
  o.position_ids = torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 0, 0, 0, 0, 1}).view({2, 5});
  // Adapter b unused in both rows: the bank drops its rank rows (exactly 0 contribution).
  o.lora_coeffs = torch::tensor(std::vector<float>{0.5f, 0.f, -1.f, 1.2f, 0.f, 0.3f}).view({2, 3});
  o.logit_positions = torch::tensor(std::vector<int64_t>{4, 2, 8, 9});  // (0,4) (0,2) (1,3) (1,4)
  const auto got = m.logits(ids, o);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{4, c.vocab_size}));
  CausalLM::ForwardOptions one1, one2;
  one1.lora_coeffs = o.lora_coeffs.narrow(0, 0, 1);
  one2.lora_coeffs = o.lora_coeffs.narrow(0, 1, 1);
  const auto want1 = m.logits(torch::tensor(p1).view({1, -1}), one1)[0];
  const auto want2 = m.logits(torch::tensor(p2).view({1, -1}), one2)[0];
  // Other batch shapes and the whole bank vs two of its adapters: float32 summation order
  // only (see PaddingDoesNotChangeRealTokens); a wrong position or mask is an O(1) change.
  EXPECT_LT(test::rel_err(got[0], want1[4]), 1e-5);
  EXPECT_LT(test::rel_err(got[1], want1[2]), 1e-5);
  EXPECT_LT(test::rel_err(got[2], want2[0]), 1e-5);
  EXPECT_LT(test::rel_err(got[3], want2[1]), 1e-5);
  // The whole bank with the unused adapter at 0 gives the same numbers.
  o.active_adapters_only = false;
  EXPECT_LT(test::rel_err(m.logits(ids, o), got), 1e-5);
  // Rotary attention only sees position differences, so the ids must be the ones used:
  // a gap between row 1's two tokens changes its answer.
  o.position_ids = torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 0, 0, 0, 0, 5}).view({2, 5});
  EXPECT_GT(test::rel_err(m.logits(ids, o)[3], want2[1]), 1e-3);
}

TEST(CausalLM, RowGroupsMergedIntoWeightCopiesEqualTheBankRows) {
  const auto c = tiny_config();
  CausalLM m = tiny_model(c, 41);
  const auto a = random_adapter(m, "a", 2, 2.0, 61), b = random_adapter(m, "b", 3, 6.0, 62, true);
  m.set_lora_bank({a, b});
  // 3 groups (points) × 2 rows (sequences), rows point by point; group 2 is the base model.
  const std::vector<int64_t> seq1{3, 1, 4, 1, 5}, seq2{9, 2, 6, 5, 3};
  std::vector<int64_t> flat;
  for (int g = 0; g < 3; ++g) {
    flat.insert(flat.end(), seq1.begin(), seq1.end());
    flat.insert(flat.end(), seq2.begin(), seq2.end());
  }
  const auto ids = torch::tensor(flat).view({6, 5});
  const std::vector<std::vector<float>> pts = {{0.7f, -0.4f}, {0.f, 1.3f}, {0.f, 0.f}};
  std::vector<float> cf;
  for (const auto& p : pts)
    for (int r = 0; r < 2; ++r)
      cf.insert(cf.end(), p.begin(), p.end());
  CausalLM::ForwardOptions o;
  o.lora_coeffs = torch::tensor(cf).view({6, 2});
  o.row_groups = 3;
  using Route = LmForwardOptions::LoraRoute;
  o.lora_route = Route::kBankRows;
  const auto bank = m.logits(ids, o);
  o.lora_route = Route::kMergedGroups;
  const auto merged = m.logits(ids, o);
  o.lora_route = Route::kAuto;
  const auto autoroute = m.logits(ids, o);
  // Independent reference: each point's ΔW merged into a copy of the weights, each sequence
  // alone. W x + Σ c s B A x and (W + Σ c s B A) x differ by float32 rounding of sums of ≤ 64
  // terms per output (relative ~1e-6); 1e-5 of the logits leaves room for the 2 layers.
  for (int g = 0; g < 3; ++g) {
    CausalLM w = tiny_model(c, 41);
    if (pts[g][0] != 0) w.merge_adapter(*a, pts[g][0]);
    if (pts[g][1] != 0) w.merge_adapter(*b, pts[g][1]);
    for (int r = 0; r < 2; ++r) {
      const auto& seq = r == 0 ? seq1 : seq2;
      const auto want = w.logits(torch::tensor(seq).view({1, -1}))[0];
      EXPECT_LT(test::rel_err(merged[2 * g + r], want), 1e-5) << g << "," << r;
      EXPECT_LT(test::rel_err(bank[2 * g + r], want), 1e-5) << g << "," << r;
      EXPECT_LT(test::rel_err(autoroute[2 * g + r], want), 1e-5) << g << "," << r;
    }
  }
  // Picked positions trim the last layer to those rows: equal picks per group keep the groups
  // (one answer per row), unequal ones fall back to the bank's rows; both equal the full pass.
  for (const std::vector<int64_t>& picks :
       {std::vector<int64_t>{4, 9, 13, 19, 22, 29}, std::vector<int64_t>{4, 7, 12}}) {
    auto po = o;
    po.lora_route = Route::kMergedGroups;
    po.logit_positions = torch::tensor(picks);
    const auto got = m.logits(ids, po);
    for (size_t n = 0; n < picks.size(); ++n)
      EXPECT_LT(test::rel_err(got[int64_t(n)], merged[picks[n] / 5][picks[n] % 5]), 1e-5) << n;
  }
  // The promise is checked: rows of a group must share their coefficients, and the groups
  // must divide the batch.
  auto bad = o;
  bad.lora_coeffs = o.lora_coeffs.clone();
  bad.lora_coeffs[1][0] = 0.5f;
  EXPECT_THROW(m.logits(ids, bad), InputError);
  bad = o;
  bad.row_groups = 4;
  EXPECT_THROW(m.logits(ids, bad), InputError);
  bad = o;
  bad.row_groups = 0;
  bad.lora_route = Route::kMergedGroups;
  EXPECT_THROW(m.logits(ids, bad), InputError);
}

TEST(CausalLM, MergedGroupsCostFormulaByHand) {
  // tokens·R·(in+out) against groups·out·in·(R + 8):
  // a point over 960 tokens of a 128-wide projection at rank 16:
  //   960·16·256 = 3,932,160 > 1·128·128·24 = 393,216 → merge.
  EXPECT_TRUE(merged_groups_cheaper(960, 1, 16, 128, 128));
  // one decoding step of 20 points, one token each: 20·16·256 = 81,920 < 20·16,384·24 → rows.
  EXPECT_FALSE(merged_groups_cheaper(20, 20, 16, 128, 128));
  // 30 tokens per point at rank 2: 30·2·256 = 15,360 < 16,384·10 = 163,840 → rows.
  EXPECT_FALSE(merged_groups_cheaper(30, 1, 2, 128, 128));
  // Qwen2-1.5B's MLP (8960 × 1536) at 8 groups is 110 M floats, over the 64 M cap → rows.
  EXPECT_FALSE(merged_groups_cheaper(8 * 4096, 8, 16, 1536, 8960));
  EXPECT_FALSE(merged_groups_cheaper(961, 2, 16, 128, 128));  // groups must divide the tokens
}

TEST(Generate, UnequalLengthBatchEqualsEachPromptAlone) {
  const auto c = tiny_config();
  CausalLM m = tiny_model(c, 31);
  m.set_lora_bank({random_adapter(m, "a", 2, 2.0, 15), random_adapter(m, "b", 3, 2.0, 16)});
  const std::vector<std::vector<int64_t>> prompts = {
      {5, 6, 7}, {1}, {9, 8, 7, 6, 5, 4, 3}, {2, 2}, {11, 3, 5, 7, 1}, {5, 6, 7}};
  const std::vector<float> cf = {0.5f, 0.f, 0.f, 1.f, 1.f, 1.f, -0.5f, 0.25f, 0.f, 0.f, 0.f, 1.f};
  const auto coeffs = torch::tensor(cf).view({6, 2});
  GenerateOptions o;
  o.max_new_tokens = 7;
  auto alone = [&](size_t i) {
    GenerateOptions a = o;
    a.lora_coeffs = coeffs.narrow(0, int64_t(i), 1);
    return greedy_generate(m, torch::tensor(prompts[i]).view({1, -1}), a)[0];
  };
  o.lora_coeffs = coeffs;
  const auto got = greedy_generate_batch(m, prompts, o);
  ASSERT_EQ(got.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(got[i], alone(i)) << "prompt " << i;
  // Same prompt, other coefficients: other answers (the rows really carry their own points).
  EXPECT_NE(got[0], got[5]);
  // EOS: a token one row emits mid-way ends that row there, and the others go on.
  const int64_t eos = got[2][3];
  o.eos_token_id = eos;
  const auto stopped = greedy_generate_batch(m, prompts, o);
  bool some_stopped = false;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerateOptions a = o;
    a.lora_coeffs = coeffs.narrow(0, int64_t(i), 1);
    EXPECT_EQ(stopped[i], greedy_generate(m, torch::tensor(prompts[i]).view({1, -1}), a)[0])
        << "prompt " << i;
    some_stopped |= stopped[i].size() < got[i].size();
  }
  EXPECT_TRUE(some_stopped);
  EXPECT_THROW(greedy_generate_batch(m, {{1, 2}, {}}, GenerateOptions{}), InputError);
}

TEST(Generate, SequenceNllSumsLogProbsOfTargetsOnly) {
  const auto c = tiny_config();
  const CausalLM m = tiny_model(c, 4);
  const auto ids = torch::tensor(std::vector<int64_t>{3, 1, 4, 1, 5, 9, 2, 6, 0, 0}).view({2, 5});
  const auto attn = torch::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}).view({2, 5});
  const auto target =
      torch::tensor(std::vector<int64_t>{0, 0, 1, 1, 1, 0, 1, 1, 0, 0}).view({2, 5});
  const auto r = sequence_nll(m, ids, attn, target);
  // By hand from each sequence's own logits.
  for (int b = 0; b < 2; ++b) {
    const int len = b == 0 ? 5 : 3;
    const auto logits = m.logits(ids[b].narrow(0, 0, len).view({1, -1}))[0].to(torch::kFloat64);
    double want = 0;
    int64_t n = 0;
    for (int t = 1; t < len; ++t) {
      if (target[b][t].item<int64_t>() == 0) continue;
      want -= torch::log_softmax(logits[t - 1], -1)[ids[b][t].item<int64_t>()].item<double>();
      ++n;
    }
    // Padded batch in float32 vs one sequence's logits: relative 1e-5 (see above); NLL is a
    // sum of a few log-softmax terms of those logits, so it inherits that relative bound.
    EXPECT_NEAR(r.nll[b].item<double>(), want, 1e-5 * want) << b;
    EXPECT_EQ(r.tokens[b].item<int64_t>(), n);
  }
}

// Evaluation in bf16 (set_eval_precision): LibTorch's autocast runs the matrix products with
// bfloat16 inputs (8 significant bits, unit roundoff u = 2^-9) and float32 accumulation. On this
// 2-layer model each logit passes through about 8 rounded products per layer plus the head, so
// to first order its relative error is at most ~17·2u ≈ 0.07 of the activations' scale; the
// test asks for a Frobenius-relative difference below 0.05 (what autocast gives is ~1e-2), and
// above 1e-5 so that the option demonstrably changes the arithmetic (float32 alone differs from
// itself by 0). With gradients on (training) the setting changes nothing, bit for bit.
TEST(CausalLM, Bf16EvaluationStaysWithinItsRoundingAndLeavesTrainingInFloat32) {
  const auto c = tiny_config();
  CausalLM m = tiny_model(c, 31);
  m.set_lora_bank({random_adapter(m, "a", 2, 2.0, 7), random_adapter(m, "b", 4, 8.0, 9)});
  const auto ids = torch::tensor(std::vector<int64_t>{3, 9, 1, 4, 1, 5, 9, 2}).view({2, 4});
  CausalLM::ForwardOptions o;
  o.lora_coeffs = torch::tensor(std::vector<float>{0.25f, 0.75f, 1.0f, 0.0f}).view({2, 2});
  o.output_layer = 1;
  auto run = [&](const std::string& precision, bool grad) {
    set_eval_precision(precision);
    torch::AutoGradMode mode(grad);
    return m.forward(ids, o);
  };
  const auto fp32 = run("fp32", false);
  const auto bf16 = run("bf16", false);
  const auto trained = run("bf16", true);
  set_eval_precision("fp32");
  ASSERT_EQ(bf16.logits.scalar_type(), torch::kFloat32);
  ASSERT_EQ(bf16.hidden.scalar_type(), torch::kFloat32);
  for (const auto& [got, want] :
       {std::pair{bf16.logits, fp32.logits}, std::pair{bf16.hidden, fp32.hidden}}) {
    const double rel = ((got - want).norm() / want.norm()).item<double>();
    EXPECT_LT(rel, 0.05);
    EXPECT_GT(rel, 1e-5);
  }
  EXPECT_TRUE(torch::equal(trained.logits, fp32.logits));
  // Greedy decoding with the KV cache runs under it too (the cache holds float32 keys).
  set_eval_precision("bf16");
  GenerateOptions g;
  g.max_new_tokens = 4;
  EXPECT_EQ(greedy_generate(m, ids.narrow(0, 0, 1), g)[0].size(), 4u);
  set_eval_precision("fp32");
  EXPECT_THROW(set_eval_precision("fp16"), InputError);
}
