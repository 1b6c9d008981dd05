// The landscape CLI tests' fixture: a tiny random Qwen2 model with a BPE tokenizer trained
// here, three PEFT adapters (ad-a, ad-b, ad-c) and two tasks (say, repeat) over ten words, made
// once per test program; and `run`, which runs the real basin-cli and captures its output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "data/task.h"
#include "jobs/progress.h"
#include "lora/peft_io.h"
#include "model/causal_lm.h"
#include "naive_lm.h"
#include "test_support.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "train/task_examples.h"
#include "train/trainer.h"

namespace basin::test::cli {

namespace fs = std::filesystem;
using nlohmann::json;

inline const std::vector<std::string> kWords = {"apple", "river", "stone", "cloud", "green",
                                                "table", "light", "sound", "paper", "music"};

// A random LoRA on q_proj and v_proj of both layers (rank 2, alpha 4: scale 2).
inline void write_adapter(const fs::path& dir, const CausalLM& m, uint64_t seed) {
  std::vector<basin::test::TestModule> mods;
  for (const auto& target : m.lora_targets()) {
    if (target.find("q_proj") == std::string::npos && target.find("v_proj") == std::string::npos)
      continue;
    const auto& W = m.parameters().at(target + ".weight");
    mods.push_back({target, 0.5 * basin::test::randn({2, W.size(1)}, ++seed),
                    0.5 * basin::test::randn({W.size(0), 2}, ++seed)});
  }
  basin::test::write_peft_adapter(dir, mods, R"({"r": 2, "lora_alpha": 4})");
}

class CliLandscape : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new basin::test::TempDir();
    const fs::path root = dir_->path();
    // Tokenizer trained on the task's own text, so prompts are a few tokens each.
    std::vector<std::string> texts;
    for (const auto& w : kWords)
      texts.push_back("Say " + w + ": " + w + "\nRepeat " + w + ": " + w + w);
    const fs::path model = root / "model";
    BpeTrainOptions bo;
    bo.vocab_size = 320;
    jobs::NullProgress quiet;
    train_bpe_tokenizer(texts, bo, root / "tokenizer.json", quiet);
    const Tokenizer tok = Tokenizer::from_file(root / "tokenizer.json");
    ModelConfig c = basin::test::tiny_decoder_config();
    c.vocab_size = static_cast<int64_t>(tok.vocab_size());
    c.eos_token_id = *tok.token_to_id("<|endoftext|>");
    CausalLM m = CausalLM::random(c, 7);
    uint64_t s = 900;
    for (auto& [name, t] : m.parameters())
      if (name.find("norm") == std::string::npos)
        t = 0.3 * basin::test::randn(t.sizes().vec(), ++s);
    m.save(model);
    fs::copy_file(root / "tokenizer.json", model / "tokenizer.json");
    write_adapter(root / "ad-a", m, 100);
    write_adapter(root / "ad-b", m, 200);
    write_adapter(root / "ad-c", m, 300);
    // Two tasks over the same words: "say" (exact match) and "repeat".
    std::vector<Example> rows;
    for (const auto& w : kWords)
      rows.push_back({{"word", w}, {"twice", w + w}});
    write_jsonl(root / "words.jsonl", rows);
    basin::test::write_bytes(root / "say.json", R"({"name": "say", "prompt": "Say {word}:",
        "target": "word", "metric": "exact_match", "max_new_tokens": 3,
        "splits": {"validation": "words.jsonl", "test": "words.jsonl"}})");
    basin::test::write_bytes(root / "repeat.json", R"({"name": "repeat", "prompt": "Repeat {word}:",
        "target": "twice", "metric": "exact_match", "max_new_tokens": 3,
        "splits": {"validation": "words.jsonl", "test": "words.jsonl"}})");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path p(const std::string& name) { return dir_->path() / name; }
  static std::string s(const std::string& name) { return p(name).string(); }
  static std::string eval_args(const std::string& tasks = "say.json") {
    std::string out = " --model " + s("model") + " --tasks";
    for (const auto& t : {std::string("say.json"), std::string("repeat.json")})
      if (tasks.find(t) != std::string::npos) out += " " + s(t);
    return out;
  }
  // Mean answer NLL of `adapter` (empty: the base model) merged into the weights, on the first
  // `limit` rows of say's validation split — independent of the LoRA bank.
  static double merged_loss(const std::string& adapter, size_t limit) {
    CausalLM m = CausalLM::load(p("model"));
    if (!adapter.empty()) m.merge_adapter(*load_peft_adapter(p(adapter)));
    const Tokenizer tok = Tokenizer::from_file(p("model") / "tokenizer.json");
    const auto spec = TaskSpec::load(p("say.json"));
    auto rows = spec.load_split("validation");
    rows.resize(std::min(rows.size(), limit));
    return mean_nll(m, task_examples(spec, rows, tok, m.config().eos_token_id));
  }
  fs::path scratch() const { return tmp_.path(); }

  inline static basin::test::TempDir* dir_ = nullptr;
  basin::test::TempDir tmp_;
};

inline std::vector<double> numbers(const json& j) {
  std::vector<double> v;
  for (const auto& x : j)
    v.push_back(x.is_null() ? std::nan("") : x.get<double>());
  return v;
}

}  // namespace basin::test::cli
