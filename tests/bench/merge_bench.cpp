// Merge benchmarks (Google Benchmark). Ratios are against the dense route measured in the same
// run; see docs/PERFORMANCE.md. Run: build/release/tests/bench/basin_bench
//   WholeSet/*   a Qwen2-0.5B-shaped set (24 layers × 7 projections, 8 adapters) merged end to
//                end from files: seconds, peak RSS vs input bytes. Runs first, so the process's
//                peak RSS is its own.
//   SvdMerge/*   8 adapters of rank 16: low-rank route vs dense route (dense ΔW + full SVD),
//                on every projection of one Qwen2-1.5B layer and on one 4096×4096 projection.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/low_rank.h"
#include "merge/merge.h"
#include "sample/sample_adapters.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace fs = std::filesystem;
using namespace basin;

namespace {

struct Problem {
  std::vector<at::Tensor> As, Bs;
  std::vector<double> c;
};

Problem make_problem(int64_t out, int64_t in, int n = 8, int64_t r = 16) {
  Problem p;
  for (int i = 0; i < n; ++i) {
    auto g = at::detail::createCPUGenerator(1000 + i);
    p.As.push_back(torch::randn({r, in}, g, torch::kFloat32) / std::sqrt(double(in)));
    p.Bs.push_back(torch::randn({out, r}, g, torch::kFloat32) * 0.01);
    p.c.push_back(2.0 / n);
  }
  return p;
}

at::Tensor low_rank_route(const Problem& p, int64_t rank) {
  const auto f = factors_from_svd(low_rank_svd(p.Bs, p.As, p.c), rank, std::nullopt);
  return f.B.mm(f.A);
}

// The dense route: materialise ΔW (float32) and take its full SVD, as PEFT's svd merge does.
at::Tensor dense_route(const Problem& p, int64_t rank) {
  at::Tensor dw = torch::zeros({p.Bs[0].size(0), p.As[0].size(1)}, torch::kFloat32);
  for (size_t i = 0; i < p.As.size(); ++i)
    dw.addmm_(p.Bs[i], p.As[i], 1.0, p.c[i]);
  auto [U, S, Vh] = torch::linalg_svd(dw, false);
  return (U.narrow(1, 0, rank) * S.narrow(0, 0, rank).unsqueeze(0)).mm(Vh.narrow(0, 0, rank));
}

std::map<std::string, std::pair<int64_t, int64_t>> shapes() {
  std::map<std::string, std::pair<int64_t, int64_t>> s;
  for (const auto& [name, dims] : layer_projections(model_shape("qwen2-1.5b"), 0))
    s["1.5b_" + leaf_name(name)] = dims;
  s["4096x4096"] = {4096, 4096};
  return s;
}

std::map<std::string, double> g_max_rel_diff;

void BM_SvdMerge(benchmark::State& state, std::string name, bool dense) {
  const auto [out, in] = shapes().at(name);
  const auto p = make_problem(out, in);
  for (auto _ : state) {
    auto dw = dense ? dense_route(p, 16) : low_rank_route(p, 16);
    benchmark::DoNotOptimize(dw.data_ptr());
  }
  if (!dense) {
    const auto a = low_rank_route(p, 16).to(torch::kFloat64);
    const auto b = dense_route(p, 16).to(torch::kFloat64);
    const double rel = ((a - b).abs().max() / b.abs().max()).item<double>();
    g_max_rel_diff[name] = rel;
    state.counters["max_rel_dW_diff"] = rel;
  }
  state.SetLabel(std::to_string(out) + "x" + std::to_string(in));
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

void BM_WholeSet(benchmark::State& state, MergeMethod method) {
  static fs::path dir;
  static std::vector<fs::path> paths;
  static double input_bytes = 0;
  if (paths.empty()) {
    dir = fs::temp_directory_path() / "basin-bench-wholeset";
    SampleSetOptions o;
    o.adapters = 8;
    o.ranks = {16};
    jobs::NullProgress np;
    paths = write_sample_set(dir, o, np);
    for (const auto& p : paths)
      input_bytes += double(fs::file_size(p / kAdapterWeightsFile));
  }
  const double rss_before = peak_rss_mb();
  for (auto _ : state) {
    jobs::NullProgress np;
    AdapterSet set;
    for (const auto& p : paths)
      set.add(load_peft_adapter(p));
    MergeRecipe r;
    r.method = method;
    r.density = 0.2;
    Adapter m = merge(set, r, np);
    SaveOptions so;
    so.overwrite = true;
    save_peft_adapter(m, dir / "merged", so);
  }
  state.counters["input_MB"] = input_bytes / 1e6;
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["rss_before_MB"] = rss_before;
}

}  // namespace

int main(int argc, char** argv) {
  init_runtime();
  benchmark::RegisterBenchmark("WholeSet/svd", BM_WholeSet, MergeMethod::Svd)
      ->Unit(benchmark::kSecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("WholeSet/ties", BM_WholeSet, MergeMethod::Ties)
      ->Unit(benchmark::kSecond)
      ->Iterations(1);
  for (const auto& [name, dims] : shapes()) {
    benchmark::RegisterBenchmark(("SvdMerge/lowrank/" + name).c_str(), BM_SvdMerge, name, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("SvdMerge/dense/" + name).c_str(), BM_SvdMerge, name, true)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(name == "4096x4096" ? 1 : 2);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("torch threads: %d\n", torch_threads());
  return 0;
}
