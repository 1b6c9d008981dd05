// The architecture features beyond the Qwen2 baseline (Llama 3.x rotary scalings, Qwen3's q/k
// norms and explicit head_dim, Llama's o_proj / MLP biases, sliding-window attention) against
// the float64 per-token reference of tests/support/naive_lm, which builds θ_i from the formulas
// by hand: hidden states after the first and the last layer and logits, with and without a LoRA
// bank. Each test also checks that the feature changes the output by far more than its tolerance,
// so that it fails with the feature removed.
#include <gtest/gtest.h>

#include <cmath>

#include "model/causal_lm.h"
#include "model/generate.h"
#include "model/rotary.h"
#include "naive_lm.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;

namespace {

std::vector<int64_t> range(int64_t first, int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(first + i);
  return v;
}

double worst_error(const CausalLM& m, const std::vector<int64_t>& ids,
                   const std::vector<int64_t>& positions) {
  return test::reference_error(m, ids, positions);
}

at::Tensor logits_at(const CausalLM& m, const std::vector<int64_t>& ids,
                     const std::vector<int64_t>& positions) {
  CausalLM::ForwardOptions o;
  o.position_ids = torch::tensor(positions).view({1, -1});
  return m.logits(torch::tensor(ids).view({1, -1}), o)[0];
}

// A Llama-family tiny model with head_dim 8 (θ_i = 1, 0.1, 0.01, 0.001 at theta 10⁴), so that
// llama3 scaling with original 256, low 1, high 8 has a wavelength in each band: 6.3 (< 32,
// kept), 63 (blended), 628 and 6283 (> 256, divided by the factor).
ModelConfig llama_config(const RopeScaling& rope) {
  auto c = test::tiny_decoder_config("llama");
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.rope_scaling = rope;
  return c;
}

const std::vector<int64_t> kIds{3, 17, 0, 36, 5, 5, 21};

// Positions 100 … 106 make every scaled frequency turn by O(1) rad differently. float32 angles
// p·θ carry ≈ 106 · 2⁻²⁴ · 2 ≈ 1.3e-5 rad of rounding (products and the float32 θ), which moves
// scores and outputs by about that much relative; 1e-4 bounds it with room, while a wrong
// scaling moves the logits by O(10 %).
constexpr double kFarTol = 1e-4;

}  // namespace

TEST(CausalLMArchitectures, RotaryScalingsMatchTheReference) {
  const auto positions = range(100, 7);
  const auto plain = test::tiny_decoder(llama_config(RopeScaling{}), 5);
  RopeScaling llama3{"llama3", 8, 1, 8, 256}, linear{"linear", 4, 1, 4, 8192},
      dynamic{"dynamic", 2, 1, 4, 8192};
  // YaRN: θ = 1, 0.0625, 0.0025, 0.00025 with cos and sin × 1.1386 (rotary_test works them by
  // hand); and not truncated over an original 4096 with DeepSeek's mscale pair (× 1.0648). The
  // attention factor scales q·k by ≤ 1.3, which leaves the float32 rounding of the angles (the
  // 1e-4 bound's reason) unchanged in relative terms.
  RopeScaling yarn{"yarn", 4, 1, 4, 0}, yarn_free{"yarn", 4, 1, 4, 4096, 0, 1.0, 0.5, 8, 2, false};
  for (const auto& rope : {llama3, linear, dynamic, yarn, yarn_free}) {
    test::TempDir dir;
    auto m = test::tiny_decoder(llama_config(rope), 5);  // the same weights as `plain`
    m.save(dir / "m");
    const auto loaded = CausalLM::load(dir / "m");
    EXPECT_EQ(loaded.config().rope_scaling, rope) << rope.type;
    EXPECT_LT(worst_error(loaded, kIds, positions), kFarTol) << rope.type;
    // Without the scaling the logits are far off.
    EXPECT_GT(test::rel_err(logits_at(plain, kIds, positions), logits_at(loaded, kIds, positions)),
              100 * kFarTol)
        << rope.type;
  }
}

