// config.json parsing: the configs of real checkpoints (Llama 3.1 / 3.2, Qwen2.5, Qwen3,
// Mistral v0.1 / v0.3, Gemma 2 2B, Gemma 3 1B, Phi-3 mini, as published on the Hugging Face hub)
// load with every harmless key they carry; every numerics key Basin does not implement is
// refused with a message naming the key and a bounded excerpt of its value; what Basin writes
// reads back the same.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "naive_lm.h"
#include "util/errors.h"

using namespace basin;
using nlohmann::json;

namespace {

const char* kLlama31 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "hidden_act": "silu", "hidden_size": 4096,
  "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 131072,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32,
  "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256})";

const char* kLlama32 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": 128001, "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

const char* kQwen25 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1", "use_cache": true, "use_mrope": false,
  "use_sliding_window": false, "vocab_size": 151936})";

const char* kQwen3 = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

const char* kMistral01 = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0",
  "use_cache": true, "vocab_size": 32000})";

const char* kMistral03 = R"({
  "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1,
  "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 32768, "model_type": "mistral",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.42.0.dev0",
  "use_cache": true, "vocab_size": 32768})";

// Gemma 2 2B, Gemma 3 1B (text only) and Phi-3 mini 4k: the keys and values of their hub
// config.json files (transformers 4.42 / 4.50 / 4.40 era), written from the published files'
// contents as recalled, not downloaded here; the values that matter are checked below.
const char* kGemma2 = R"({
  "architectures": ["Gemma2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "attn_logit_softcapping": 50.0, "bos_token_id": 2, "cache_implementation": "hybrid",
  "eos_token_id": 1, "final_logit_softcapping": 30.0, "head_dim": 256,
  "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh",
  "hidden_size": 2304, "initializer_range": 0.02, "intermediate_size": 9216,
  "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 8,
  "num_hidden_layers": 26, "num_key_value_heads": 4, "pad_token_id": 0,
  "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "sliding_window": 4096, "torch_dtype": "float32", "transformers_version": "4.42.4",
  "use_cache": true, "vocab_size": 256000})";

const char* kGemma3 = R"({
  "architectures": ["Gemma3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "attn_logit_softcapping": null, "bos_token_id": 2, "cache_implementation": "hybrid",
  "eos_token_id": [1, 106], "final_logit_softcapping": null, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 1152, "initializer_range": 0.02,
  "intermediate_size": 6912, "max_position_embeddings": 32768, "model_type": "gemma3_text",
  "num_attention_heads": 4, "num_hidden_layers": 26, "num_key_value_heads": 1,
  "pad_token_id": 0, "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06,
  "rope_local_base_freq": 10000, "rope_scaling": null, "rope_theta": 1000000,
  "sliding_window": 512, "sliding_window_pattern": 6, "torch_dtype": "bfloat16",
  "transformers_version": "4.50.0.dev0", "use_cache": true, "vocab_size": 262144})";

const char* kPhi3 = R"({
  "_name_or_path": "Phi-3-mini-4k-instruct", "architectures": ["Phi3ForCausalLM"],
  "attention_bias": false, "attention_dropout": 0.0,
  "auto_map": {"AutoConfig": "configuration_phi3.Phi3Config"}, "bos_token_id": 1,
  "embd_pdrop": 0.0, "eos_token_id": 32000, "hidden_act": "silu", "hidden_size": 3072,
  "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 4096,
  "model_type": "phi3", "num_attention_heads": 32, "num_hidden_layers": 32,
  "num_key_value_heads": 32, "original_max_position_embeddings": 4096, "pad_token_id": 32000,
  "resid_pdrop": 0.0, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 10000.0,
  "sliding_window": 2047, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.2", "use_cache": true, "vocab_size": 32064})";

