// Landscape benchmarks (Google Benchmark) on the demo kit (BASIN_KIT, default ./basin-kit;
// build it with `basin-cli demo-kit --size small --out basin-kit`):
//  - a 28-pair × 11-point connectivity matrix (8 models: the sentiment adapter, its 3 seeds
//    and 3 ranks, and the base model): wall time, peak RSS, forward passes;
//  - 11 points of one sweep evaluated as one batch of coefficient rows vs each point on its
//    own (one evaluate call per point) vs copying the weights and merging each point
//    (the route Basin avoids). Ratios are reported in docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "jobs/progress.h"
#include "landscape/sweep.h"
#include "landscape/workbench.h"
#include "lora/peft_io.h"
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

void BM_Connectivity28Pairs11Points(benchmark::State& state) {
  auto& wb = bench();
  auto ends = bank_endpoints(wb.labels);
  ends.push_back({"base", Point(wb.labels.size(), 0.0)});
  const auto alphas = sweep_alphas({0.0, 1.0, 10});
  int64_t passes = 0;
  for (auto _ : state) {
    const auto ev = wb.evaluator();
    jobs::NullProgress p;
    const auto r = connectivity(ev, ends, alphas, p);
    benchmark::DoNotOptimize(r.curves.size());
    passes = ev.forward_passes();
  }
  state.counters["pairs"] = double(ConnectivityResult::pair_count(ends.size()));
  state.counters["forward_passes"] = double(passes);
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["examples"] = double(wb.data.examples.size());
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

BENCHMARK(BM_Connectivity28Pairs11Points)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_SweepBatched)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SweepPointByPoint)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SweepCopyAndMerge)->Unit(benchmark::kMillisecond)->MinTime(2.0);

int main(int argc, char** argv) {
  init_runtime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
