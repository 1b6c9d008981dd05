// Task answers at points of a LoRA bank: the batched route (prompts of unequal length decoded
// together with left padding, points grouped by their adapters) against each prompt decoded
// alone at each point with the adapters merged into a copy of the weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "eval/task_eval.h"
#include "jobs/progress.h"
#include "model/generate.h"
#include "naive_lm.h"
#include "test_support.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

using namespace basin;

namespace {

std::shared_ptr<const Adapter> adapter(const CausalLM& m, const std::string& name, int64_t r,
                                       uint64_t seed) {
  auto a = std::make_shared<Adapter>();
  a->name = name;
  for (const auto& target : m.lora_targets()) {
    const auto& W = m.parameters().at(target + ".weight");
    LoraModule mod;
    mod.name = target;
    mod.A = 0.5 * test::randn({r, W.size(1)}, ++seed);
    mod.B = 0.5 * test::randn({W.size(0), r}, ++seed);
    mod.alpha = double(r);
    mod.scale = 1.0;
    a->modules.push_back(mod);
  }
  return a;
}

}  // namespace

TEST(TaskEval, BatchedAnswersEqualEachPromptDecodedAloneOnMergedWeights) {
  test::TempDir dir;
  const std::vector<std::string> texts = {"the cat sat on the mat", "a dog ran in the park",
                                          "the cat ran", "dogs and cats", "on the mat again"};
  BpeTrainOptions bo;
  bo.vocab_size = 290;
  bo.min_frequency = 1;
  jobs::NullProgress progress;
  train_bpe_tokenizer(texts, bo, dir / "tokenizer.json", progress);
  const auto tok = Tokenizer::from_file(dir / "tokenizer.json");
  ModelConfig c = test::tiny_decoder_config();
  c.vocab_size = 300;
  c.eos_token_id = -1;  // answers run the whole budget: every step is compared
  const CausalLM base = test::tiny_decoder(c, 41);
  const std::vector<std::shared_ptr<const Adapter>> bank = {
      adapter(base, "a", 2, 10), adapter(base, "b", 4, 20), adapter(base, "c", 1, 30)};
  CausalLM model = base;
  model.set_lora_bank(bank);

  TaskSpec spec;
  spec.name = "echo";
  spec.prompt = "Say: {text}\n";
  spec.target = "text";
  spec.metric = TaskMetric::ExactMatch;
  spec.max_new_tokens = 6;
  std::vector<Example> rows;
  for (const auto& t : texts)
    rows.push_back({{"text", t}});
  // Unequal prompt lengths, and points that use one, two or none of the adapters.
  const std::vector<Point> points = {{0, 0, 0},     {1, 0, 0}, {0, 1, 0},
                                     {0.5, 0.5, 0}, {0, 0, 1}, {-0.3, 0.2, 0.9}};
  const auto got = predict_task_points(model, tok, spec, rows, points, progress);
  const auto ref =
      predict_task_points(model, tok, spec, rows, points, progress, EvalRoute::kReference);
  ASSERT_EQ(got.size(), points.size());
  torch::NoGradGuard g;
  for (size_t p = 0; p < points.size(); ++p) {
    CausalLM merged = base;
    for (auto& [name, t] : merged.parameters())
      t = t.clone();
    for (size_t k = 0; k < bank.size(); ++k)
      if (points[p][k] != 0) merged.merge_adapter(*bank[k], points[p][k]);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto ids32 = tok.encode(spec.render_prompt(rows[i]));
      const auto prompt =
          torch::tensor(std::vector<int64_t>(ids32.begin(), ids32.end())).view({1, -1});
      GenerateOptions o;
      o.max_new_tokens = spec.max_new_tokens;
      const auto out = greedy_generate(merged, prompt, o)[0];
      const auto want = clean_answer(tok.decode({out.begin(), out.end()}, true));
      EXPECT_EQ(got[p][i], want) << "point " << p << ", row " << i;
      EXPECT_EQ(ref[p][i], want) << "point " << p << ", row " << i;
    }
  }
  // The points really answer differently (the adapters matter).
  EXPECT_NE(got[0], got[2]);
}
