// What routing costs (Google Benchmark) on the demo kit (BASIN_KIT, default ./basin-kit): the
// seven task adapters as experts; trainable parameters and training time of a MoLE gate (per
// projection and per block) and of the Mixture-of-LoRAs router, Arrow's build time, and the
// inference throughput (tokens/s of one forward pass at batch 16 × 48 tokens) of each gated
// model against the base model, a merged adapter folded into the weights, and the same merge
// evaluated through the LoRA bank. Ratios are written up in docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "data/task.h"
#include "gate/gate.h"
#include "jobs/progress.h"
#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"
#include "train/gate_training.h"
#include "train/task_examples.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

const char* kTasks[] = {"headline",   "translate", "qa",     "sentiment",
                        "entailment", "topic",     "antonym"};

struct Kit {
  CausalLM base;
  Tokenizer tok;
  std::vector<TaskSpec> tasks;
  std::vector<std::shared_ptr<const Adapter>> experts;
  CausalLM banked;  // the base with the experts as its bank
  std::vector<TrainExample> mix;
};

Kit& kit() {
  static std::unique_ptr<Kit> k;
  if (!k) {
    const char* env = std::getenv("BASIN_KIT");
    const fs::path dir = env ? fs::path(env) : fs::path("basin-kit");
    if (!fs::exists(dir / "kit.json")) {
      std::cerr << "no demo kit at " << dir << " (set BASIN_KIT)\n";
      std::exit(2);
    }
    k = std::make_unique<Kit>(
        Kit{CausalLM::load(dir / "model"), Tokenizer::from_file(dir / "model"), {}, {}, {}, {}});
    for (const char* t : kTasks) {
      k->tasks.push_back(TaskSpec::load(dir / "tasks" / (std::string(t) + ".json")));
      k->experts.push_back(load_peft_adapter(dir / "adapters" / t));
      auto rows = k->tasks.back().load_split("train");
      if (rows.size() > 64) rows.resize(64);
      for (auto& e : task_examples(k->tasks.back(), rows, k->tok, k->base.config().eos_token_id))
        k->mix.push_back(std::move(e));
    }
    k->banked = k->base;
    k->banked.set_lora_bank(k->experts);
  }
  return *k;
}

constexpr int64_t kBatch = 16, kTokens = 48;

at::Tensor batch_ids() {
  auto gen = at::detail::createCPUGenerator(7);
  return torch::randint(1, kit().base.config().vocab_size - 1, {kBatch, kTokens}, gen);
}

void count_tokens(benchmark::State& state) {
  state.counters["tokens_per_s"] =
      benchmark::Counter(double(kBatch * kTokens), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ForwardBase(benchmark::State& state) {
  const auto ids = batch_ids();
  torch::NoGradGuard ng;
  for (auto _ : state)
    benchmark::DoNotOptimize(kit().base.logits(ids));
  count_tokens(state);
}

// A merge of the seven (linear) folded into a weight copy: the base model's cost.
void BM_ForwardMergedWeights(benchmark::State& state) {
  AdapterSet set;
  for (const auto& e : kit().experts)
    set.add(e);
  MergeRecipe r;
  r.method = parse_method("svd");
  jobs::NullProgress p;
  CausalLM merged = kit().base;
  for (auto& [name, t] : merged.parameters())
    t = t.clone();
  merged.merge_adapter(merge(set, r, p));
  const auto ids = batch_ids();
  torch::NoGradGuard ng;
  for (auto _ : state)
    benchmark::DoNotOptimize(merged.logits(ids));
  count_tokens(state);
}

// The same weighted sum through the bank: one coefficient row per sample, K = 7.
void BM_ForwardBankCoefficients(benchmark::State& state) {
  const auto ids = batch_ids();
  LmForwardOptions o;
  o.lora_coeffs = torch::full({kBatch, 7}, 1.0 / 7);
  torch::NoGradGuard ng;
  for (auto _ : state)
    benchmark::DoNotOptimize(kit().banked.logits(ids, o));
  count_tokens(state);
}

void gated_forward(benchmark::State& state, const Gate& g) {
  const auto ids = batch_ids();
  torch::NoGradGuard ng;
  for (auto _ : state) {
    const auto r = g.route(kit().banked, ids, torch::ones_like(ids));
    LmForwardOptions o;
    o.lora_coeffs = r.coeffs;
    o.gate = r.gate;
    benchmark::DoNotOptimize(kit().banked.logits(ids, o));
  }
  count_tokens(state);
  state.counters["trainable_params"] = double(g.trainable_parameters());
}

Gate& trained(const std::string& kind) {
  static std::map<std::string, Gate> gates;
  if (!gates.count(kind)) {
    jobs::NullProgress p;
    if (kind == "arrow") {
      gates[kind] = build_arrow_gate(kit().experts, ArrowOptions{2, 1.0});
    } else if (kind == "moa") {
      MoaTrainOptions o;
      o.per_task = 64;
      o.eval_limit = 32;
      gates[kind] = train_moa_router(kit().banked, kit().experts, kit().tok, kit().tasks, o, p);
    } else {
      MoleTrainOptions o;
      o.granularity = kind == "mole-block" ? MoleGranularity::Block : MoleGranularity::Module;
      o.train.steps = 10;
      gates[kind] = train_mole_gate(kit().banked, kit().experts, kit().mix, o, p);
    }
  }
  return gates[kind];
}

void BM_ForwardMoleModule(benchmark::State& state) {
  gated_forward(state, trained("mole"));
}
void BM_ForwardMoleBlock(benchmark::State& state) {
  gated_forward(state, trained("mole-block"));
}
void BM_ForwardArrow(benchmark::State& state) {
  gated_forward(state, trained("arrow"));
}
void BM_ForwardRouter(benchmark::State& state) {
  gated_forward(state, trained("moa"));
}

// Training cost: seconds per MoLE step (batch 8), the router's whole training, Arrow's build.
void BM_TrainMole(benchmark::State& state) {
  MoleTrainOptions o;
  o.granularity = state.range(0) ? MoleGranularity::Block : MoleGranularity::Module;
  o.train.steps = 10;
  int64_t params = 0;
  for (auto _ : state) {
    jobs::NullProgress p;
    params = train_mole_gate(kit().banked, kit().experts, kit().mix, o, p).trainable_parameters();
  }
  state.counters["trainable_params"] = double(params);
  state.counters["steps"] = 10;
}

void BM_TrainRouter(benchmark::State& state) {
  MoaTrainOptions o;
  o.per_task = 64;
  o.eval_limit = 32;
  int64_t params = 0;
  for (auto _ : state) {
    jobs::NullProgress p;
    params = train_moa_router(kit().banked, kit().experts, kit().tok, kit().tasks, o, p)
                 .trainable_parameters();
  }
  state.counters["trainable_params"] = double(params);
}

void BM_BuildArrow(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(build_arrow_gate(kit().experts, ArrowOptions{2, 1.0}).arrow.get());
}

}  // namespace

BENCHMARK(BM_ForwardBase)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardMergedWeights)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardBankCoefficients)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardMoleModule)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardMoleBlock)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardArrow)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardRouter)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainMole)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_TrainRouter)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_BuildArrow)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
