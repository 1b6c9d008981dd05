// Merge benchmarks (Google Benchmark). Ratios are against the dense route measured in the same
// run; see docs/PERFORMANCE.md. Run: build/release/tests/bench/basin_bench
//   WholeSet/*   a Qwen2-0.5B-shaped set (24 layers × 7 projections, 8 adapters) merged end to
//                end from files: seconds, peak RSS vs input bytes. Runs first, so the process's
//                peak RSS is its own.
//   SvdMerge/*   8 adapters of rank 16 to rank-16 factors: low-rank route vs dense route
//                (dense ΔW + full SVD), on every projection of one Qwen2-1.5B layer and on one
//                4096×4096 projection; lowrank_dW/* also rebuilds the dense ΔW from the factors.
//   DenseModule/<method>/<fast|reference>/<projection>: one module of layer 0 of the same
//                sample set through the trim/drop merges' fast route and the route before
//                issue 12; the fast rows carry the ΔW difference between the routes and the
//                fast truncation's difference to the float64 SVD truncation (eig_rel_err).
//   EigenStep/<solver>/<projection>: the re-factorisation's eigen step alone, the top r = 128
//                pairs of the float64 Gram matrix of layer 0's ties-merged module: top_eigh
//                (the fast route's), ?syevr over the index range (its fallback and the route
//                of 6fc197b) and the full eigh (the reference route's).
// BASIN_BENCH_THREADS=1 runs on one thread (both routes then see the same contention).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "merge/dense_merge.h"
#include "merge/low_rank.h"
#include "merge/merge.h"
#include "merge/top_eigh.h"
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

// What an SVD merge returns: B = U_r diag(S_r), A = V_rᵀ, from the factors.
Factors low_rank_route(const Problem& p, int64_t rank) {
  return factors_from_svd(low_rank_svd(p.Bs, p.As, p.c, rank), rank, std::nullopt);
}

// The dense route: materialise ΔW (float32), take its full SVD and keep the top r, as PEFT's
// svd merge does.
Factors dense_route(const Problem& p, int64_t rank) {
  at::Tensor dw = torch::zeros({p.Bs[0].size(0), p.As[0].size(1)}, torch::kFloat32);
  for (size_t i = 0; i < p.As.size(); ++i)
    dw.addmm_(p.Bs[i], p.As[i], 1.0, p.c[i]);
  auto [U, S, Vh] = torch::linalg_svd(dw, false);
  return {Vh.narrow(0, 0, rank).contiguous(), U.narrow(1, 0, rank) * S.narrow(0, 0, rank)};
}

at::Tensor delta_of(const Factors& f) {
  return f.B.mm(f.A);
}

std::map<std::string, std::pair<int64_t, int64_t>> shapes() {
  std::map<std::string, std::pair<int64_t, int64_t>> s;
  for (const auto& [name, dims] : layer_projections(model_shape("qwen2-1.5b"), 0))
    s["1.5b_" + leaf_name(name)] = dims;
  s["4096x4096"] = {4096, 4096};
  return s;
}

// lowrank: the factors, as a merge returns them. lowrank_dW: the same, then the dense ΔW
// rebuilt from them ([out, r]×[r, in]), which the timed loop included before issue 12 point 7.
// dense: ΔW, its full SVD, the top-r factors.
enum class SvdRoute { LowRank, LowRankDw, Dense };

