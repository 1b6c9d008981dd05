// Forward-pass benchmarks (Google Benchmark): tokens/s at batch 1 and 32 on the demo kit's
// "small" model shape and on a random Qwen2-0.5B-shaped model (made at run time), the
// machine's plain GEMM throughput measured in the same run (achieved FLOP/s ÷ GEMM FLOP/s),
// and the overhead of a K=11 LoRA bank vs the bare base model; and a sweep's points scored
// through the point evaluator (answer positions only) with and without the bank, alone and
// interleaved with GEMMs in rounds so a drifting clock cancels (issue 12, point 5: real
// shapes). See docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <vector>

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

// K random rank-8 adapters on every LoRA target of `m`.
std::vector<std::shared_ptr<const Adapter>> random_bank(const CausalLM& m, int64_t K) {
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
  return bank;
}

// K random adapters as the bank of `m` (none for K = 0).
void set_bank(CausalLM& m, int64_t K) {
  if (K == 0)
    m.clear_lora_bank();
  else
    m.set_lora_bank(random_bank(m, K));
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
// 32 per batch, batches side by side on the compute threads).
constexpr int64_t kSweepExamples = 16, kAnswer = 4, kSweepRows = 32;

EvalSet sweep_data(const CausalLM& m) {
  EvalSet data;
  const auto ids =
      torch::randint(0, m.config().vocab_size, {kSweepExamples, kTokens}, torch::kLong);
  for (int64_t e = 0; e < kSweepExamples; ++e) {
    TrainExample x;
    for (int64_t t = 0; t < kTokens; ++t) {
      x.ids.push_back(ids[e][t].item<int64_t>());
      x.target.push_back(t >= kTokens - kAnswer ? 1 : 0);
    }
    data.examples.push_back(std::move(x));
  }
  return data;
}

std::vector<Point> sweep_points(int64_t K) {
  std::vector<Point> points;
  for (double alpha : {0.2, 0.4, 0.6, 0.8}) {
    Point p(static_cast<size_t>(K), 0.0);
    if (K >= 2) {
      p[0] = alpha;
      p[1] = 1.0 - alpha;
    }
    points.push_back(p);
  }
  return points;
}

// Tokens and FLOPs of one sweep: the body at every token, the head at the answer tokens only,
// as computed.
double sweep_tokens() {
  return double(sweep_points(0).size() * kSweepExamples * kTokens);
}
double sweep_flops(const ModelConfig& c) {
  const double head = 2.0 * double(c.hidden_size) * double(c.vocab_size);
  return sweep_tokens() * (flops_per_token(c) - head) +
         sweep_tokens() * double(kAnswer) / double(kTokens) * head;
}

void BM_Sweep(benchmark::State& state, std::string name, int64_t K) {
  CausalLM& m = model(name);
  set_bank(m, K);
  const PointEvaluator eval(m, sweep_data(m), kSweepRows);
  const auto points = sweep_points(K);
  jobs::NullProgress progress;
  for (auto _ : state)
    benchmark::DoNotOptimize(eval.evaluate(points, progress).front().loss);
  const double sweeps = double(state.iterations());
  state.counters["tokens_per_s"] =
      benchmark::Counter(sweep_tokens() * sweeps, benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(sweep_flops(m.config()) * sweeps / 1e9, benchmark::Counter::kIsRate);
  state.counters["workers"] = eval.last_workers();
  m.clear_lora_bank();
}

// Plain float32 GEMM of the model's typical shape: [tokens, d] × [d, 4d].
struct Gemm {
  explicit Gemm(int64_t n)
      : a(torch::randn({2048, n})),
        b(torch::randn({n, 4 * n})),
        flops(2.0 * 2048 * double(n) * 4 * double(n)) {}
  void run() const { benchmark::DoNotOptimize(torch::mm(a, b).data_ptr()); }
  at::Tensor a, b;
  double flops;
};

void BM_Gemm(benchmark::State& state) {
  const Gemm g(state.range(0));
  for (auto _ : state)
    g.run();
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(g.flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// Wall time of f() and the process's CPU time over it (all threads): CPU ÷ wall near the
// number of compute threads means nothing else ran on the cores meanwhile.
struct Timed {
  double wall = 0, cpu = 0;
  double busy() const { return cpu / wall; }
};
template <class F>
Timed timed(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  f();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
          double(std::clock() - c0) / CLOCKS_PER_SEC};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Issue 12 point 5 on a machine whose clock drifts between runs: each of state.range(0)
// rounds times GEMM, one sweep, GEMM, the other sweep, GEMM (wall time; the bare model and the
// K = 11 bank take turns going first), so bank ÷ bare compares sweeps seconds apart and each
// sweep's rate is divided by the mean GEMM rate of its own round. Counters are the medians,
// minima and maxima over the rounds; each round goes to stderr with CPU ÷ wall of every step.
void BM_SweepInterleaved(benchmark::State& state, std::string name) {
  constexpr int kGemmReps = 20;
  CausalLM& m = model(name);
  const auto bank = random_bank(m, 11);
  const PointEvaluator eval(m, sweep_data(m), kSweepRows);
  const Gemm gemm(m.config().hidden_size);
  const double flops = sweep_flops(m.config());
  jobs::NullProgress progress;
  const auto time_gemm = [&] {
    return timed([&] {
      for (int i = 0; i < kGemmReps; ++i)
        gemm.run();
    });
  };
  const auto time_sweep = [&](bool with_bank) {
    if (with_bank)
      m.set_lora_bank(bank);
    else
      m.clear_lora_bank();
    const auto points = sweep_points(with_bank ? int64_t(bank.size()) : 0);
    return timed([&] { benchmark::DoNotOptimize(eval.evaluate(points, progress).front().loss); });
  };
  std::vector<double> overhead, bank_share, bare_share, gemm_rate;
  for (auto _ : state) {
    gemm.run();  // warm-up
    for (int64_t r = 0; r < state.range(0); ++r) {
      const bool bank_first = r % 2 == 1;
      const Timed g0 = time_gemm(), s0 = time_sweep(bank_first), g1 = time_gemm(),
                  s1 = time_sweep(!bank_first), g2 = time_gemm();
      const Timed &bank_t = bank_first ? s0 : s1, &bare_t = bank_first ? s1 : s0;
      const auto gflops = [&](const Timed& g) { return kGemmReps * gemm.flops / 1e9 / g.wall; };
      const double g = (gflops(g0) + gflops(g1) + gflops(g2)) / 3;
      const double bank_rate = flops / bank_t.wall / 1e9, bare_rate = flops / bare_t.wall / 1e9;
      overhead.push_back(bank_t.wall / bare_t.wall);
      bank_share.push_back(bank_rate / g);
      bare_share.push_back(bare_rate / g);
      gemm_rate.push_back(g);
      std::fprintf(stderr,
                   "round %lld (%s first): GEMM %.0f %.0f %.0f GFLOP/s (CPU/wall %.2f %.2f %.2f) "
                   "| bare %.2f s, %.0f GFLOP/s, %.2f of GEMM (CPU/wall %.2f) | bank %.2f s, "
                   "%.0f GFLOP/s, %.2f of GEMM (CPU/wall %.2f) | bank/bare %.3f\n",
                   static_cast<long long>(r + 1), bank_first ? "bank" : "bare", gflops(g0),
                   gflops(g1), gflops(g2), g0.busy(), g1.busy(), g2.busy(), bare_t.wall, bare_rate,
                   bare_share.back(), bare_t.busy(), bank_t.wall, bank_rate, bank_share.back(),
                   bank_t.busy(), overhead.back());
    }
  }
  m.clear_lora_bank();
  const auto report = [&](const std::string& key, const std::vector<double>& v) {
    state.counters[key + "_med"] = median(v);
    state.counters[key + "_min"] = *std::min_element(v.begin(), v.end());
    state.counters[key + "_max"] = *std::max_element(v.begin(), v.end());
  };
  report("bank_over_bare", overhead);
  report("bank_share_of_gemm", bank_share);
  report("bare_share_of_gemm", bare_share);
  report("gemm_GFLOP_per_s", gemm_rate);
  state.counters["workers"] = eval.last_workers();
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
  benchmark::RegisterBenchmark("SweepInterleaved/qwen2-0.5b", BM_SweepInterleaved,
                               std::string("qwen2-0.5b"))
      ->Arg(5)
      ->Iterations(1)
      ->Unit(benchmark::kSecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
