#include "merge/merge.h"

#include <atomic>
#include <cmath>
#include <mutex>

#include <nlohmann/json.hpp>

#include "jobs/parallel.h"
#include "lora/peft_io.h"
#include "merge/dense_merge.h"
#include "merge/low_rank.h"
#include "merge/peft_compat.h"
#include "merge/sparsify.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace basin {
namespace {

at::Tensor f32(const at::Tensor& t) {
  return t.to(torch::kFloat32);
}

void require_equal_ranks(const std::string& module, const std::vector<MergeInput>& in,
                         const MergeRecipe& recipe) {
  for (const auto& x : in)
    if (x.A.size(0) != in.front().A.size(0))
      throw InputError(std::string(method_name(recipe.method)) +
                       " needs equal ranks, but module '" + module + "' has ranks " +
                       std::to_string(in.front().A.size(0)) + " and " +
                       std::to_string(x.A.size(0)) + " (use cat, svd or task_arithmetic)");
}

int64_t sum_ranks(const std::vector<MergeInput>& in) {
  int64_t r = 0;
  for (const auto& x : in)
    r += x.A.size(0);
  return r;
}

int64_t max_rank(const std::vector<MergeInput>& in) {
  int64_t r = 0;
  for (const auto& x : in)
    r = std::max(r, x.A.size(0));
  return r;
}

// --- exact route -------------------------------------------------------------------------

LoraModule merge_exact(const std::string& module, const std::vector<MergeInput>& in,
                       const MergeRecipe& recipe, DenseRoute route) {
  switch (recipe.method) {
    case MergeMethod::Cat: {
      std::vector<at::Tensor> As, Bs;
      for (const auto& x : in) {
        As.push_back(f32(x.A) * static_cast<float>(x.weight * x.scale));
        Bs.push_back(f32(x.B));
      }
      return merged_module(module, torch::cat(As, 0), torch::cat(Bs, 1));
    }
    case MergeMethod::Linear: {
      require_equal_ranks(module, in, recipe);
      at::Tensor A = torch::zeros_like(f32(in.front().A)), B = torch::zeros_like(f32(in.front().B));
      for (const auto& x : in) {
        if (x.scale <= 0)
          throw InputError("linear merge needs positive LoRA scales; module '" + module +
                           "' has scale " + format_double(x.scale));
        const double c = x.weight * std::sqrt(x.scale);
        A.add_(f32(x.A) * c);
        B.add_(f32(x.B) * c);
      }
      return merged_module(module, A, B);
    }
    case MergeMethod::TaskArithmetic:
    case MergeMethod::Svd: {
      std::vector<at::Tensor> As, Bs;
      std::vector<double> coeffs;
      for (const auto& x : in) {
        As.push_back(x.A);
        Bs.push_back(x.B);
        coeffs.push_back(x.weight * x.scale);
      }
      const int64_t rank = recipe.rank > 0                     ? recipe.rank
                           : recipe.method == MergeMethod::Svd ? max_rank(in)
                                                               : sum_ranks(in);
      const auto f = factors_from_svd(low_rank_svd(Bs, As, coeffs, rank), rank, recipe.clamp);
      return merged_module(module, f.A, f.B);
    }
    default: {
      const int64_t rank = recipe.rank > 0 ? recipe.rank : sum_ranks(in);
      // The fast route's kernels read CPU memory; on a CUDA device the reference route's
      // tensor operations run there (the same merge: DenseMerge.FastModuleEqualsTheReference…).
      const bool fast = route == DenseRoute::Fast && in.front().A.is_cpu();
      const auto dense = fast ? dense_merge(in, recipe) : dense_merge_reference(in, recipe);
      // The exact truncation on both routes: real merged ΔW have no spectral gap at r (the
      // sample set's σ_{r+1}/σ_r is 0.96–0.9995), where the randomised solver's factors differ
      // from the exact ones by up to half of max|ΔW| — near-optimal, but not the same merge.
      // The fast route computes only the top r eigenpairs (top_eigh), the reference all.
      const auto svd = fast ? dense_top_svd_partial(dense, rank) : dense_top_svd(dense, rank);
      const auto f = factors_from_svd(svd, rank, {});
      return merged_module(module, f.A, f.B);
    }
  }
}

}  // namespace

LoraModule merge_module(const std::string& module, const std::vector<MergeInput>& inputs,
                        const MergeRecipe& recipe, int64_t slot_rank, DenseRoute route) {
  if (inputs.empty()) throw InputError("no adapter has module '" + module + "'");
  if (!recipe.peft_compat && is_peft_svd_variant(recipe.method))
    throw InputError(std::string(method_name(recipe.method)) + " needs --peft-compat");
  LoraModule m;
  if (recipe.peft_compat) {
    // PEFT's own arithmetic, reproduced on the CPU whatever the compute device.
    std::vector<MergeInput> on_cpu = inputs;
    for (auto& x : on_cpu) {
      x.A = x.A.cpu();
      x.B = x.B.cpu();
    }
    m = peft_merge_module(module, on_cpu, recipe, slot_rank);
  } else {
    m = merge_exact(module, inputs, recipe, route);
  }
  if (!torch::isfinite(m.A).all().item<bool>() || !torch::isfinite(m.B).all().item<bool>())
    throw InputError("merging module '" + module + "' produced NaN/Inf values");
  return m;
}