void BM_SvdMerge(benchmark::State& state, std::string name, SvdRoute route) {
  const auto [out, in] = shapes().at(name);
  const auto p = make_problem(out, in);
  for (auto _ : state) {
    if (route == SvdRoute::LowRankDw) {
      const auto dw = delta_of(low_rank_route(p, 16));
      benchmark::DoNotOptimize(dw.data_ptr());
    } else {
      const auto f = route == SvdRoute::Dense ? dense_route(p, 16) : low_rank_route(p, 16);
      benchmark::DoNotOptimize(f.A.data_ptr());
    }
  }
  if (route == SvdRoute::LowRank) {
    const auto a = delta_of(low_rank_route(p, 16)).to(torch::kFloat64);
    const auto b = delta_of(dense_route(p, 16)).to(torch::kFloat64);
    state.counters["max_rel_dW_diff"] = ((a - b).abs().max() / b.abs().max()).item<double>();
  }
  state.SetLabel(std::to_string(out) + "x" + std::to_string(in));
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

// The Qwen2-0.5B-shaped sample set (`basin-cli sample`'s defaults, 8 adapters of rank 16),
// written once per run.
const std::vector<fs::path>& sample_paths(double* input_bytes = nullptr) {
  static fs::path dir = fs::temp_directory_path() / "basin-bench-wholeset";
  static std::vector<fs::path> paths;
  static double bytes = 0;
  if (paths.empty()) {
    SampleSetOptions o;
    o.adapters = 8;
    o.ranks = {16};
    jobs::NullProgress np;
    paths = write_sample_set(dir, o, np);
    for (const auto& p : paths)
      bytes += double(fs::file_size(p / kAdapterWeightsFile));
  }
  if (input_bytes) *input_bytes = bytes;
  return paths;
}

void BM_WholeSet(benchmark::State& state, MergeMethod method, DenseRoute route) {
  double input_bytes = 0;
  const auto& paths = sample_paths(&input_bytes);
  const double rss_before = peak_rss_mb();
  for (auto _ : state) {
    jobs::NullProgress np;
    AdapterSet set;
    for (const auto& p : paths)
      set.add(load_peft_adapter(p));
    MergeRecipe r;
    r.method = method;
    r.density = 0.2;
    Adapter m = merge(set, r, np, route);
    SaveOptions so;
    so.overwrite = true;
    save_peft_adapter(m, paths.front().parent_path() / "merged", so);
  }
  state.counters["input_MB"] = input_bytes / 1e6;
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["rss_before_MB"] = rss_before;
}

// Layer 0's module `leaf` of the sample set, as merge() hands it to merge_module.
std::vector<MergeInput> sample_module(const std::string& leaf) {
  static std::map<std::string, std::vector<MergeInput>> cache;
  if (auto it = cache.find(leaf); it != cache.end()) return it->second;
  AdapterSet set;
  for (const auto& p : sample_paths())
    set.add(load_peft_adapter(p));
  const auto& modules = set.modules();
  for (size_t mi = 0; mi < modules.size(); ++mi) {
    if (modules[mi].name.find("layers.0.") == std::string::npos ||
        leaf_name(modules[mi].name) != leaf)
      continue;
    std::vector<MergeInput> in;
    for (size_t ai = 0; ai < set.size(); ++ai) {
      const LoraModule* m = set[ai].find(modules[mi].name);
      in.push_back(
          {m->A.clone(), m->B.clone(), m->scale, 1.0, static_cast<uint64_t>(mi) * 1000003u + ai});
    }
    return cache[leaf] = in;
  }
  throw std::runtime_error("no layer-0 module " + leaf);
}

at::Tensor product(const LoraModule& m) {
  return m.B.to(torch::kFloat64).mm(m.A.to(torch::kFloat64));
}

void BM_DenseModule(benchmark::State& state, MergeMethod method, DenseRoute route,
                    std::string leaf) {
  const auto in = sample_module(leaf);
  MergeRecipe r;
  r.method = method;
  r.density = 0.2;
  for (auto _ : state) {
    auto m = merge_module(leaf, in, r, 0, route);
    benchmark::DoNotOptimize(m.A.data_ptr());
  }
  if (route == DenseRoute::Fast) {
    // ΔW of the two routes, and the fast route's truncation (top-r eigenpairs by top_eigh)
    // against the exact rank-r truncation (float64 SVD) of the same dense matrix; gap =
    // σ_{r+1} / σ_r there.
    const auto fast = product(merge_module(leaf, in, r, 0, DenseRoute::Fast));
    const auto ref = product(merge_module(leaf, in, r, 0, DenseRoute::Reference));
    state.counters["max_rel_dW_diff"] = ((fast - ref).abs().max() / ref.abs().max()).item<double>();
    const int64_t rank = int64_t(in.size()) * in.front().A.size(0);
    const auto dense = dense_merge(in, r);
    const auto svd = dense_top_svd_partial(dense, rank);
    const auto got = svd.U.mm(torch::diag(svd.S)).mm(svd.V.t());
    auto [U, S, Vh] = torch::linalg_svd(dense.to(torch::kFloat64), false);
    if (rank < S.size(0)) {
      const auto exact =
          (U.narrow(1, 0, rank) * S.narrow(0, 0, rank).unsqueeze(0)).mm(Vh.narrow(0, 0, rank));
      state.counters["eig_rel_err"] =
          ((got - exact).abs().max() / exact.abs().max()).item<double>();
      state.counters["gap"] = (S[rank] / S[rank - 1]).item<double>();
    }
  }
  state.SetLabel(std::to_string(in.front().B.size(0)) + "x" + std::to_string(in.front().A.size(1)));
}

enum class EigenSolver { TopEigh, Syevr, FullEigh };

void BM_EigenStep(benchmark::State& state, EigenSolver solver, std::string leaf) {
  const auto in = sample_module(leaf);
  MergeRecipe r;
  r.method = MergeMethod::Ties;
  r.density = 0.2;
  const auto M = dense_merge(in, r);
  const auto X = M.size(0) <= M.size(1) ? M : M.t();  // the smaller side's Gram, as merges do
  const auto G32 = X.mm(X.t());
  const auto G = ((G32 + G32.t()) * 0.5).to(torch::kFloat64);
  const int64_t rank = int64_t(in.size()) * in.front().A.size(0);
  bool certified = true;
  for (auto _ : state) {
    if (solver == EigenSolver::FullEigh) {
      auto [values, vectors] = torch::linalg_eigh(G, "L");
      benchmark::DoNotOptimize(vectors.data_ptr());
    } else {
      const auto e = solver == EigenSolver::TopEigh ? top_eigh(G, rank) : top_eigh_syevr(G, rank);
      certified = e.route == TopEigh::Route::Twisted;
      benchmark::DoNotOptimize(e.vectors.data_ptr());
    }
  }
  if (solver == EigenSolver::TopEigh) state.counters["certified"] = certified;
  state.SetLabel(std::to_string(G.size(0)) + "x" + std::to_string(G.size(1)) + ", top " +
                 std::to_string(rank));
}

}  // namespace

