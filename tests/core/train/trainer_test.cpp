// Training reduces the loss and is deterministic for a seed (CPU).
#include <gtest/gtest.h>

#include "lora/peft_io.h"
#include "model/causal_lm.h"
#include "test_support.h"
#include "train/trainer.h"
#include "util/errors.h"

using namespace basin;

namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.vocab_size = 24;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  return c;
}

// Sequences where each token determines the next: t -> (5 t + 3) mod 24; the prompt is the
// first token, every later token is a target.
std::vector<TrainExample> pattern_data(int n) {
  std::vector<TrainExample> d;
  for (int i = 0; i < n; ++i) {
    TrainExample ex;
    int64_t t = i % 24;
    for (int k = 0; k < 8; ++k) {
      ex.ids.push_back(t);
      ex.target.push_back(k > 0);
      t = (5 * t + 3) % 24;
    }
    d.push_back(ex);
  }
  return d;
}

}  // namespace

TEST(Trainer, LoraTrainingReducesLossAndIsDeterministic) {
  const CausalLM base = CausalLM::random(small_config(), 1);
  const auto data = pattern_data(48);
  TrainOptions o;
  o.steps = 120;
  o.lr = 3e-2;
  o.seed = 3;
  LoraOptions lo;
  lo.rank = 4;
  lo.alpha = 8;
  lo.target_modules = {"q_proj", "v_proj", "up_proj", "down_proj"};
  jobs::NullProgress p;
  TrainReport rep;
  const Adapter a = train_lora(base, data, lo, o, p, &rep);
  EXPECT_EQ(a.modules.size(), 8u);  // 4 targets × 2 layers
  const double before = mean_nll(base, data);
  CausalLM with = base;
  with.set_lora_bank({std::make_shared<Adapter>(a)});
  const double after = mean_nll(with, data);
  // A random base makes this a hard task for a rank-4 adapter; a 10 % drop cannot happen by chance.
  EXPECT_LT(after, 0.9 * before) << "before " << before << " after " << after;
  ASSERT_EQ(rep.losses.size(), 120u);
  EXPECT_LT(rep.losses.back(), rep.losses.front());
  // Same seed, same result, bit for bit.
  const Adapter b = train_lora(base, data, lo, o, p, nullptr);
  for (size_t i = 0; i < a.modules.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.modules[i].A, b.modules[i].A)) << a.modules[i].name;
    EXPECT_TRUE(torch::equal(a.modules[i].B, b.modules[i].B)) << a.modules[i].name;
  }
  // The base weights were not touched.
  EXPECT_TRUE(torch::equal(base.parameters().at("model.layers.0.self_attn.q_proj.weight"),
                           CausalLM::random(small_config(), 1)
                               .parameters()
                               .at("model.layers.0.self_attn.q_proj.weight")));
  // It saves as a PEFT adapter that loads back with the same scale.
  test::TempDir dir;
  save_peft_adapter(a, dir / "lora");
  const auto back = load_peft_adapter(dir / "lora");
  EXPECT_DOUBLE_EQ(back->modules[0].scale, 2.0);
}

TEST(Trainer, FullTrainingReducesLoss) {
  CausalLM m = CausalLM::random(small_config(), 2);
  const auto data = pattern_data(48);
  const double before = mean_nll(m, data);
  TrainOptions o;
  o.steps = 40;
  o.lr = 3e-3;
  jobs::NullProgress p;
  train_full(m, data, o, p);
  EXPECT_LT(mean_nll(m, data), 0.7 * before);
  EXPECT_FALSE(m.parameters().at("lm_head.weight").requires_grad());
}

TEST(Trainer, CancelAndBadOptions) {
  const CausalLM base = CausalLM::random(small_config(), 1);
  const auto data = pattern_data(8);
  TrainOptions o;
  LoraOptions lo;
  jobs::NullProgress p;
  p.request_cancel();
  EXPECT_THROW(train_lora(base, data, lo, o, p), jobs::Cancelled);
  jobs::NullProgress ok;
  o.steps = 0;
  EXPECT_THROW(train_lora(base, data, lo, o, ok), InputError);
  o.steps = 1;
  lo.target_modules = {"nonexistent_proj"};
  EXPECT_THROW(train_lora(base, data, lo, o, ok), InputError);
  EXPECT_THROW(train_lora(base, {}, LoraOptions{}, o, ok), InputError);
}
