// PEFT adapter folders: loading what PEFT writes, refusing what Basin cannot handle, and
// saving folders that round-trip bit-identically.
#include <gtest/gtest.h>

#include <cmath>

#include "input_error.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "lora/peft_io.h"
#include "test_support.h"
#include "util/errors.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::test::TempDir;
using basin::test::TestModule;

namespace {

std::vector<TestModule> two_modules(int64_t r_q = 8, int64_t r_v = 8) {
  return {{"model.layers.0.self_attn.q_proj", test::randn({r_q, 16}, 1), test::randn({16, r_q}, 2)},
          {"model.layers.0.self_attn.v_proj", test::randn({r_v, 16}, 3), test::randn({4, r_v}, 4)}};
}

}  // namespace

TEST(PeftIo, LoadsAdapterWrittenAsPeftWritesIt) {
  TempDir dir;
  const auto mods = two_modules();
  test::write_peft_adapter(dir / "a", mods, "");
  const auto a = load_peft_adapter(dir / "a");
  EXPECT_EQ(a->name, "a");
  ASSERT_EQ(a->modules.size(), 2u);
  EXPECT_EQ(a->modules[0].name, "model.layers.0.self_attn.q_proj");
  EXPECT_TRUE(torch::equal(a->modules[0].A, mods[0].A));
  EXPECT_TRUE(torch::equal(a->modules[1].B, mods[1].B));
  EXPECT_DOUBLE_EQ(a->modules[0].scale, 16.0 / 8.0);
  EXPECT_EQ(a->config.base_model_name_or_path, "Qwen/Qwen2-0.5B");
  EXPECT_EQ(a->content_hash.size(), 64u);
}

TEST(PeftIo, RankAndAlphaPatternsAndRsLora) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(8, 4),
                           R"({"r": 8, "lora_alpha": 16, "rank_pattern": {"v_proj": 4},
                               "alpha_pattern": {"layers.0.self_attn.q_proj": 4}})");
  const auto a = load_peft_adapter(dir / "a");
  EXPECT_DOUBLE_EQ(a->find("model.layers.0.self_attn.q_proj")->scale, 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(a->find("model.layers.0.self_attn.v_proj")->scale, 16.0 / 4.0);

  test::write_peft_adapter(dir / "b", two_modules(), R"({"use_rslora": true, "lora_alpha": 16})");
  EXPECT_DOUBLE_EQ(load_peft_adapter(dir / "b")->modules[0].scale, 16.0 / std::sqrt(8.0));
}

TEST(PeftIo, TargetModulesAsRegexString) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(),
                           R"J({"target_modules": ".*\\.(q_proj|v_proj)"})J");
  EXPECT_EQ(load_peft_adapter(dir / "a")->modules.size(), 2u);
  test::write_peft_adapter(dir / "b", two_modules(), R"({"target_modules": ".*\\.q_proj"})");
  test::expect_input_error([&] { load_peft_adapter(dir / "b"); }, {"v_proj", "target_modules"});
}

// PEFT creates LoRA layers only where check_target_module_exists selects a module and drops
// other tensors silently (load_state_dict(strict=False)): Basin refuses such a file by name.
TEST(PeftIo, TensorsOutsideLayersToTransformOrExcludedAreRefused) {
  TempDir dir;
  auto mods = two_modules();
  mods.push_back(
      {"model.layers.1.self_attn.q_proj", test::randn({8, 16}, 5), test::randn({16, 8}, 6)});
  test::write_peft_adapter(dir / "a", mods, R"({"layers_to_transform": [0]})");
  test::expect_input_error([&] { load_peft_adapter(dir / "a"); },
                           {"adapter_model.safetensors", "model.layers.1.self_attn.q_proj",
                            "layers_to_transform", "adapter_config.json"});
  test::write_peft_adapter(dir / "b", mods, R"({"layers_to_transform": [0, 1]})");
  EXPECT_EQ(load_peft_adapter(dir / "b")->modules.size(), 3u);
  test::write_peft_adapter(dir / "c", two_modules(), R"({"exclude_modules": ["v_proj"]})");
  test::expect_input_error([&] { load_peft_adapter(dir / "c"); },
                           {"model.layers.0.self_attn.v_proj", "exclude_modules"});
}

TEST(PeftIo, PissaAdapterIsRefusedAtLoadNamingTheFile) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(), R"({"init_lora_weights": "pissa"})");
  test::expect_input_error([&] { load_peft_adapter(dir / "a"); },
                           {(dir / "a" / "adapter_config.json").string(), "init_lora_weights",
                            "\"pissa\"", "path_initial_model_for_weight_conversion"});
}

TEST(PeftIo, MissingConfigOrWeights) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(), "");
  fs::remove(dir / "a" / "adapter_config.json");
  test::expect_input_error([&] { load_peft_adapter(dir / "a"); },
                           {"missing adapter_config.json", "a"});
  test::write_peft_adapter(dir / "b", two_modules(), "");
  fs::remove(dir / "b" / "adapter_model.safetensors");
  test::expect_input_error([&] { load_peft_adapter(dir / "b"); },
                           {"missing adapter_model.safetensors"});
  test::expect_input_error([&] { load_peft_adapter(dir / "nope"); }, {"adapter folder not found"});
}

TEST(PeftIo, MissingLoraBForLoraA) {
  TempDir dir;
  fs::create_directories(dir / "a");
  test::write_peft_adapter(dir / "a", {}, "");
  test::write_bytes(dir / "a" / "adapter_model.safetensors",
                    test::raw_safetensors_bytes({test::raw_f32(
                        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                        test::randn({8, 16}, 1))}));
  test::expect_input_error([&] { load_peft_adapter(dir / "a"); },
                           {"model.layers.0.self_attn.q_proj", "no lora_B.weight"});
}