int main(int argc, char** argv) {
  RuntimeOptions ro;
  if (const char* t = std::getenv("BASIN_BENCH_THREADS")) ro.threads = std::atoi(t);
  init_runtime(ro);
  const auto fast = DenseRoute::Fast, reference = DenseRoute::Reference;
  benchmark::RegisterBenchmark("WholeSet/svd", BM_WholeSet, MergeMethod::Svd, fast)
      ->Unit(benchmark::kSecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("WholeSet/ties/fast", BM_WholeSet, MergeMethod::Ties, fast)
      ->Unit(benchmark::kSecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("WholeSet/ties/reference", BM_WholeSet, MergeMethod::Ties, reference)
      ->Unit(benchmark::kSecond)
      ->Iterations(1);
  for (auto method : {MergeMethod::Ties, MergeMethod::DareTies, MergeMethod::DareLinear,
                      MergeMethod::MagnitudePrune}) {
    for (std::string leaf : {"q_proj", "k_proj", "gate_proj", "down_proj"}) {
      for (auto route : {fast, reference}) {
        const std::string name = std::string("DenseModule/") + method_name(method) +
                                 (route == fast ? "/fast/" : "/reference/") + leaf;
        benchmark::RegisterBenchmark(name.c_str(), BM_DenseModule, method, route, leaf)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(route == fast ? 5 : 2);
      }
    }
  }
  for (std::string leaf : {"q_proj", "gate_proj"}) {
    for (auto [solver, name] :
         {std::pair{EigenSolver::TopEigh, "top_eigh"}, std::pair{EigenSolver::Syevr, "syevr"},
          std::pair{EigenSolver::FullEigh, "full_eigh"}}) {
      benchmark::RegisterBenchmark(("EigenStep/" + std::string(name) + "/" + leaf).c_str(),
                                   BM_EigenStep, solver, leaf)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(10);
    }
  }
  for (const auto& [name, dims] : shapes()) {
    benchmark::RegisterBenchmark(("SvdMerge/lowrank/" + name).c_str(), BM_SvdMerge, name,
                                 SvdRoute::LowRank)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("SvdMerge/lowrank_dW/" + name).c_str(), BM_SvdMerge, name,
                                 SvdRoute::LowRankDw)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("SvdMerge/dense/" + name).c_str(), BM_SvdMerge, name,
                                 SvdRoute::Dense)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(name == "4096x4096" ? 1 : 2);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("torch threads: %d\n", torch_threads());
  return 0;
}