std::string refusal(const json& j) {
  try {
    ModelConfig::from_json(j, "m/config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

json tiny(const std::string& type) {
  return test::tiny_decoder_config(type).to_json();
}

}  // namespace

TEST(ModelConfig, RealCheckpointConfigsLoadWithTheirHarmlessKeys) {
  const auto l31 = ModelConfig::from_json(json::parse(kLlama31), "llama31");
  EXPECT_EQ(l31.rope_scaling, (RopeScaling{"llama3", 8, 1, 4, 8192}));
  EXPECT_EQ(l31.rope_theta, 500000.0);
  EXPECT_EQ(l31.head_dim, 128);
  EXPECT_FALSE(l31.attention_bias);
  EXPECT_FALSE(l31.o_proj_bias());
  const auto l32 = ModelConfig::from_json(json::parse(kLlama32), "llama32");
  EXPECT_EQ(l32.rope_scaling.factor, 32);
  EXPECT_TRUE(l32.tie_word_embeddings);
  const auto q25 = ModelConfig::from_json(json::parse(kQwen25), "qwen25");
  EXPECT_TRUE(q25.attention_bias);
  EXPECT_FALSE(q25.o_proj_bias());
  EXPECT_EQ(q25.sliding_window, 0);  // use_sliding_window false
  EXPECT_EQ(q25.rope_scaling.type, "default");
  // Qwen2.5's model cards: add this rope_scaling to process texts past 32,768 tokens.
  auto q25_long = json::parse(kQwen25);
  q25_long["rope_scaling"] = {
      {"factor", 4.0}, {"original_max_position_embeddings", 32768}, {"type", "yarn"}};
  const auto q25y = ModelConfig::from_json(q25_long, "qwen25");
  RopeScaling yarn{"yarn", 4, 1, 4, 32768};
  EXPECT_EQ(q25y.rope_scaling, yarn);
  EXPECT_EQ(q25y.rope_scaling.beta_fast, 32);
  EXPECT_EQ(q25y.rope_scaling.beta_slow, 1);
  EXPECT_TRUE(q25y.rope_scaling.truncate);
  EXPECT_EQ(ModelConfig::from_json(q25y.to_json(), "again").rope_scaling, yarn);
  const auto q3 = ModelConfig::from_json(json::parse(kQwen3), "qwen3");
  EXPECT_TRUE(q3.qk_norm());
  EXPECT_EQ(q3.head_dim, 128);  // not hidden / heads = 64
  EXPECT_FALSE(q3.attention_bias);
  const auto m01 = ModelConfig::from_json(json::parse(kMistral01), "mistral01");
  EXPECT_EQ(m01.sliding_window, 4096);
  EXPECT_EQ(m01.sliding_layers, std::vector<bool>(32, true));
  EXPECT_FALSE(m01.attention_bias);
  const auto m03 = ModelConfig::from_json(json::parse(kMistral03), "mistral03");
  EXPECT_EQ(m03.sliding_window, 0);
  // transformers' own defaults where a key is absent: Mistral's window is 4096.
  auto j = json::parse(kMistral01);
  j.erase("sliding_window");
  EXPECT_EQ(ModelConfig::from_json(j, "m").sliding_window, 4096);
  // Qwen2 with the window on: layers from max_window_layers on slide.
  j = json::parse(kQwen25);
  j["use_sliding_window"] = true;
  j["sliding_window"] = 4096;
  j["max_window_layers"] = 21;
  const auto qs = ModelConfig::from_json(j, "q");
  EXPECT_EQ(qs.sliding_window, 4096);
  for (int64_t l = 0; l < 24; ++l)
    EXPECT_EQ(qs.layer_slides(l), l >= 21) << l;
}

TEST(ModelConfig, GemmaAndPhi3CheckpointConfigsLoad) {
  const auto g2 = ModelConfig::from_json(json::parse(kGemma2), "gemma2");
  EXPECT_TRUE(g2.gemma());
  EXPECT_FALSE(g2.qk_norm());
  EXPECT_EQ(g2.hidden_act, "gelu_pytorch_tanh");
  EXPECT_EQ(g2.query_pre_attn_scalar, 256);
  EXPECT_EQ(g2.attn_logit_softcapping, 50);
  EXPECT_EQ(g2.final_logit_softcapping, 30);
  EXPECT_TRUE(g2.tie_word_embeddings);  // Gemma2Config's default
  EXPECT_EQ(g2.sliding_window, 4096);
  for (int64_t l = 0; l < 26; ++l)
    EXPECT_EQ(g2.layer_slides(l), l % 2 == 0) << l;  // transformers: not bool(layer_idx % 2)
  const auto g3 = ModelConfig::from_json(json::parse(kGemma3), "gemma3");
  EXPECT_TRUE(g3.qk_norm());
  EXPECT_EQ(g3.rope_theta, 1e6);
  EXPECT_EQ(g3.rope_local_base_freq, 1e4);
  EXPECT_EQ(g3.attn_logit_softcapping, 0);
  EXPECT_EQ(g3.final_logit_softcapping, 0);
  EXPECT_EQ(g3.eos_token_id, 1);
  for (int64_t l = 0; l < 26; ++l)
    EXPECT_EQ(g3.layer_slides(l), (l + 1) % 6 != 0) << l;  // every sixth layer is global
  const auto p3 = ModelConfig::from_json(json::parse(kPhi3), "phi3");
  EXPECT_TRUE(p3.fused_projections());
  EXPECT_FALSE(p3.attention_bias);
  EXPECT_EQ(p3.rms_norm_eps, 1e-5);
  EXPECT_EQ(p3.head_dim, 96);
  EXPECT_EQ(p3.rotary_dim(), 96);
  EXPECT_EQ(p3.sliding_window, 2047);
  EXPECT_EQ(p3.sliding_layers, std::vector<bool>(32, true));
  // Gemma 3 with linear scaling on its global layers (the 4B text model's rope_scaling), and
  // transformers 5's per-layer-type rope_parameters.
  auto j = json::parse(kGemma3);
  j["rope_scaling"] = {{"factor", 8.0}, {"rope_type", "linear"}};
  EXPECT_EQ(ModelConfig::from_json(j, "g").rope_scaling, (RopeScaling{"linear", 8, 1, 4, 8192}));
  j = json::parse(kGemma3);
  j.erase("rope_theta");
  j.erase("rope_local_base_freq");
  j["rope_parameters"] = {
      {"full_attention", {{"rope_type", "linear"}, {"factor", 8.0}, {"rope_theta", 1e6}}},
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 1e4}}}};
  j["layer_types"] = json::array();
  for (int l = 0; l < 26; ++l)
    j["layer_types"].push_back((l + 1) % 6 ? "sliding_attention" : "full_attention");
  const auto g35 = ModelConfig::from_json(j, "g");
  EXPECT_EQ(g35.rope_scaling.type, "linear");
  EXPECT_EQ(g35.rope_theta, 1e6);
  EXPECT_EQ(g35.rope_local_base_freq, 1e4);
  EXPECT_EQ(g35.sliding_layers, g3.sliding_layers);
  // Phi-4-mini-style partial rotary (its longrope is refused below): 3/4 of 128 dims rotate.
  j = json::parse(kPhi3);
  j["partial_rotary_factor"] = 0.75;
  j["hidden_size"] = 4096;
  EXPECT_EQ(ModelConfig::from_json(j, "p").rotary_dim(), 96);
}

