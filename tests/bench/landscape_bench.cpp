// Landscape and study benchmarks (Google Benchmark) on the demo kit (BASIN_KIT, default
// ./basin-kit; build it with `basin-cli demo-kit --out basin-kit`). Each study runs on both
// routes in the same process — /0 is the reference route (EvalRoute::kReference: rows point by
// point, whole-vocabulary logits at every position, the whole bank in every batch, one prompt
// at a time when decoding) and /1 the default route (EvalRoute::kBank) — so
// docs/PERFORMANCE.md reports ratios measured on the same machine at the same time:
//  - a 28-pair × 11-point connectivity matrix (8 models: the sentiment adapter, its 3 seeds
//    and 3 ranks, and the base model; 32 validation examples): wall time, peak RSS, passes;
//  - a 21 × 21 loss surface through three seeds; a greedy soup of 4 seeds;
//  - CKA features of those 8 models on 428 prompts of the seven tasks;
//  - the multitask study at 3/5/7 tasks × 20 test examples with every merge method and soup;
//  - 11 points of one sweep as one batch vs one evaluate call per point vs copying the weights
//    and merging each point (the route Basin avoids).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "analysis/cosine_similarity.h"
#include "jobs/progress.h"
#include "landscape/features.h"
#include "landscape/multitask.h"
#include "landscape/soup.h"
#include "landscape/surface.h"
#include "landscape/sweep.h"
#include "landscape/workbench.h"
#include "lora/peft_io.h"
#include "merge/merge_recipe.h"
#include "util/runtime.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

fs::path kit_dir() {
  const char* env = std::getenv("BASIN_KIT");
  return env ? fs::path(env) : fs::path("basin-kit");
}

