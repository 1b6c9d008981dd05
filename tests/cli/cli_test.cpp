// basin-cli end to end: the real binary on generated PEFT folders; outputs and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "lora/peft_io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace basin;

using namespace basin::test::cli;

namespace {

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r =
        run("sample --shape tiny -n 3 --ranks 2,4 --seed 1 -o " + (dir / "set").string(), dir);
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* n : {"sample-a", "sample-b", "sample-c"})
      inputs += " " + (dir / "set" / n).string();
  }
  test::TempDir dir;
  std::string inputs;
};

at::Tensor delta(const LoraModule& m) {
  return m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64)) * m.scale;
}

}  // namespace

TEST_F(Cli, InspectPrintsJson) {
  const auto r = run("inspect --json " + (dir / "set" / "sample-b").string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "sample-b");
  EXPECT_EQ(j["r"], 4);
  EXPECT_EQ(j["modules"].size(), 14u);  // tiny: 2 layers × 7 projections
  EXPECT_EQ(j["modules"][0]["scale"], 2.0);
}

TEST_F(Cli, EveryMethodMergesAndTheResultLoadsBack) {
  for (const std::string m : {"cat", "linear", "task_arithmetic", "svd", "ties", "dare_linear",
                              "dare_ties", "magnitude_prune"}) {
    // linear needs equal ranks: use a and c (both rank 2).
    const std::string in = m == "linear" ? (dir / "set" / "sample-a").string() + " " +
                                               (dir / "set" / "sample-c").string()
                                         : inputs;
    const fs::path out = dir / ("out-" + m);
    const auto r =
        run("merge --json -m " + m + " --density 0.5 " + in + " -o " + out.string(), dir);
    ASSERT_EQ(r.code, 0) << m << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["recipe"]["method"], m);
    const auto merged = load_peft_adapter(out);
    EXPECT_EQ(merged->modules.size(), 14u) << m;
  }
  // cat is exact: its ΔW equals Σ s_i B_i A_i read back from the inputs.
  const auto merged = load_peft_adapter(dir / "out-cat");
  at::Tensor ref;
  for (const char* n : {"sample-a", "sample-b", "sample-c"}) {
    const auto a = load_peft_adapter(dir / "set" / n);
    const auto d = delta(a->modules[0]);
    ref = ref.defined() ? ref + d : d;
  }
  EXPECT_LT(test::rel_err(delta(merged->modules[0]), ref), 1e-5);
}

TEST_F(Cli, PeftCompatAndWeightsAndProvenance) {
  const auto r = run("merge -m svd --peft-compat --weights=-1,0.5,2 --rank 3" + inputs + " -o " +
                         (dir / "o").string(),
                     dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = load_peft_adapter(dir / "o");
  EXPECT_EQ(m->config.r, 3);
  EXPECT_EQ(m->config.lora_alpha, 3);
  const auto recipe = nlohmann::json::parse(m->metadata.at("basin.merge.recipe"));
  EXPECT_EQ(recipe["weights"], nlohmann::json({-1.0, 0.5, 2.0}));
  EXPECT_EQ(recipe["peft_compat"], true);
  EXPECT_EQ(nlohmann::json::parse(m->metadata.at("basin.merge.inputs"))[0]["sha256"]
                .get<std::string>()
                .size(),
            64u);
}

// PEFT's add_weighted_adapter merges a single adapter with linear whatever method is asked;
// --peft-compat does the same and says so (issue 13, point 3).
TEST_F(Cli, PeftCompatAnnouncesTheSingleAdapterSwitchToLinear) {
  const auto r = run("merge -m ties -d 0.5 --peft-compat --weights=1 " +
                         (dir / "set" / "sample-a").string() + " -o " + (dir / "one").string(),
                     dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --peft-compat: method:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ties runs as linear"), std::string::npos) << r.err;
  // The *_svd variants exist only under --peft-compat.
  const auto refused = run("merge -m ties_svd" + inputs + " -o " + (dir / "two").string(), dir);
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("needs --peft-compat"), std::string::npos) << refused.err;
}

TEST_F(Cli, SimilarityCsvAndJson) {
  auto r = run("similarity --csv" + inputs, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "cosine_similarity,sample-a,sample-b,sample-c");
  r = run("similarity --json --per-layer" + inputs, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["overall"][1][1].get<double>(), 1.0, 1e-12);
  EXPECT_TRUE(j["scopes"].contains("layer 1"));
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("merge -m average" + inputs + " -o " + (dir / "x").string(), dir).code, 2);
  EXPECT_EQ(run("frobnicate", dir).code, 2);
  EXPECT_EQ(run("merge" + inputs, dir).code, 2);  // no -o, no -m
  EXPECT_FALSE(fs::exists(dir / "x"));
}

