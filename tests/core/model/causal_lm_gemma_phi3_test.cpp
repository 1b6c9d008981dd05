// Gemma 2, Gemma 3 (text) and Phi-3 against the float64 per-token reference of
// tests/support/naive_lm, loaded from Hugging Face folders: hidden states after the first and the
// last layer and logits, without and with a LoRA bank on every projection PEFT can target
// (Phi-3's fused qkv_proj / gate_up_proj as whole layers, read from a PEFT folder). Each feature
// is also shown to move the logits by more than 1e-2, far above the 1e-5 tolerance, so a test
// fails with the feature removed.
//
// Tolerance 1e-5 of the largest value: float32 against float64 at d = 16, sums of ≤ 32 terms
// (≈ 32 · 2⁻²⁴ ≈ 2e-6 relative each), a few layers deep; soft-caps and GELU's tanh are
// 1-Lipschitz in relative terms at these magnitudes, and √d = 4 scales the embeddings exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "lora/peft_io.h"
#include "model/causal_lm.h"
#include "model/generate.h"
#include "naive_lm.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;

namespace {

constexpr double kTol = 1e-5;
const std::vector<int64_t> kIds{3, 17, 0, 36, 5, 5, 21};

std::vector<int64_t> range(int64_t first, int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(first + i);
  return v;
}

CausalLM saved_and_loaded(const ModelConfig& c, uint64_t seed, const test::TempDir& dir) {
  test::tiny_decoder(c, seed).save(dir / "m");
  return CausalLM::load(dir / "m");
}

at::Tensor logits(const CausalLM& m) {
  return m.logits(torch::tensor(kIds).view({1, -1}))[0];
}

// How far the model's logits are from the reference computed with config `c` and `params`
// (the model with one feature taken out).
double moved(const CausalLM& m, const ModelConfig& c,
             const std::map<std::string, at::Tensor>& params) {
  return test::rel_err(logits(m), test::naive_forward(c, params, kIds).logits);
}
double moved(const CausalLM& m, const ModelConfig& c) {
  return moved(m, c, m.parameters());
}

// Logits at every position picked (the last layer then runs its queries only there) equal the
// full forward pass; greedy decoding with the KV cache equals recomputing every step.
void expect_trimmed_and_cached_paths_agree(const CausalLM& m) {
  CausalLM::ForwardOptions o;
  o.logit_positions = torch::tensor(std::vector<int64_t>{6, 2, 4});
  const auto picked = m.logits(torch::tensor(kIds).view({1, -1}), o);
  const auto full = logits(m);
  EXPECT_LT(test::rel_err(picked, full.index_select(0, o.logit_positions)), 1e-6);
  GenerateOptions g;
  g.max_new_tokens = 6;  // 9 tokens: past the window of 3
  const auto got =
      greedy_generate(m, torch::tensor(std::vector<int64_t>{5, 6, 7}).view({1, -1}), g)[0];
  std::vector<int64_t> seq{5, 6, 7}, want;
  for (int i = 0; i < 6; ++i) {
    const auto l = m.logits(torch::tensor(seq).view({1, -1}))[0];
    want.push_back(l[static_cast<int64_t>(seq.size()) - 1].argmax().item<int64_t>());
    seq.push_back(want.back());
  }
  EXPECT_EQ(got, want) << m.config().model_type;
}

// The parts Gemma bundles (the (1 + w) norms, the √d embedding scale, the sandwich norms around
// attention and MLP) each taken out, as reference configs and weights that compute the model
// without that part.
void expect_gemma_bundle_matters(const CausalLM& m) {
  const auto& c = m.config();
  ASSERT_FALSE(c.tie_word_embeddings);  // the embedding and head weights are changed apart
  // w instead of 1 + w: weights w − 1 under the reference's 1 + w.
  auto p = m.parameters();
  for (auto& [name, t] : p)
    if (name.find("norm") != std::string::npos) t = t - 1;
  EXPECT_GT(moved(m, c, p), 1e-2) << "(1 + w)";
  // No √d: embeddings divided by √d under the reference's scale.
  p = m.parameters();
  const double sqrt_d = std::sqrt(double(c.hidden_size));
  p["model.embed_tokens.weight"] = p["model.embed_tokens.weight"] / sqrt_d;
  EXPECT_GT(moved(m, c, p), 1e-2) << "sqrt(d)";
  // No sandwich norms: a llama-layout reference (plain norms, no embedding scale) given 1 + w,
  // √d · embeddings and pre_feedforward_layernorm as the MLP's input norm computes Gemma
  // without the norms of the attention and MLP outputs.
  auto plain = c;
  plain.model_type = "llama";
  p = m.parameters();
  for (auto& [name, t] : p)
    if (name.find("norm") != std::string::npos) t = t + 1;
  p["model.embed_tokens.weight"] = p["model.embed_tokens.weight"] * sqrt_d;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    p[pre + "post_attention_layernorm.weight"] = p[pre + "pre_feedforward_layernorm.weight"];
  }
  if (c.qk_norm()) plain.model_type = "qwen3";  // keeps the q/k norms
  EXPECT_GT(moved(m, plain, p), 1e-2) << "sandwich norms";
}

}  // namespace