// Qwen2.5 past 32k tokens: q/k/v biases, and the rope_scaling its model cards give
// ({"type": "yarn", "factor": 4, "original_max_position_embeddings": = max positions}), here at
// max positions 64 so that positions 100 … 106 lie past it.
TEST(CausalLMArchitectures, Qwen25YarnMatchesTheReference) {
  auto c = test::tiny_decoder_config("qwen2");
  c.max_position_embeddings = 64;
  const auto plain = test::tiny_decoder(c, 6);
  auto j = c.to_json();
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 64}};
  c = ModelConfig::from_json(j, "qwen25/config.json");
  const auto m = test::tiny_decoder(c, 6);  // the same weights as `plain`
  const auto positions = range(100, 7);
  EXPECT_LT(worst_error(m, kIds, positions), kFarTol);
  EXPECT_GT(test::rel_err(logits_at(plain, kIds, positions), logits_at(m, kIds, positions)),
            100 * kFarTol);
}

TEST(CausalLMArchitectures, DynamicScalingTakesEachRowsOwnRealLength) {
  RopeScaling r{"dynamic", 8, 1, 4, 8192};
  auto c = llama_config(r);
  c.max_position_embeddings = 4;
  const auto m = test::tiny_decoder(c, 8);
  // Row 0: 7 tokens at 100 … 106 (scaled); row 1: 3 real tokens and 4 right pads at positions
  // 3 … 6, which must not count (3 ≤ 4: no scaling for that row alone).
  const std::vector<int64_t> a{1, 2, 3, 4, 5, 6, 7}, b{9, 8, 7};
  CausalLM::ForwardOptions o;
  o.position_ids = torch::tensor(std::vector<int64_t>{100, 101, 102, 103, 104, 105, 106,  //
                                                      0, 1, 2, 3, 4, 5, 6})
                       .view({2, 7});
  o.attention_mask =
      torch::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}).view({2, 7});
  const auto ids =
      torch::tensor(std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 9, 8, 7, 0, 0, 0, 0}).view({2, 7});
  const auto got = m.logits(ids, o);
  const auto want_a = test::naive_forward(c, m.parameters(), a, {}, range(100, 7)).logits;
  const auto want_b = test::naive_forward(c, m.parameters(), b).logits;
  EXPECT_LT(test::rel_err(got[0], want_a), kFarTol);
  EXPECT_LT(test::rel_err(got[1].narrow(0, 0, 3), want_b), 1e-5);
  // Had the pads counted (length 7 > 4), row 1 would be scaled.
  auto longer = b;
  longer.insert(longer.end(), {0, 0, 0, 0});
  EXPECT_GT(
      test::rel_err(test::naive_forward(c, m.parameters(), longer).logits.narrow(0, 0, 3), want_b),
      1e-3);
}

TEST(CausalLMArchitectures, Qwen3QkNormsAndExplicitHeadDim) {
  for (bool bias : {false, true}) {
    test::TempDir dir;
    auto c = test::tiny_decoder_config("qwen3");
    c.head_dim = 8;  // ≠ hidden / heads = 4, as in Qwen3
    c.attention_bias = bias;
    test::tiny_decoder(c, 11).save(dir / "m");
    const auto m = CausalLM::load(dir / "m");
    EXPECT_TRUE(m.config().qk_norm());
    EXPECT_EQ(m.parameters().at("model.layers.1.self_attn.q_norm.weight").sizes(),
              (std::vector<int64_t>{8}));
    EXPECT_EQ(m.parameters().count("model.layers.0.self_attn.o_proj.bias"), bias ? 1u : 0u);
    // Default positions 0 … 6: float32 sums of ≤ 32 terms (≈ 6e-8 each), so 1e-5.
    EXPECT_LT(worst_error(m, kIds, range(0, 7)), 1e-5) << bias;
    // The same weights read as a model without the norms (llama) give other logits.
    auto no_norm = m.config();
    no_norm.model_type = "llama";
    CausalLM plain = CausalLM::random(no_norm, 1);
    for (auto& [name, t] : plain.parameters())
      t = m.parameters().at(name);
    EXPECT_GT(test::rel_err(plain.logits(torch::tensor(kIds).view({1, -1}))[0],
                            m.logits(torch::tensor(kIds).view({1, -1}))[0]),
              1e-2);
  }
}

