// PEFT's pattern rules, checked on hand-made cases.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
