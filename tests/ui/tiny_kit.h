// The UI tests' tiny kit and helpers: a demo-kit-like folder (a random model with a BPE
// tokenizer trained on the task text, two tasks "copy" and "swap", three random adapters
// "copy", "swap", "other"), waiting for the job runner, and failing on error dialogs.
#pragma once

#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <QApplication>
#include <QMessageBox>
#include <QSignalSpy>
#include <QStringList>
#include <QTimer>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "job_runner.h"
#include "jobs/progress.h"
#include "main_window.h"
#include "model/causal_lm.h"
#include "test_support.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

namespace basin::test::uikit {

namespace fs = std::filesystem;
using basin::ui::MainWindow;

// A tiny kit in the demo kit's layout: model/ (random weights + a BPE tokenizer trained on
// the task text), tasks/<name>.json + JSONL, adapters/<name>/ (random LoRA factors).
struct TinyKit {
  fs::path model;
  std::vector<fs::path> tasks;
  QStringList adapters;
};

inline std::vector<Example> task_rows(const std::string& task, int n) {
  static const char* words[] = {"red", "blue", "green", "cat", "dog", "sun", "rain", "tree"};
  std::vector<Example> rows;
  for (int i = 0; i < n; ++i) {
    const std::string a = words[i % 8], b = words[(3 * i + 1) % 8];
    rows.push_back({{"x", a + " " + b}, {"y", task == "copy" ? a + " " + b : b + " " + a}});
  }
  return rows;
}

inline TinyKit make_kit(const fs::path& dir) {
  TinyKit kit;
  std::vector<std::string> corpus;
  fs::create_directories(dir / "tasks");
  for (const std::string name : {"copy", "swap"}) {
    const auto rows = task_rows(name, 12);
    write_jsonl(dir / "tasks" / (name + ".train.jsonl"), rows);
    write_jsonl(dir / "tasks" / (name + ".validation.jsonl"), rows);
    write_jsonl(dir / "tasks" / (name + ".test.jsonl"), rows);
    nlohmann::json spec = {{"name", name},
                           {"prompt", name + ": {x} =>"},
                           {"target", "y"},
                           {"metric", "exact_match"},
                           {"max_new_tokens", 4},
                           {"splits",
                            {{"train", name + ".train.jsonl"},
                             {"validation", name + ".validation.jsonl"},
                             {"test", name + ".test.jsonl"}}}};
    basin::test::write_bytes(dir / "tasks" / (name + ".json"), spec.dump(2));
    kit.tasks.push_back(dir / "tasks" / (name + ".json"));
    for (const auto& r : rows)
      corpus.push_back(name + ": " + r.at("x") + " => " + r.at("y"));
  }
  kit.model = dir / "model";
  fs::create_directories(kit.model);
  jobs::NullProgress np;
  BpeTrainOptions bo;
  bo.vocab_size = 300;
  train_bpe_tokenizer(corpus, bo, kit.model / "tokenizer.json", np);
  const Tokenizer tok = Tokenizer::from_file(kit.model / "tokenizer.json");
  ModelConfig c;
  c.vocab_size = static_cast<int64_t>(tok.vocab_size());
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.eos_token_id = *tok.token_to_id("<|endoftext|>");
  c.pad_token_id = *tok.token_to_id("<|pad|>");
  c.max_position_embeddings = 256;
  CausalLM::random(c, 1).save(dir / "weights");
  for (const char* f : {"config.json", "model.safetensors"})
    fs::rename(dir / "weights" / f, kit.model / f);
  uint64_t seed = 10;
  for (const std::string name : {"copy", "swap", "other"}) {
    std::vector<basin::test::TestModule> mods;
    for (int l = 0; l < 2; ++l)
      for (const auto& [proj, out] :
           {std::pair<std::string, int64_t>{"q_proj", 32}, {"v_proj", 16}})
        mods.push_back({"model.layers." + std::to_string(l) + ".self_attn." + proj,
                        basin::test::randn({2, 32}, seed++) * 0.3,
                        basin::test::randn({out, 2}, seed++) * 0.3});
    const fs::path a = dir / "adapters" / name;
    basin::test::write_peft_adapter(
        a, mods,
        R"({"r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"],
                                 "base_model_name_or_path": "../../model"})");
    kit.adapters << QString::fromStdString(a.string());
  }
  return kit;
}

inline bool wait_idle(MainWindow& w, int ms = 60000) {
  if (!w.jobs()->busy()) return true;
  QSignalSpy spy(w.jobs(), &basin::ui::JobRunner::busyChanged);
  return spy.wait(ms);
}

// Fails the test with the text of an error dialog instead of hanging on it.
inline void fail_on_dialog() {
  auto* timer = new QTimer;
  QObject::connect(timer, &QTimer::timeout, [timer] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      ADD_FAILURE() << "dialog: " << box->text().toStdString();
      box->accept();
    }
  });
  timer->start(50);
  QObject::connect(qApp, &QApplication::aboutToQuit, timer, &QObject::deleteLater);
}

}  // namespace basin::test::uikit