TEST(CausalLMGemmaPhi3, Gemma2MatchesTheReference) {
  for (bool tied : {false, true}) {
    test::TempDir dir;
    const auto m = saved_and_loaded(test::tiny_decoder_config("gemma2", tied), 31, dir);
    const auto& c = m.config();
    EXPECT_EQ(c.sliding_layers, (std::vector<bool>{true, false}));  // even layers slide
    for (const char* n : {"pre_feedforward_layernorm", "post_feedforward_layernorm"})
      EXPECT_EQ(m.parameters().count(std::string("model.layers.1.") + n + ".weight"), 1u) << n;
    EXPECT_EQ(m.parameters().count("lm_head.weight"), tied ? 0u : 1u);
    EXPECT_LT(test::reference_error(m, kIds, range(0, 7)), kTol) << tied;
    if (tied) continue;
    // Each feature taken out of the reference moves the logits far beyond the tolerance.
    auto off = c;
    off.attn_logit_softcapping = 0;
    EXPECT_GT(moved(m, off), 1e-2) << "attention soft-cap";
    off = c;
    off.final_logit_softcapping = 0;
    EXPECT_GT(moved(m, off), 1e-2) << "final soft-cap";
    off = c;
    off.query_pre_attn_scalar = 0;  // 1/sqrt(head_dim)
    EXPECT_GT(moved(m, off), 1e-2) << "query_pre_attn_scalar";
    off = c;
    off.hidden_act = "silu";
    EXPECT_GT(moved(m, off), 1e-2) << "GeGLU";
    off = c;
    off.sliding_window = 0;
    EXPECT_GT(moved(m, off), 1e-2) << "local layers";
    expect_gemma_bundle_matters(m);
    expect_trimmed_and_cached_paths_agree(m);
  }
}

TEST(CausalLMGemmaPhi3, Gemma3TextMatchesTheReference) {
  auto base = test::tiny_decoder_config("gemma3_text");
  auto scaled = base;  // linear scaling on the global layers only; the local ones stay plain
  scaled.rope_scaling = RopeScaling{"linear", 4, 1, 4, 8192};
  for (const auto& cfg : {base, scaled}) {
    test::TempDir dir;
    const auto m = saved_and_loaded(cfg, 32, dir);
    const auto& c = m.config();
    EXPECT_TRUE(c.qk_norm());
    EXPECT_EQ(c.rope_local_base_freq, 10.0);
    EXPECT_EQ(c.rope_scaling, cfg.rope_scaling);
    EXPECT_EQ(m.parameters().count("model.layers.0.self_attn.q_norm.weight"), 1u);
    // Positions 100 … 106: float32 angles p·θ carry ≈ 1.3e-5 rad (as for the Llama scalings),
    // so 1e-4 there; 1e-5 at 0 … 6.
    EXPECT_LT(test::reference_error(m, kIds, range(0, 7)), kTol);
    EXPECT_LT(test::reference_error(m, kIds, range(100, 7)), 1e-4);
    auto off = c;
    off.rope_local_base_freq = c.rope_theta;  // every layer on the global base
    EXPECT_GT(moved(m, off), 1e-2) << "local rotary base";
    EXPECT_EQ(c.final_logit_softcapping, 0.0);  // Gemma 3's default: no soft-cap at all
    EXPECT_EQ(c.attn_logit_softcapping, 0.0);
    off = c;
    off.sliding_window = 0;
    EXPECT_GT(moved(m, off), 1e-2) << "local window";
    off = c;
    off.query_pre_attn_scalar = 0;
    EXPECT_GT(moved(m, off), 1e-2) << "query_pre_attn_scalar";
    if (cfg.rope_scaling.type == "default") {
      expect_gemma_bundle_matters(m);
      expect_trimmed_and_cached_paths_agree(m);
    }
  }
  // A final soft-cap given in a gemma3_text config is applied.
  auto capped = base;
  capped.final_logit_softcapping = 2.0;
  test::TempDir dir;
  const auto m = saved_and_loaded(capped, 33, dir);
  EXPECT_LT(test::reference_error(m, kIds, range(0, 7)), kTol);
  auto off = m.config();
  off.final_logit_softcapping = 0;
  EXPECT_GT(moved(m, off), 1e-2);
}