TEST(PeftIo, RefusesDoraEmbeddingAndBias) {
  TempDir dir;
  test::write_peft_adapter(dir / "dora_cfg", two_modules(), R"({"use_dora": true})");
  test::expect_input_error([&] { load_peft_adapter(dir / "dora_cfg"); }, {"use_dora", "DoRA"});

  auto with_extra = [&](const std::string& name, const std::string& key) {
    test::write_peft_adapter(dir / name, {}, "");
    auto raw = std::vector<test::RawTensor>{
        test::raw_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                      test::randn({8, 16}, 1)),
        test::raw_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                      test::randn({16, 8}, 2)),
        test::raw_f32(key, test::randn({16}, 3))};
    test::write_bytes(dir / name / "adapter_model.safetensors", test::raw_safetensors_bytes(raw));
    return dir / name;
  };
  test::expect_input_error(
      [&] {
        load_peft_adapter(with_extra(
            "dora", "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"));
      },
      {"DoRA", "lora_magnitude_vector"});
  test::expect_input_error(
      [&] {
        load_peft_adapter(
            with_extra("emb", "base_model.model.model.embed_tokens.lora_embedding_A"));
      },
      {"embedding LoRA"});
  test::expect_input_error(
      [&] {
        load_peft_adapter(
            with_extra("bias", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias"));
      },
      {"lora_bias"});
}

TEST(PeftIo, RejectsRankDisagreementAndNonFiniteValues) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(8, 4), R"({"r": 8})");
  test::expect_input_error([&] { load_peft_adapter(dir / "a"); }, {"v_proj", "rank 4", "r=8"});

  auto mods = two_modules();
  mods[1].B[2][3] = std::numeric_limits<float>::quiet_NaN();
  test::write_peft_adapter(dir / "nan", mods, "");
  test::expect_input_error(
      [&] { load_peft_adapter(dir / "nan"); },
      {"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", "NaN/Inf"});
}

TEST(PeftIo, RejectsBadConfigValues) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(), R"({"r": 0})");
  test::expect_input_error([&] { load_peft_adapter(dir / "a"); }, {"'r'", "positive integer"});
  test::write_peft_adapter(dir / "b", two_modules(), "");
  test::write_bytes(dir / "b" / "adapter_config.json", "{\"r\": 8,");
  test::expect_input_error([&] { load_peft_adapter(dir / "b"); },
                           {"adapter_config.json", "not valid JSON"});
}

TEST(PeftIo, SaveRoundTripsBitIdenticallyAndKeepsEveryScale) {
  TempDir dir;
  test::write_peft_adapter(
      dir / "a", two_modules(8, 4),
      R"({"r": 8, "lora_alpha": 16, "rank_pattern": {"v_proj": 4}, "alpha_pattern": {"v_proj": 3}})");
  const auto a = load_peft_adapter(dir / "a");
  SaveOptions so;
  so.metadata["basin.test"] = "yes";
  save_peft_adapter(*a, dir / "copy", so);
  const auto b = load_peft_adapter(dir / "copy");
  ASSERT_EQ(b->modules.size(), a->modules.size());
  for (size_t i = 0; i < a->modules.size(); ++i) {
    EXPECT_EQ(b->modules[i].name, a->modules[i].name);
    EXPECT_TRUE(torch::equal(b->modules[i].A, a->modules[i].A));
    EXPECT_TRUE(torch::equal(b->modules[i].B, a->modules[i].B));
    EXPECT_DOUBLE_EQ(b->modules[i].scale, a->modules[i].scale);
  }
  EXPECT_EQ(b->metadata.at("basin.test"), "yes");
  EXPECT_EQ(b->metadata.at("format"), "pt");
  // The config is what PEFT expects: keys, types, and patterns for the odd module.
  const auto cfg = read_json_file(dir / "copy" / "adapter_config.json");
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["r"], 8);
  EXPECT_EQ(cfg["lora_alpha"], 16);
  EXPECT_EQ(cfg["rank_pattern"]["model.layers.0.self_attn.v_proj"], 4);
  EXPECT_EQ(cfg["alpha_pattern"]["model.layers.0.self_attn.v_proj"], 3);
  // Full module paths (PeftParity.SavedTargetModulesSelectExactlyTheMergedModules checks
  // PEFT's matching rule on them).
  EXPECT_EQ(cfg["target_modules"],
            nlohmann::json({"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"}));
  EXPECT_EQ(cfg["use_dora"], false);
  // Saving the same adapter again gives the same bytes (deterministic writer).
  save_peft_adapter(*a, dir / "copy2", so);
  EXPECT_EQ(test::read_bytes(dir / "copy" / "adapter_model.safetensors"),
            test::read_bytes(dir / "copy2" / "adapter_model.safetensors"));
}

TEST(PeftIo, SaveNeverOverwritesSilentlyAndLeavesNoTemporaryFolder) {
  TempDir dir;
  test::write_peft_adapter(dir / "a", two_modules(), "");
  const auto a = load_peft_adapter(dir / "a");
  const auto before = test::list_files(dir.path());
  test::expect_input_error([&] { save_peft_adapter(*a, dir / "a"); }, {"exists", "--force"});
  EXPECT_EQ(test::list_files(dir.path()), before);
  SaveOptions so;
  so.overwrite = true;
  save_peft_adapter(*a, dir / "a", so);  // replaces in one rename
  EXPECT_EQ(load_peft_adapter(dir / "a")->modules.size(), 2u);
  for (const auto& f : test::list_files(dir.path()))
    EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}
