// Forward-pass benchmarks (Google Benchmark): tokens/s at batch 1 and 32 on the demo kit's
// "small" model shape and on a random Qwen2-0.5B-shaped model (made at run time), the
// machine's plain GEMM throughput measured in the same run (achieved FLOP/s ÷ GEMM FLOP/s),
// and the overhead of a K=11 LoRA bank vs the bare base model; and a sweep's points scored
// through the point evaluator (answer positions only) with and without the bank (issue 12,
// point 5: real shapes). See docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "landscape/points.h"
#include "lora/adapter.h"
#include "model/causal_lm.h"
#include "util/runtime.h"

using namespace basin;

namespace {

ModelConfig shape(const std::string& name) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.tie_word_embeddings = true;
  if (name == "demo-small") {  // core/demo/demo_kit.cpp "small"
    c.vocab_size = 2048;
    c.hidden_size = 128;
    c.intermediate_size = 352;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 32;
  } else {  // Qwen2-0.5B
    c.vocab_size = 151936;
    c.hidden_size = 896;
    c.intermediate_size = 4864;
    c.num_hidden_layers = 24;
    c.num_attention_heads = 14;
    c.num_key_value_heads = 2;
    c.head_dim = 64;
  }
  return c;
}

CausalLM& model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<CausalLM>> cache;
  auto& m = cache[name];
  if (!m) m = std::make_unique<CausalLM>(CausalLM::random(shape(name), 1));
  return *m;
}

// FLOPs of one forward token (2 · parameters touched per token, attention scores ignored).
double flops_per_token(const ModelConfig& c) {
  const double d = double(c.hidden_size), q = double(c.num_attention_heads * c.head_dim),
               kv = double(c.num_key_value_heads * c.head_dim), I = double(c.intermediate_size);
  const double per_layer = d * q * 2 + d * kv * 2 + 3 * d * I;
  return 2.0 * (per_layer * double(c.num_hidden_layers) + d * double(c.vocab_size));
}

constexpr int64_t kTokens = 64;

// K random rank-8 adapters on every LoRA target of `m` as its bank (none for K = 0).
void set_bank(CausalLM& m, int64_t K) {
  if (K == 0) {
    m.clear_lora_bank();
    return;
  }
  std::vector<std::shared_ptr<const Adapter>> bank;
  for (int64_t k = 0; k < K; ++k) {
    auto a = std::make_shared<Adapter>();
    a->name = "a" + std::to_string(k);
    for (const auto& t : m.lora_targets()) {
      const auto& W = m.parameters().at(t + ".weight");
      LoraModule mod;
      mod.name = t;
      mod.A = torch::randn({8, W.size(1)}) * 0.01;
      mod.B = torch::randn({W.size(0), 8}) * 0.01;
      mod.scale = 2.0;
      a->modules.push_back(mod);
    }
    bank.push_back(a);
  }
  m.set_lora_bank(bank);
}

void BM_Forward(benchmark::State& state, std::string name, int64_t K) {
  CausalLM& m = model(name);
  const int64_t B = state.range(0);
  set_bank(m, K);
  const auto ids = torch::randint(0, m.config().vocab_size, {B, kTokens}, torch::kLong);
  LmForwardOptions o;
  if (K > 0) o.lora_coeffs = torch::rand({B, K});
  torch::NoGradGuard no_grad;
  for (auto _ : state)
    benchmark::DoNotOptimize(m.forward(ids, o).logits.data_ptr());
  const double tokens = double(B * kTokens) * double(state.iterations());
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(tokens * flops_per_token(m.config()) / 1e9, benchmark::Counter::kIsRate);
  m.clear_lora_bank();
}

// A sweep as the studies score it: 4 interior points of the path between the bank's first two
// adapters (K = 11) or the same 4 evaluations of the bare model (K = 0), over 16 examples of 64
// tokens whose last 4 are the answer, through PointEvaluator (rows of 2 points × 16 examples =
// 32 per batch, batches side by side on the compute threads). FLOPs count the body at every
// token and the head at the answer tokens only, as computed.
void BM_Sweep(benchmark::State& state, std::string name, int64_t K) {
  CausalLM& m = model(name);
  set_bank(m, K);
  constexpr int64_t kExamples = 16, kAnswer = 4;
  EvalSet data;
  const auto ids = torch::randint(0, m.config().vocab_size, {kExamples, kTokens}, torch::kLong);
  for (int64_t e = 0; e < kExamples; ++e) {
    TrainExample x;
    for (int64_t t = 0; t < kTokens; ++t) {
      x.ids.push_back(ids[e][t].item<int64_t>());
      x.target.push_back(t >= kTokens - kAnswer ? 1 : 0);
    }
    data.examples.push_back(std::move(x));
  }
  const PointEvaluator eval(m, data, /*max_rows=*/32);
  std::vector<Point> points;
  for (double alpha : {0.2, 0.4, 0.6, 0.8}) {
    Point p(static_cast<size_t>(K), 0.0);
    if (K >= 2) {
      p[0] = alpha;
      p[1] = 1.0 - alpha;
    }
    points.push_back(p);
  }
  jobs::NullProgress progress;
  for (auto _ : state)
    benchmark::DoNotOptimize(eval.evaluate(points, progress).front().loss);
  const ModelConfig& c = m.config();
  const double tokens = double(points.size() * kExamples * kTokens) * double(state.iterations());
  const double head = 2.0 * double(c.hidden_size) * double(c.vocab_size);
  const double flops =
      tokens * (flops_per_token(c) - head) + tokens * double(kAnswer) / double(kTokens) * head;
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
  state.counters["workers"] = eval.last_workers();
  m.clear_lora_bank();
}

// Plain float32 GEMM of the model's typical shape: [tokens, d] × [d, 4d].
void BM_Gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto a = torch::randn({2048, n}), b = torch::randn({n, 4 * n});
  for (auto _ : state)
    benchmark::DoNotOptimize(torch::mm(a, b).data_ptr());
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(2.0 * 2048 * double(n) * 4 * double(n) * double(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  init_runtime();
  // Wall-clock time and rates throughout: the work runs on several threads, and Google
  // Benchmark's default CPU time is the calling thread's alone.
  benchmark::RegisterBenchmark("Gemm", BM_Gemm)
      ->Arg(128)
      ->Arg(896)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (const std::string name : {"demo-small", "qwen2-0.5b"})
    for (int64_t K : {0, 11})
      benchmark::RegisterBenchmark(("Forward/" + name + (K ? "/lora_bank_11" : "/base")).c_str(),
                                   BM_Forward, name, K)
          ->Arg(1)
          ->Arg(32)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(name == "qwen2-0.5b" ? 2.0 : 0.5);
  for (const std::string name : {"demo-small", "qwen2-0.5b"})
    for (int64_t K : {0, 11})
      benchmark::RegisterBenchmark(("Sweep/" + name + (K ? "/lora_bank_11" : "/base")).c_str(),
                                   BM_Sweep, name, K)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(name == "qwen2-0.5b" ? 1.0 : 0.5);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