std::map<std::string, std::string> merge_provenance(const AdapterSet& set,
                                                    const MergeRecipe& recipe) {
  nlohmann::json inputs = nlohmann::json::array();
  const auto w = recipe.effective_weights(set.size());
  for (size_t i = 0; i < set.size(); ++i) {
    const Adapter& a = set[i];
    inputs.push_back({{"name", a.name},
                      {"path", a.path.string()},
                      {"sha256", a.content_hash},
                      {"weight", w[i]}});
  }
  nlohmann::json recipe_json = recipe.to_json();
  recipe_json["weights"] = w;
  return {{"basin.version", BASIN_VERSION},
          {"basin.merge.recipe", recipe_json.dump()},
          {"basin.merge.inputs", inputs.dump()}};
}

Adapter merge(const AdapterSet& set, const MergeRecipe& recipe, jobs::Progress& progress,
              DenseRoute route) {
  recipe.validate(set.size());
  const auto weights = recipe.effective_weights(set.size());
  const auto& modules = set.modules();

  // PEFT's plan: the method it runs (linear for one adapter) and the merged slot's rank.
  MergeRecipe run = recipe;
  int64_t slot_rank = 0;
  std::vector<std::string> peft_notes;
  if (recipe.peft_compat) {
    PeftPlan plan = peft_plan(set, recipe);
    run.method = plan.method;
    if (plan.method != recipe.method) run.clamp.reset();  // PEFT's linear has no clamp
    slot_rank = plan.new_rank;
    peft_notes = std::move(plan.notes);
  }

  Adapter out;
  out.name = recipe.name.empty() ? std::string("merge-") + method_name(recipe.method) : recipe.name;
  out.config.base_model_name_or_path = set[0].config.base_model_name_or_path;
  out.config.task_type = set[0].config.task_type;
  out.config.fan_in_fan_out = set[0].config.fan_in_fan_out;
  out.modules.resize(modules.size());
  const std::string stage = std::string("merging (") + method_name(recipe.method) + ")";
  // Modules are independent: merged side by side, each worker on one compute thread (a
  // module's products are small enough that a second thread inside one costs more in
  // wake-ups than it saves; docs/PERFORMANCE.md, SVD merge). The DARE masks are seeded per
  // module and adapter, so the result does not depend on which worker takes a module.
  // On a CUDA device the modules go one after another (the device runs each module's
  // products; CPU workers would only queue on it), and each merged module comes back to the
  // CPU, where it is written.
  const bool on_cuda = computes_on_cuda() && !recipe.peft_compat;
  const torch::Device device = on_cuda ? torch::Device(compute_device_name()) : torch::kCPU;
  size_t done = 0;
  std::mutex done_mu;  // reports in order, whichever worker finishes
  progress.report(0.0, stage);
  jobs::parallel_tasks(
      modules.size(), on_cuda ? 1 : compute_threads(),
      [&](size_t mi, const std::atomic<bool>& stop) {
        if (stop.load()) return;
        progress.check_cancelled();
        std::vector<MergeInput> inputs;
        for (size_t ai = 0; ai < set.size(); ++ai) {
          const LoraModule* m = set[ai].find(modules[mi].name);
          if (!m) continue;
          inputs.push_back({m->A.to(device), m->B.to(device), m->scale, weights[ai],
                            static_cast<uint64_t>(mi) * 1000003u + ai});
        }
        LoraModule merged = merge_module(modules[mi].name, inputs, run, slot_rank, route);
        merged.A = merged.A.cpu();
        merged.B = merged.B.cpu();
        out.modules[mi] = std::move(merged);
        const std::lock_guard<std::mutex> lock(done_mu);
        progress.report(double(++done) / double(modules.size()), stage);
      });
  progress.report(1.0, stage);
  out.metadata = merge_provenance(set, recipe);
  if (!peft_notes.empty())
    out.metadata["basin.merge.peft_notes"] = nlohmann::json(peft_notes).dump();
  // The config describes the merged modules as save_peft_adapter will write them.
  const PeftLoraConfig cfg = config_for_save(out);
  out.config.r = cfg.r;
  out.config.lora_alpha = cfg.lora_alpha;
  out.config.rank_pattern = cfg.rank_pattern;
  out.config.alpha_pattern = cfg.alpha_pattern;
  out.config.target_modules = cfg.target_modules;
  return out;
}

LoraModule merged_module(const std::string& name, at::Tensor A, at::Tensor B) {
  LoraModule m;
  m.name = name;
  m.A = A.contiguous();
  m.B = B.contiguous();
  m.alpha = static_cast<double>(m.A.size(0));
  m.scale = 1.0;
  return m;
}

}  // namespace basin