Workbench& bench() {
  static std::unique_ptr<Workbench> wb;
  if (!wb) {
    const fs::path kit = kit_dir();
    if (!fs::exists(kit / "kit.json")) {
      std::cerr << "no demo kit at " << kit << " (set BASIN_KIT)\n";
      std::exit(2);
    }
    std::vector<std::shared_ptr<const Adapter>> adapters;
    for (const char* name : {"sentiment", "sentiment-seed1", "sentiment-seed2", "sentiment-seed3",
                             "sentiment-r2", "sentiment-r4", "sentiment-r16"})
      adapters.push_back(load_peft_adapter(kit / "adapters" / name));
    LandscapeSetup s;
    s.model = kit / "model";
    s.tasks = {kit / "tasks" / "sentiment.json"};
    s.split = "validation";
    s.limit = 32;
    jobs::NullProgress p;
    wb = Workbench::open(s, adapters, p);
  }
  return *wb;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

EvalRoute route_of(const benchmark::State& state) {
  return state.range(0) == 0 ? EvalRoute::kReference : EvalRoute::kBank;
}

// /0 the reference route, /1 the default (kBank, each projection's LoRA route by cost), /2
// kBank with the bank's rank rows forced everywhere (the default before the cost formula).
PointEvaluator evaluator_of(const benchmark::State& state) {
  auto ev = bench().evaluator(64, route_of(state));
  if (state.range(0) == 2) ev.set_lora_route(LmForwardOptions::LoraRoute::kBankRows);
  return ev;
}

void BM_Connectivity28Pairs11Points(benchmark::State& state) {
  auto& wb = bench();
  auto ends = bank_endpoints(wb.labels);
  ends.push_back({"base", Point(wb.labels.size(), 0.0)});
  const auto alphas = sweep_alphas({0.0, 1.0, 10});
  int64_t passes = 0;
  double first_cell = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto ev = evaluator_of(state);
    jobs::NullProgress p;
    const auto r = connectivity(ev, ends, alphas, p, [&](const ConnectivityResult& partial) {
      if (partial.curves.size() == 1)
        first_cell = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
    benchmark::DoNotOptimize(r.curves.size());
    passes = ev.forward_passes();
  }
  state.counters["first_cell_s"] = first_cell;
  state.counters["pairs"] = double(ConnectivityResult::pair_count(ends.size()));
  state.counters["forward_passes"] = double(passes);
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["examples"] = double(wb.data.examples.size());
}

void BM_Surface21x21(benchmark::State& state) {
  auto& wb = bench();
  const auto ends = bank_endpoints(wb.labels);
  jobs::NullProgress p;
  const auto gram = bank_gram(wb.adapters, p);
  for (auto _ : state) {
    const auto ev = evaluator_of(state);
    benchmark::DoNotOptimize(loss_surface(ev, {ends[0], ends[1], ends[2]}, gram, {21, 0.25}, p));
  }
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

void BM_GreedySoup4Seeds(benchmark::State& state) {
  auto& wb = bench();
  const std::vector<std::string> names(wb.labels.begin(), wb.labels.begin() + 4);
  for (auto _ : state) {
    const auto ev = evaluator_of(state);
    jobs::NullProgress p;
    const auto soup = greedy_soup(names, evaluator_loss(ev, p), p);
    benchmark::DoNotOptimize(soup.loss);
  }
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

const std::vector<const char*> kTasks = {"headline",   "translate", "qa",     "sentiment",
                                         "entailment", "topic",     "antonym"};

void BM_Cka8Models428Inputs(benchmark::State& state) {
  auto& wb = bench();
  std::vector<TaskSpec> tasks;
  for (const char* t : kTasks)
    tasks.push_back(TaskSpec::load(kit_dir() / "tasks" / (std::string(t) + ".json")));
  const auto inputs = select_inputs(tasks, "validation", 428, 0);
  auto points = bank_endpoints(wb.labels);
  std::vector<Point> pts;
  for (const auto& e : points)
    pts.push_back(e.coeffs);
  pts.push_back(Point(wb.labels.size(), 0.0));
  for (auto _ : state) {
    jobs::NullProgress p;
    benchmark::DoNotOptimize(
        pooled_features(wb.model, wb.tokenizer, inputs, -1, pts, p, 32, route_of(state)));
  }
  state.counters["inputs"] = double(inputs.size());
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

void BM_MultitaskStudy3_5_7Tasks(benchmark::State& state) {
  auto& wb = bench();
  const fs::path kit = kit_dir();
  std::vector<TaskSpec> tasks;
  std::vector<std::shared_ptr<const Adapter>> adapters;
  for (const char* t : kTasks) {
    tasks.push_back(TaskSpec::load(kit / "tasks" / (std::string(t) + ".json")));
    adapters.push_back(load_peft_adapter(kit / "adapters" / t));
  }
  MultitaskOptions o;
  o.methods = method_names();
  o.methods.push_back("soup");
  o.task_counts = {3, 5, 7};
  o.limit = 20;
  o.route = route_of(state);
  CausalLM model = wb.model;
  for (auto _ : state) {
    jobs::NullProgress p;
    benchmark::DoNotOptimize(multitask_study(model, wb.tokenizer, tasks, adapters, o, p));
  }
  state.counters["methods"] = double(o.methods.size());
  state.counters["peak_rss_MB"] = peak_rss_mb();
}

// The 11 points of the sentiment ↔ sentiment-seed1 path.
std::vector<Point> sweep_points() {
  const auto alphas = sweep_alphas({0.0, 1.0, 10});
  std::vector<Point> pts;
  for (double a : alphas) {
    Point c(bench().labels.size(), 0.0);
    c[0] = a;
    c[1] = 1 - a;
    pts.push_back(c);
  }
  return pts;
}

void BM_SweepBatched(benchmark::State& state) {
  auto& wb = bench();
  const auto pts = sweep_points();
  for (auto _ : state) {
    const auto ev = wb.evaluator();
    jobs::NullProgress p;
    benchmark::DoNotOptimize(ev.evaluate(pts, p));
  }
}

void BM_SweepPointByPoint(benchmark::State& state) {
  auto& wb = bench();
  const auto pts = sweep_points();
  for (auto _ : state) {
    const auto ev = wb.evaluator();
    jobs::NullProgress p;
    for (const auto& pt : pts)
      benchmark::DoNotOptimize(ev.evaluate({pt}, p));
  }
}

// The naïve route: copy the base weights and merge each point's ΔW, then score with no bank.
void BM_SweepCopyAndMerge(benchmark::State& state) {
  auto& wb = bench();
  const auto pts = sweep_points();
  for (auto _ : state) {
    for (const auto& pt : pts) {
      CausalLM m = wb.model;
      m.clear_lora_bank();
      for (auto& [name, t] : m.parameters())
        t = t.clone();
      for (size_t k = 0; k < pt.size(); ++k)
        if (pt[k] != 0) m.merge_adapter(*wb.adapters[k], pt[k]);
      const PointEvaluator ev(m, wb.data);
      jobs::NullProgress p;
      benchmark::DoNotOptimize(ev.evaluate({Point{}}, p));
    }
  }
}

}  // namespace

// Reference route first (/0), then the default route (/1), then (where an evaluator runs) the
// default with the bank's rank rows forced (/2); one iteration each (seconds).
BENCHMARK(BM_Connectivity28Pairs11Points)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
BENCHMARK(BM_Surface21x21)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_GreedySoup4Seeds)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_Cka8Models428Inputs)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_MultitaskStudy3_5_7Tasks)->Arg(0)->Arg(1)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_SweepBatched)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SweepPointByPoint)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SweepCopyAndMerge)->Unit(benchmark::kMillisecond)->MinTime(2.0);

int main(int argc, char** argv) {
  // BASIN_BENCH_THREADS=1 keeps OpenMP from spinning on a core another process holds (on a
  // shared machine the two routes then see the same contention).
  RuntimeOptions ro;
  if (const char* t = std::getenv("BASIN_BENCH_THREADS")) ro.threads = std::atoi(t);
  init_runtime(ro);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