TEST(ModelConfig, HarmlessValuesOfNumericsKeysAreAccepted) {
  auto j = tiny("llama");
  j["rope_scaling"] = {{"rope_type", "default"}};
  j["query_pre_attn_scalar"] = 4;  // = head_dim: the usual 1/sqrt(head_dim)
  j["partial_rotary_factor"] = 1.0;
  j["attn_logit_softcapping"] = nullptr;
  j["hidden_act"] = "swish";
  j["sliding_window"] = 32768;   // ≥ max_position_embeddings: never narrower than a sequence
  j["attention_dropout"] = 0.1;  // training only
  j["no_rope_layers"] = {1, 1};
  j["some_future_key"] = {{"anything", 1}};
  EXPECT_EQ(refusal(j), "");
  // transformers 5 writes rope_parameters with rope_theta inside.
  j = tiny("llama");
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 5e5}};
  const auto c = ModelConfig::from_json(j, "m");
  EXPECT_EQ(c.rope_theta, 5e5);
  EXPECT_EQ(c.rope_scaling.type, "linear");
  // The older key "type" works like rope_type.
  j = tiny("llama");
  j["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  EXPECT_EQ(ModelConfig::from_json(j, "m").rope_scaling.type, "dynamic");
}

TEST(ModelConfig, NumericsKeysBasinDoesNotImplementAreRefusedByName) {
  struct Case {
    std::string type, key;
    json value;
    std::string says;  // a fragment of the message besides the file and key
  };
  const std::vector<Case> cases{
      {"qwen2", "rope_scaling", {{"type", "dynamic-yarn"}, {"factor", 4.0}}, "not implemented"},
      {"qwen2", "rope_scaling", {{"type", "yarn"}}, "needs 'factor'"},
      {"qwen2", "rope_scaling", {{"type", "yarn"}, {"factor", 0.5}}, "at least 1 for yarn"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 0.5}},
       "positive"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", nullptr}},
       "rope_scaling.original_max_position_embeddings"},
      {"qwen2", "rope_scaling", {{"type", "yarn"}, {"factor", 4.0}, {"beta_fast", 0}}, "positive"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"beta_fast", 1.0}, {"beta_slow", 32.0}},
       "beta_fast must be at least beta_slow"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"attention_factor", -1.0}},
       "rope_scaling.attention_factor"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"mscale", 0.707}},
       "rope_scaling.mscale' = 0.707: transformers uses mscale only together"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"mscale_all_dim", 1.0}},
       "rope_scaling.mscale_all_dim"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"truncate", "no"}},
       "rope_scaling.truncate' = \"no\": must be true or false"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"truncate", nullptr}},
       "must be true or false"},
      {"qwen2",
       "rope_scaling",
       {{"type", "yarn"}, {"factor", 4.0}, {"extrapolation_factor", 1.0}},
       "rope_scaling.extrapolation_factor' = 1.0: not used by rotary scaling 'yarn'"},
      {"llama", "rope_scaling", {{"rope_type", "longrope"}}, "'longrope' is not implemented"},
      {"llama", "rope_scaling", {{"factor", 2.0}}, "names no rope_type"},
      {"llama", "rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}, "low_freq_factor"},
      {"llama",
       "rope_scaling",
       {{"rope_type", "linear"}, {"factor", 2.0}, {"attention_factor", 0.5}},
       "rope_scaling.attention_factor"},
      {"llama",
       "rope_scaling",
       {{"rope_type", "dynamic"}, {"factor", 2.0}, {"original_max_position_embeddings", 4096}},
       "ignores it and uses max_position_embeddings"},
      {"llama",
       "rope_scaling",
       {{"type", "linear"}, {"rope_type", "dynamic"}, {"factor", 2.0}},
       "disagree"},
      {"llama",
       "rope_parameters",
       {{"full_attention", {{"rope_type", "default"}}}},
       "per-layer-type"},
      {"llama", "hidden_act", "gelu_pytorch_tanh", "SiLU"},
      {"llama", "hidden_activation", "gelu_pytorch_tanh", "SiLU"},
      {"llama", "attn_logit_softcapping", 50.0, "soft-capping"},
      {"llama", "final_logit_softcapping", 30.0, "soft-capping"},
      {"llama", "query_pre_attn_scalar", 256, "query_pre_attn_scalar"},
      {"llama", "partial_rotary_factor", 0.5, "part of each head"},
      {"llama", "use_qk_norm", true, "qwen3 and gemma3_text only"},
      {"llama", "rope_local_base_freq", 10000, "gemma3_text only"},
      {"gemma2", "hidden_activation", "gelu", "gelu_pytorch_tanh only"},
      {"gemma2", "hidden_act", "silu", "uses hidden_activation"},
      {"gemma2", "query_pre_attn_scalar", 0, "must be positive"},
      {"gemma2", "attn_logit_softcapping", -1.0, "positive or null"},
      {"gemma2", "final_logit_softcapping", "30", "must be a number"},
      {"gemma2", "sliding_window", nullptr, "need a window"},
      {"gemma2", "sliding_window_pattern", 6, "gemma3_text only"},
      {"gemma2", "rope_local_base_freq", 10000, "gemma3_text only"},
      {"gemma2", "mlp_bias", true, "no MLP biases"},
      {"gemma2", "partial_rotary_factor", 0.5, "phi3 only"},
      {"gemma2", "layer_types", {"sliding_attention", "chunked_attention"}, "chunked_attention"},
      {"gemma3_text", "attn_logit_softcapping", 50.0, "attention ignores it"},
      {"gemma3_text", "sliding_window_pattern", 0, "must be positive"},
      {"gemma3_text", "use_bidirectional_attention", true, "bidirectional"},
      {"gemma3_text",
       "rope_parameters",
       {{"sliding_attention", {{"rope_type", "linear"}, {"factor", 2.0}}}},
       "plain RoPE on Gemma 3's sliding layers"},
      {"gemma3_text",
       "rope_parameters",
       {{"chunked_attention", {{"rope_type", "default"}}},
        {"full_attention", {{"rope_type", "default"}}}},
       "not a layer type"},
      {"gemma3_text", "rope_scaling", {{"rope_type", "longrope"}, {"factor", 8.0}}, "'longrope'"},
      {"phi3",
       "rope_scaling",
       {{"type", "longrope"}, {"long_factor", {1.0, 1.0}}, {"short_factor", {1.0, 1.0}}},
       "'longrope' is not implemented"},
      {"phi3",
       "rope_scaling",
       {{"type", "su"}, {"long_factor", {1.0, 1.0}}, {"short_factor", {1.0, 1.0}}},
       "'su' is not implemented"},
      {"phi3", "attention_bias", true, "no attention biases"},
      {"phi3", "mlp_bias", true, "no MLP biases"},
      {"phi3", "partial_rotary_factor", 0.3, "even number"},
      {"phi3", "partial_rotary_factor", 1.5, "even number"},
      {"phi3", "hidden_act", "gelu_new", "SiLU"},
      {"phi3", "query_pre_attn_scalar", 256, "gemma2 and gemma3_text only"},
      {"phi3", "layer_types", {"full_attention", "full_attention"}, "disagrees"},
      {"llama", "no_rope_layers", {1, 0}, "without rotary"},
      {"llama", "sliding_window", 16, "ignores it"},
      {"llama", "quantization_config", {{"quant_method", "gptq"}}, "quantised"},
      {"llama", "num_local_experts", 8, "mixture-of-experts"},
      {"llama", "rms_norm_eps", "tiny", "must be a number"},
      {"qwen2", "use_mrope", true, "Qwen2-VL"},
      {"qwen2", "mlp_bias", true, "no MLP biases"},
      {"qwen2", "attention_bias", false, "always has q/k/v biases"},
      {"mistral", "attention_bias", true, "no attention biases"},
      {"qwen2", "layer_types", {"full_attention", "chunked_attention"}, "chunked_attention"},
      {"mistral", "layer_types", {"full_attention", "full_attention"}, "disagrees"},
      {"qwen2", "sliding_window", 0, "positive integer"},
      // Found by tests/fuzz: per-layer tables were sized from it (2.7 GB) before any check.
      {"qwen2", "num_hidden_layers", int64_t{21474836482}, "at most 10000 layers"},
      // Found by tests/fuzz in CI: a negative count sized them as 2^61 bytes.
      {"qwen2", "num_hidden_layers", int64_t{-21474836480}, "must be positive"},
      {"mistral", "num_hidden_layers", 0, "must be positive"},
  };
  for (const auto& k : cases) {
    auto j = tiny(k.type);
    if ((k.type == "mistral" || k.type == "phi3") && k.key == "layer_types")
      j["sliding_window"] = 4;
    if (k.key == "sliding_window" && k.type == "qwen2") j["use_sliding_window"] = true;
    j[k.key] = k.value;
    const auto msg = refusal(j);
    EXPECT_NE(msg.find("'m/config.json'"), std::string::npos) << k.key << ": " << msg;
    EXPECT_NE(msg.find("key '" + k.key), std::string::npos) << k.key << ": " << msg;
    EXPECT_NE(msg.find(k.says), std::string::npos) << k.key << ": " << msg;
  }
  // qwen3 needs its head_dim (transformers' default is 128, not hidden / heads).
  auto j = tiny("qwen3");
  j.erase("head_dim");
  EXPECT_NE(refusal(j).find("'head_dim' is missing"), std::string::npos);
  // rope_theta and rope_parameters.rope_theta must agree.
  j = tiny("llama");
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 5e5}};
  EXPECT_NE(refusal(j).find("key 'rope_theta'"), std::string::npos);
  // A huge value is quoted in a bounded excerpt.
  j = tiny("llama");
  j["rope_scaling"] = {{"rope_type", "longrope"},
                       {"long_factor", std::vector<double>(100000, 1.5)}};
  const auto msg = refusal(j);
  EXPECT_NE(msg.find("longrope"), std::string::npos);
  EXPECT_LT(msg.size(), 400u) << msg;
  // Architectures Basin does not implement are refused by model_type; the multimodal Gemma 3
  // says where its text model is.
  for (const char* other : {"gemma", "phi", "mixtral", "gemma3"}) {
    j = tiny("llama");
    j["model_type"] = other;
    EXPECT_NE(refusal(j).find(std::string("'") + other + "'"), std::string::npos) << other;
  }
  j = tiny("llama");
  j["model_type"] = "gemma3";
  EXPECT_NE(refusal(j).find("gemma3_text"), std::string::npos);
  // Gemma 2 / 3 need their head_dim (transformers' default 256 is not hidden / heads).
  for (const char* type : {"gemma2", "gemma3_text"}) {
    j = tiny(type);
    j.erase("head_dim");
    EXPECT_NE(refusal(j).find("'head_dim' is missing"), std::string::npos) << type;
  }
}