TEST(CausalLMArchitectures, LlamaAttentionAndMlpBiases) {
  test::TempDir dir;
  auto c = test::tiny_decoder_config("llama");
  c.attention_bias = true;
  c.mlp_bias = true;
  test::tiny_decoder(c, 12).save(dir / "m");
  const auto m = CausalLM::load(dir / "m");
  for (const char* name : {"self_attn.o_proj.bias", "mlp.gate_proj.bias", "mlp.down_proj.bias"})
    EXPECT_EQ(m.parameters().count(std::string("model.layers.1.") + name), 1u) << name;
  EXPECT_LT(worst_error(m, kIds, range(0, 7)), 1e-5);
}

TEST(CausalLMArchitectures, SlidingWindowMistralAndQwen2Layers) {
  auto mistral = test::tiny_decoder_config("mistral");
  mistral.sliding_window = 3;
  mistral.sliding_layers = {true, true};
  auto qwen2 = test::tiny_decoder_config("qwen2");
  qwen2.sliding_window = 2;
  qwen2.sliding_layers = {false, true};  // use_sliding_window with max_window_layers 1
  for (const auto& c : {mistral, qwen2}) {
    test::TempDir dir;
    test::tiny_decoder(c, 13).save(dir / "m");
    const auto m = CausalLM::load(dir / "m");
    EXPECT_EQ(m.config().sliding_layers, c.sliding_layers);
    EXPECT_LT(worst_error(m, kIds, range(0, 7)), 1e-5) << c.model_type;
    auto full = c;
    full.sliding_window = 0;
    full.sliding_layers.clear();
    const auto f = test::naive_forward(full, m.parameters(), kIds).logits;
    EXPECT_GT(test::rel_err(f, test::naive_forward(c, m.parameters(), kIds).logits), 1e-2);
  }
}

TEST(CausalLMArchitectures, SlidingWindowWithKvCacheEqualsRecomputing) {
  auto c = test::tiny_decoder_config("mistral");
  c.sliding_window = 3;
  c.sliding_layers = {true, true};
  CausalLM m = test::tiny_decoder(c, 21);
  GenerateOptions o;
  o.max_new_tokens = 8;
  const auto got =
      greedy_generate(m, torch::tensor(std::vector<int64_t>{5, 6, 7}).view({1, -1}), o)[0];
  std::vector<int64_t> seq{5, 6, 7}, want;  // 11 tokens > the window of 3
  for (int i = 0; i < 8; ++i) {
    const auto logits = m.logits(torch::tensor(seq).view({1, -1}))[0];
    want.push_back(logits[static_cast<int64_t>(seq.size()) - 1].argmax().item<int64_t>());
    seq.push_back(want.back());
  }
  EXPECT_EQ(got, want);
}

TEST(CausalLMArchitectures, TensorsConfigDoesNotDescribeAreRefused) {
  test::TempDir dir;
  auto c = test::tiny_decoder_config("qwen3");
  c.attention_bias = false;
  test::tiny_decoder(c, 3).save(dir / "m");
  auto cfg = c.to_json();
  cfg["model_type"] = "llama";  // the same weights without q/k norms in the architecture
  test::write_bytes(dir / "m" / "config.json", cfg.dump());
  try {
    CausalLM::load(dir / "m");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("_norm.weight' is not part of a llama"), std::string::npos)
        << e.what();
  }
}