TEST_F(Cli, FailuresExitOneWithAMessageAndWriteNothing) {
  const fs::path out = dir / "never";
  auto r = run("merge -m svd --rank 0" + inputs + " -o " + out.string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--rank must be positive"), std::string::npos) << r.err;
  r = run("merge -m ties --density 1.5" + inputs + " -o " + out.string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("density must be in (0, 1]"), std::string::npos) << r.err;
  r = run("merge -m cat --weights 1,nan,1" + inputs + " -o " + out.string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("weight 2"), std::string::npos) << r.err;
  r = run("merge -m cat " + (dir / "missing").string() + " -o " + out.string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("adapter folder not found"), std::string::npos) << r.err;
  r = run("merge -m linear" + inputs + " -o " + out.string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("equal ranks"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  // An existing output is never replaced without --force.
  fs::create_directories(dir / "busy");
  test::write_bytes(dir / "busy" / "keep.txt", "x");
  r = run("merge -m cat" + inputs + " -o " + (dir / "busy").string(), dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(test::list_files(dir / "busy").size(), 1u);
  // Incompatible shapes name the module.
  run("sample --shape qwen2-0.5b -n 1 --layers 1 --ranks 2 -o " + (dir / "big").string(), dir);
  r = run("similarity " + (dir / "set" / "sample-a").string() + " " +
              (dir / "big" / "sample-a").string(),
          dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("incompatible"), std::string::npos) << r.err;
}

#include "io/safetensors.h"
#include "io/tensor_torch.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace {

// A tiny random Qwen2-architecture model with GPT-2's real tokenizer (from
// scripts/fetch-test-data.sh), as a Hugging Face folder.
fs::path tiny_model_with_gpt2_tokenizer(const test::TempDir& dir) {
  const char* env = std::getenv("BASIN_TEST_DATA");
  const fs::path data = env && *env ? fs::path(env) : fs::path(BASIN_TEST_DATA_DIR);
  const fs::path tok = data / "gpt2" / "tokenizer.json";
  EXPECT_TRUE(fs::exists(tok)) << tok << " is missing: run scripts/fetch-test-data.sh";
  ModelConfig c;
  c.vocab_size = 50257;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.eos_token_id = 50256;
  const fs::path m = dir / "model";
  CausalLM::random(c, 1).save(m);
  fs::copy_file(tok, m / "tokenizer.json");
  return m;
}

}  // namespace

TEST(CliModel, TokenizeGenerateEmbedAndTrainLora) {
  test::TempDir dir;
  const fs::path m = tiny_model_with_gpt2_tokenizer(dir);
  // GPT-2 ids of "Hello world" are 15496, 995 (its encoder.json: "Hello", "Ġworld").
  auto r = run("tokenize --json --tokenizer " + m.string() + " 'Hello world'", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["ids"], nlohmann::json({15496, 995}));

  r = run("generate --model " + m.string() + " --max-new-tokens 3 'Hello'", dir);
  ASSERT_EQ(r.code, 0) << r.err;

  test::write_bytes(dir / "d.jsonl", "{\"text\": \"Hello world\"}\n{\"text\": \"a b c\"}\n");
  r = run("embed --model " + m.string() + " --data " + (dir / "d.jsonl").string() + " -o " +
              (dir / "f.safetensors").string(),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const SafetensorsReader feats(dir / "f.safetensors");
  const auto f = tensor_view(feats, *feats.find("features"));
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 16}));
  // Row 0 = mean over tokens of the final-norm hidden states, computed here.
  const CausalLM model = CausalLM::load(m);
  LmForwardOptions fo;
  fo.output_layer = 2;
  const auto h =
      model.forward(torch::tensor(std::vector<int64_t>{15496, 995}).view({1, -1}), fo).hidden[0];
  EXPECT_LT(test::rel_err(f[0], h.mean(0)), 1e-5);

  test::write_bytes(
      dir / "t.json",
      R"({"name": "echo", "prompt": "Say {word}:", "target": "word", "metric": "exact_match",
                                        "splits": {"train": "t.jsonl"}})");
  test::write_bytes(dir / "t.jsonl", "{\"word\": \"yes\"}\n{\"word\": \"no\"}\n");
  r = run("train-lora --model " + m.string() + " --task " + (dir / "t.json").string() +
              " --steps 3 --rank 2 -o " + (dir / "lora").string(),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto a = load_peft_adapter(dir / "lora");
  EXPECT_EQ(a->modules.size(), 4u);  // q_proj, v_proj × 2 layers
  EXPECT_EQ(a->metadata.at("basin.train.task"), "echo");

  // Bad input: a layer beyond the model, an unknown model_type.
  r = run("embed --model " + m.string() + " --layer 7 --data " + (dir / "d.jsonl").string() +
              " -o " + (dir / "g.safetensors").string(),
          dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--layer 7"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "g.safetensors"));
}

#include "data/task.h"
#include "train/task_examples.h"
#include "train/trainer.h"

// The tiny demo kit end to end (label slow: about a minute on 2 cores).
TEST(CliDemoKit, TinyKitTrainsAdaptersThatBeatTheBase) {
  test::TempDir dir;
  const fs::path kit = dir / "kit";
  auto r = run("demo-kit --size tiny -o " + kit.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto manifest = nlohmann::json::parse(test::read_bytes(kit / "kit.json"));
  EXPECT_EQ(manifest["size"], "tiny");
  EXPECT_LT(manifest["pretrain_loss_last"].get<double>(),
            manifest["pretrain_loss_first"].get<double>());
  const auto names = manifest["adapters"].get<std::vector<std::string>>();
  EXPECT_EQ(names.size(), 13u);  // 7 tasks + 3 seeds + 3 ranks of sentiment
  // Everything is in the real formats: the model and tokenizer load, every adapter loads.
  const CausalLM base = CausalLM::load(kit / "model");
  const Tokenizer tok = Tokenizer::from_file(kit / "model");
  EXPECT_EQ(base.config().vocab_size, static_cast<int64_t>(tok.vocab_size()));
  for (const auto& n : names)
    EXPECT_NO_THROW(load_peft_adapter(kit / "adapters" / n)) << n;
  // The sentiment adapter lowers the answer loss on sentiment's validation split.
  const auto spec = TaskSpec::load(kit / "tasks" / "sentiment.json");
  const auto val =
      task_examples(spec, spec.load_split("validation"), tok, *tok.token_to_id("<|endoftext|>"));
  CausalLM tuned = base;
  tuned.set_lora_bank({load_peft_adapter(kit / "adapters" / "sentiment")});
  EXPECT_LT(mean_nll(tuned, val), mean_nll(base, val));
  // eval: per-task scores and the multitask score; an adapter's score relative to itself is 1.
  r = run("eval --json --limit 8 --model " + (kit / "model").string() + " --adapter " +
              (kit / "adapters" / "sentiment").string() + " --tasks " +
              (kit / "tasks" / "sentiment.json").string() + " " +
              (kit / "tasks" / "qa.json").string(),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ev = nlohmann::json::parse(r.out);
  const double s_sent = ev["tasks"]["sentiment"]["score"].get<double>();
  EXPECT_GE(s_sent, 0.0);
  EXPECT_LE(s_sent, 1.0);
  EXPECT_EQ(ev["tasks"]["qa"]["metric"], "exact_match");
  test::write_bytes(dir / "oracle.json",
                    nlohmann::json({{"sentiment", std::max(s_sent, 0.125)}}).dump());
  r = run("eval --json --limit 8 --model " + (kit / "model").string() + " --adapter " +
              (kit / "adapters" / "sentiment").string() + " --tasks " +
              (kit / "tasks" / "sentiment.json").string() + " --oracle " +
              (dir / "oracle.json").string(),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NEAR(nlohmann::json::parse(r.out)["multitask_score"].get<double>(),
              s_sent / std::max(s_sent, 0.125), 1e-12);
  // A second run reuses the finished kit.
  r = run("demo-kit --size tiny -o " + kit.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("already built"), std::string::npos) << r.out;
}

// Learned and routed references on the tiny demo kit (label slow): the Mixture-of-LoRAs router
// tells the seven tasks' prompt formats apart, and a trained MoLE gate keeps more of the tasks
// than the base model has. The tiny kit's model generates no correct answer yet (every oracle
// scores 0 on the task metrics), so the multitask score is taken on the answer loss (each
// task's spec with metric "loss"), where every adapter has learned its task.
TEST(CliDemoKit, GatesOnTheTinyKit) {
  test::TempDir dir;
  const fs::path kit = dir / "kit";
  auto r = run("demo-kit --size tiny -o " + kit.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto manifest = nlohmann::json::parse(test::read_bytes(kit / "kit.json"));
  std::string tasks, loss_tasks, adapters;
  for (const auto& t : manifest["tasks"]) {
    const std::string name = t.get<std::string>();
    tasks += " " + (kit / "tasks" / (name + ".json")).string();
    auto spec = nlohmann::json::parse(test::read_bytes(kit / "tasks" / (name + ".json")));
    spec["metric"] = "loss";
    test::write_bytes(kit / "tasks" / (name + "-loss.json"), spec.dump());
    loss_tasks += " " + (kit / "tasks" / (name + "-loss.json")).string();
    adapters += " " + (kit / "adapters" / name).string();
  }
  const std::string model = " --model " + (kit / "model").string();
  // The tiny model's 2 layers have seen 60 pre-training steps: its token embeddings (layer 0)
  // carry the prompt format best; the default (last layer) suits trained models.
  r = run("gate train --kind moa --layer 0 --steps 1000 --json" + model + " --tasks" + tasks +
              adapters + " -o " + (dir / "moa").string(),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto acc = nlohmann::json::parse(r.out)["routing_accuracy"];
  ASSERT_EQ(acc.size(), manifest["tasks"].size());
  // Scored on 12 prompts per task: at most one misrouted (11/12; on kit version 4 one sentiment
  // prompt goes elsewhere), against 1/7 for a router that cannot tell the formats apart.
  for (const auto& [task, a] : acc.items())
    EXPECT_GE(a.get<double>(), 11.0 / 12 - 1e-9) << task;
  r = run("multitask --json --limit 12 --methods mole" + model + " --tasks" + loss_tasks +
              " --adapters" + adapters,
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto table = nlohmann::json::parse(r.out)["tables"].back();
  double base = std::nan(""), mole = std::nan("");
  for (const auto& row : table["rows"]) {
    const double v =
        row["multitask_score"].is_null() ? std::nan("") : row["multitask_score"].get<double>();
    if (row["method"] == "base") base = v;
    if (row["method"] == "mole") mole = v;
  }
  EXPECT_GT(mole, base) << r.out;
}