TEST(ModelConfig, WhatBasinWritesReadsBackTheSame) {
  std::vector<ModelConfig> configs;
  auto llama = test::tiny_decoder_config("llama");
  llama.rope_scaling = {"llama3", 8, 1, 4, 8192};
  llama.attention_bias = true;
  llama.mlp_bias = true;
  configs.push_back(llama);
  auto qwen3 = test::tiny_decoder_config("qwen3");
  qwen3.head_dim = 8;
  qwen3.attention_bias = false;
  qwen3.rope_scaling = {"dynamic", 2, 1, 4, 8192};
  configs.push_back(qwen3);
  auto mistral = test::tiny_decoder_config("mistral");
  mistral.sliding_window = 3;
  mistral.sliding_layers = {true, true};
  configs.push_back(mistral);
  auto qwen2 = test::tiny_decoder_config("qwen2");
  qwen2.sliding_window = 5;
  qwen2.sliding_layers = {false, true};
  qwen2.rope_scaling = {"linear", 4, 1, 4, 8192};
  configs.push_back(qwen2);
  auto gemma2 = test::tiny_decoder_config("gemma2", true);
  gemma2.rope_scaling = {"dynamic", 2, 1, 4, 8192};
  configs.push_back(gemma2);
  auto gemma3 = test::tiny_decoder_config("gemma3_text");
  gemma3.rope_scaling = {"linear", 8, 1, 4, 8192};
  gemma3.final_logit_softcapping = 5;
  configs.push_back(gemma3);
  auto phi3 = test::tiny_decoder_config("phi3");
  phi3.partial_rotary_factor = 0.5;
  phi3.sliding_window = 7;
  phi3.sliding_layers = {true, true};
  configs.push_back(phi3);
  // YaRN with every key given but attention_factor, and with none but factor (absent stays absent).
  auto yarn_all = test::tiny_decoder_config("qwen2");
  yarn_all.rope_scaling = {"yarn", 4, 1, 4, 128, 0, 1.0, 0.5, 16, 2, false};
  configs.push_back(yarn_all);
  auto yarn_bare = test::tiny_decoder_config("llama");
  yarn_bare.rope_scaling = {"yarn", 2.5, 1, 4, 0, 1.2};
  configs.push_back(yarn_bare);
  EXPECT_FALSE(yarn_bare.to_json()["rope_scaling"].contains("original_max_position_embeddings"));
  for (const auto& c : configs) {
    const auto j = c.to_json();
    const auto back = ModelConfig::from_json(j, "m");
    EXPECT_EQ(back.to_json(), j) << j.dump();
    EXPECT_EQ(back.rope_scaling, c.rope_scaling) << c.model_type;
    EXPECT_EQ(back.sliding_window, c.sliding_window) << c.model_type;
    EXPECT_EQ(back.sliding_layers, c.sliding_layers) << c.model_type;
    EXPECT_EQ(back.o_proj_bias(), c.o_proj_bias()) << c.model_type;
    EXPECT_EQ(back.hidden_act, c.hidden_act) << c.model_type;
    EXPECT_EQ(back.attention_scalar(), c.attention_scalar()) << c.model_type;
    EXPECT_EQ(back.attn_logit_softcapping, c.attn_logit_softcapping) << c.model_type;
    EXPECT_EQ(back.final_logit_softcapping, c.final_logit_softcapping) << c.model_type;
    EXPECT_EQ(back.rope_local_base_freq, c.rope_local_base_freq) << c.model_type;
    EXPECT_EQ(back.rotary_dim(), c.rotary_dim()) << c.model_type;
    EXPECT_EQ(back.tie_word_embeddings, c.tie_word_embeddings) << c.model_type;
  }
  EXPECT_EQ(qwen2.to_json()["max_window_layers"], 1);
  EXPECT_EQ(qwen2.to_json()["use_sliding_window"], true);
}
