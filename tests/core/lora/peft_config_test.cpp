// PEFT's pattern rules, checked on hand-made cases.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "input_error.h"
#include "lora/peft_config.h"
#include "util/errors.h"

using namespace basin;

TEST(PeftConfig, PatternKeyMatchesAtADotBoundaryOrWhole) {
  const std::vector<std::string> keys{"q_proj", "layers.1.mlp.up_proj"};
  EXPECT_EQ(match_pattern_key(keys, "model.layers.0.self_attn.q_proj"), "q_proj");
  EXPECT_EQ(match_pattern_key(keys, "q_proj"), "q_proj");
  EXPECT_EQ(match_pattern_key(keys, "model.layers.1.mlp.up_proj"), "layers.1.mlp.up_proj");
  EXPECT_EQ(match_pattern_key(keys, "model.layers.11.mlp.up_proj"), std::nullopt);
  EXPECT_EQ(match_pattern_key(keys, "model.layers.0.self_attn.xq_proj"), std::nullopt);
  // First key in file order wins.
  EXPECT_EQ(match_pattern_key({"proj", "q_proj"}, "a.q_proj"), "q_proj");
  EXPECT_EQ(match_pattern_key({".*proj", "q_proj"}, "a.q_proj"), ".*proj");
}

TEST(PeftConfig, TargetModulesListAndRegex) {
  PeftLoraConfig c;
  c.target_modules = {"q_proj", "model.layers.3.mlp.down_proj"};
  EXPECT_TRUE(c.targets("model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(c.targets("model.layers.0.self_attn.xq_proj"));
  EXPECT_TRUE(c.targets("model.layers.3.mlp.down_proj"));
  EXPECT_FALSE(c.targets("model.layers.2.mlp.down_proj"));
  PeftLoraConfig r;
  r.target_modules_regex = R"(.*layers\.[01]\..*_proj)";
  EXPECT_TRUE(r.targets("model.layers.1.self_attn.k_proj"));
  EXPECT_FALSE(r.targets("model.layers.2.self_attn.k_proj"));
}

// libstdc++'s regex reads counts into a long without an overflow check (UB the fuzzer found in
// CI) and writes a{n} out as n copies: such patterns are refused with the key and an excerpt.
TEST(PeftConfig, RefusesPatternsThatStdRegexWouldOverflowOn) {
  const auto message = [](const std::string& pattern) -> std::string {
    PeftLoraConfig c;
    c.target_modules_regex = pattern;
    try {
      c.targets("model.layers.0.self_attn.q_proj");
    } catch (const InputError& e) {
      return e.what();
    }
    return "accepted";
  };
  const auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  const std::string huge = message("q_proj{5555555555555555555}");
  EXPECT_TRUE(has(huge, "target_modules 'q_proj{5555") && has(huge, "more than 999999999 times"))
      << huge;
  EXPECT_TRUE(has(message("a{1,5555555555555555555}"), "more than 999999999 times"));
  // 101 x 10 x 10 = 10,100 elements once written out, nested groups multiplying.
  EXPECT_TRUE(has(message("((a{101}){10}){10}"), "more than 10000 elements"));
  EXPECT_TRUE(has(message("(q)_proj\\1"), "back-reference"));
  // The same shapes within bounds still compile and match as before: 100 x 10 x 10 = 10,000.
  EXPECT_EQ(message("((a{100}){10}){10}"), "accepted");
  PeftLoraConfig r;
  r.target_modules_regex = R"(.*layers\.\d{1,3}\.self_attn\.[qk]_proj)";
  EXPECT_TRUE(r.targets("model.layers.12.self_attn.q_proj"));
  EXPECT_FALSE(r.targets("model.layers.1234.self_attn.q_proj"));
  r.target_modules_regex = R"(.*\{2\}[{]3[}])";  // escaped and bracketed braces are literals
  EXPECT_TRUE(r.targets("x.{2}{3}"));
  // Nested stars: a backtracking matcher never finishes this on a 32-character module name
  // (ctest's timeout would fail the test); the polynomial matcher answers at once.
  r.target_modules_regex = "(.*.*)*x";
  EXPECT_FALSE(r.targets("model.layers.10.self_attn.q_proj"));
  EXPECT_TRUE(r.targets("model.layers.10.self_attn.x"));
  EXPECT_THROW(
      PeftLoraConfig::from_json(
          nlohmann::json::parse(R"({"r": 8, "rank_pattern": {"a{99999999999}": 2}})"), "cfg")
          .rank_for("m.a"),
      InputError);
}

TEST(PeftConfig, ScalesFromPatterns) {
  const auto c = PeftLoraConfig::from_json(
      nlohmann::json::parse(R"({"r": 8, "lora_alpha": 32, "rank_pattern": {"k_proj": 2},
                                "alpha_pattern": {"k_proj": 4, "v_proj": 8}})"),
      "cfg");
  EXPECT_EQ(c.rank_for("m.k_proj"), 2);
  EXPECT_DOUBLE_EQ(c.scale_for("m.k_proj"), 2.0);  // 4 / 2
  EXPECT_DOUBLE_EQ(c.scale_for("m.v_proj"), 1.0);  // 8 / 8
  EXPECT_DOUBLE_EQ(c.scale_for("m.q_proj"), 4.0);  // 32 / 8
  EXPECT_THROW(PeftLoraConfig::from_json(
                   nlohmann::json::parse(R"({"r": 8, "rank_pattern": {"(": 2}})"), "cfg"),
               InputError);
  EXPECT_THROW(
      PeftLoraConfig::from_json(nlohmann::json::parse(R"({"r": 8, "peft_type": "IA3"})"), "cfg"),
      InputError);
}

namespace {

nlohmann::json lora_config(const std::string& extra) {
  auto j = nlohmann::json::parse(R"({"r": 2, "lora_alpha": 2, "target_modules": ["q_proj"]})");
  j.update(nlohmann::json::parse(extra));
  return j;
}

}  // namespace

// PEFT 0.20 rewrites the base weight for these initialisations (lora/layer.py: pissa_init,
// olora_init, corda_init, lora_ga_init, loftq_init), so B·A is no update of the original base.
TEST(PeftConfig, InitialisationsThatChangeTheBaseWeightsAreRefusedWithTheConversion) {
  for (const char* v : {"pissa", "pissa_niter_4", "olora", "corda", "lora_ga"})
    test::expect_input_error(
        [&] {
          PeftLoraConfig::from_json(
              lora_config(std::string(R"({"init_lora_weights": ")") + v + "\"}"),
              "dir/adapter_config.json");
        },
        {"dir/adapter_config.json", "init_lora_weights", v,
         "path_initial_model_for_weight_conversion"});
  test::expect_input_error(
      [] {
        PeftLoraConfig::from_json(lora_config(R"({"init_lora_weights": "loftq"})"), "cfg.json");
      },
      {"cfg.json", "init_lora_weights", "loftq", "does not convert LoftQ"});
  test::expect_input_error(
      [] {
        PeftLoraConfig::from_json(lora_config(R"({"init_lora_weights": "newfangled"})"), "c.json");
      },
      {"init_lora_weights", "newfangled", "does not know"});
  // These leave the base untouched (B = 0, random, data-driven or orthogonal A/B; MiCA reads it).
  for (const char* v :
       {"true", "false", R"("gaussian")", R"("eva")", R"("orthogonal")", R"("mica")", "null"})
    EXPECT_NO_THROW(PeftLoraConfig::from_json(
        lora_config(std::string(R"({"init_lora_weights": )") + v + "}"), "c.json"))
        << v;
}

TEST(PeftConfig, LayersToTransformAndExcludeModulesFollowPeft) {
  // The layer index is the first numbered segment after a segment (PEFT 0.20's lazy .*?): the
  // MoE expert index further on is not it.
  EXPECT_EQ(peft_layer_index("model.layers.3.mlp.experts.0.up_proj", {}), 3);
  EXPECT_EQ(peft_layer_index("transformer.h.11.attn.c_attn", {"h"}), 11);
  EXPECT_EQ(peft_layer_index("transformer.h.11.attn.c_attn", {"layers"}), std::nullopt);
  EXPECT_EQ(peft_layer_index("layers.3.q_proj", {}), std::nullopt);  // needs a segment before
  const auto c = PeftLoraConfig::from_json(
      lora_config(R"({"target_modules": ["q_proj", "model.layers.5.self_attn.q_proj"],
                      "layers_to_transform": [0, 2], "layers_pattern": "layers",
                      "exclude_modules": ["vision.q_proj"]})"),
      "c.json");
  EXPECT_TRUE(c.targets("model.layers.2.self_attn.q_proj"));
  EXPECT_FALSE(c.targets("model.layers.1.self_attn.q_proj"));
  EXPECT_NE(c.untargeted_reason("model.layers.1.self_attn.q_proj").find("layers_to_transform"),
            std::string::npos);
  EXPECT_TRUE(c.targets("model.layers.5.self_attn.q_proj"));  // an exact name skips the layers
  EXPECT_FALSE(c.targets("model.vision.q_proj"));
  EXPECT_NE(c.untargeted_reason("model.vision.q_proj").find("exclude_modules"), std::string::npos);
  // An int is one layer; a regex string excludes by re.fullmatch.
  const auto d = PeftLoraConfig::from_json(lora_config(R"({"layers_to_transform": 1})"), "c.json");
  EXPECT_TRUE(d.targets("model.layers.1.self_attn.q_proj"));
  EXPECT_FALSE(d.targets("model.layers.2.self_attn.q_proj"));
  const auto e =
      PeftLoraConfig::from_json(lora_config(R"({"exclude_modules": ".*\\.0\\..*"})"), "c.json");
  EXPECT_FALSE(e.targets("model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(e.targets("model.layers.1.self_attn.q_proj"));
}

// PEFT 0.20's LoRA variants whose layer is not ΔW = s B A on the named module are refused by key;
// their defaults (null, false, empty) read as plain LoRA.
TEST(PeftConfig, VariantsThatAreNotAPlainWeightUpdateAreRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"alora_invocation_tokens": [5, 6]})", "alora_invocation_tokens"},
      {R"({"use_qalora": true})", "use_qalora"},
      {R"({"layer_replication": [[0, 2], [1, 3]]})", "layer_replication"},
      {R"({"target_parameters": ["experts.gate_up_proj"]})", "target_parameters"}};
  for (const auto& c : cases)  // not a structured binding: clang 14 cannot capture one
    test::expect_input_error([&] { PeftLoraConfig::from_json(lora_config(c.first), "c.json"); },
                             {"c.json", c.second});
  EXPECT_NO_THROW(PeftLoraConfig::from_json(
      lora_config(R"({"alora_invocation_tokens": null, "use_qalora": false,
                      "layer_replication": null, "target_parameters": []})"),
      "c.json"));
}