TEST(CausalLMGemmaPhi3, Phi3FusedProjectionsAndPartialRotary) {
  auto full = test::tiny_decoder_config("phi3");
  full.head_dim = 8;  // 4 heads of 8 over d 16 (Phi-3 sets head_dim = hidden / heads)
  full.hidden_size = 32;
  full.sliding_window = 3;  // Phi-3-mini-4k slides on every layer (window 2047)
  full.sliding_layers = {true, true};
  auto partial = full;
  partial.partial_rotary_factor = 0.5;  // rotary on the first 4 of 8 dims
  for (const auto& cfg : {full, partial}) {
    test::TempDir dir;
    const auto m = saved_and_loaded(cfg, 34, dir);
    const auto& c = m.config();
    EXPECT_EQ(c.rotary_dim(), cfg.partial_rotary_factor == 1.0 ? 8 : 4);
    EXPECT_EQ(m.parameters().at("model.layers.0.self_attn.qkv_proj.weight").sizes(),
              (std::vector<int64_t>{4 * 8 + 2 * 2 * 8, 32}));
    EXPECT_EQ(m.parameters().at("model.layers.0.mlp.gate_up_proj.weight").sizes(),
              (std::vector<int64_t>{2 * 24, 32}));
    EXPECT_EQ(m.lora_targets().size(), 8u);  // qkv_proj, o_proj, gate_up_proj, down_proj × 2
    EXPECT_LT(test::reference_error(m, kIds, range(0, 7)), kTol);
    EXPECT_LT(test::reference_error(m, kIds, range(100, 7)), 1e-4);
    auto off = c;
    off.partial_rotary_factor = cfg.partial_rotary_factor == 1.0 ? 0.5 : 1.0;
    EXPECT_GT(moved(m, off), 1e-2) << "partial rotary";
    off = c;
    off.sliding_window = 0;
    EXPECT_GT(moved(m, off), 1e-2) << "window";
    expect_trimmed_and_cached_paths_agree(m);
  }
}

TEST(CausalLMGemmaPhi3, Phi3PeftAdapterOnFusedLayersLoadsAndMatches) {
  auto c = test::tiny_decoder_config("phi3");
  test::TempDir dir;
  const auto m = saved_and_loaded(c, 35, dir);
  // A PEFT folder as PEFT writes it for Phi-3 (target_modules qkv_proj, o_proj, gate_up_proj,
  // down_proj): B has the fused output width.
  std::vector<test::TestModule> mods;
  uint64_t seed = 500;
  for (const auto& target : m.lora_targets()) {
    const auto& W = m.parameters().at(target + ".weight");
    mods.push_back({target, 0.3 * test::randn({2, W.size(1)}, ++seed),
                    0.3 * test::randn({W.size(0), 2}, ++seed)});
  }
  test::write_peft_adapter(
      dir / "a", mods,
      R"({"r": 2, "lora_alpha": 4, "target_modules": ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]})");
  const auto adapter = load_peft_adapter(dir / "a");
  ASSERT_EQ(adapter->modules.size(), 8u);
  EXPECT_EQ(adapter->find("model.layers.1.self_attn.qkv_proj")->B.size(0), 4 * 4 + 2 * 2 * 4);
  EXPECT_LT(test::reference_error(m, kIds, range(0, 7), adapter), kTol);
  // The bank moves the logits (so the comparison above saw it).
  CausalLM banked = m;
  banked.set_lora_bank({adapter});
  CausalLM::ForwardOptions o;
  o.lora_coeffs = torch::ones({1, 1});
  EXPECT_GT(test::rel_err(banked.logits(torch::tensor(kIds).view({1, -1}), o)[0], logits(m)), 1e-2);
  // An adapter for the unfused names does not fit a Phi-3 model: refused by name.
  auto wrong = std::make_shared<Adapter>(*adapter);
  wrong->modules[0].name = "model.layers.0.self_attn.q_proj";
  try {
    banked.set_lora_bank({wrong});
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("self_attn.q_proj"), std::string::npos) << e.what();
  }
}

TEST(CausalLMGemmaPhi3, HuggingFaceTensorNamesLoad) {
  // The folders Basin writes carry transformers' tensor names; a stray tensor is refused.
  for (const char* type : {"gemma2", "gemma3_text", "phi3"}) {
    test::TempDir dir;
    test::tiny_decoder(test::tiny_decoder_config(type), 36).save(dir / "m");
    const auto m = CausalLM::load(dir / "m");
    const auto& p = m.parameters();
    if (m.config().gemma()) {
      for (const char* n : {"input_layernorm", "post_attention_layernorm",
                            "pre_feedforward_layernorm", "post_feedforward_layernorm"})
        EXPECT_EQ(p.count(std::string("model.layers.0.") + n + ".weight"), 1u) << type << n;
      EXPECT_EQ(p.count("model.layers.0.self_attn.q_proj.weight"), 1u) << type;
    } else {
      EXPECT_EQ(p.count("model.layers.0.self_attn.qkv_proj.weight"), 1u);
      EXPECT_EQ(p.count("model.layers.0.mlp.gate_up_proj.weight"), 1u);
      EXPECT_EQ(p.count("model.layers.0.self_attn.q_proj.weight"), 0u);
    }
    // Read as llama, the Gemma / Phi-3 tensors are not part of the model: refused by name.
    auto cfg = m.config();
    auto plain = test::tiny_decoder_config("llama");
    plain.tie_word_embeddings = cfg.tie_word_embeddings;
    test::write_bytes(dir / "m" / "config.json", plain.to_json().dump());
    try {
      CausalLM::load(dir / "m");
      FAIL() << type << ": expected an InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("is not part of a llama"), std::string::npos)
          << e.what();
    }
  }
}
