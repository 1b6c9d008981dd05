#include "merge/merge.h"

#include <atomic>
#include <cmath>
#include <mutex>

#include <nlohmann/json.hpp>

#include "jobs/parallel.h"
#include "lora/peft_io.h"
#include "merge/dense_merge.h"
#include "merge/low_rank.h"
#include "merge/sparsify.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace basin {
namespace {

using torch::indexing::Slice;

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

LoraModule make_module(const std::string& name, at::Tensor A, at::Tensor B) {
  LoraModule m;
  m.name = name;
  m.A = A.contiguous();
  m.B = B.contiguous();
  m.alpha = static_cast<double>(m.A.size(0));
  m.scale = 1.0;
  return m;
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
      return make_module(module, torch::cat(As, 0), torch::cat(Bs, 1));
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
      return make_module(module, A, B);
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
      return make_module(module, f.A, f.B);
    }
    default: {
      const int64_t rank = recipe.rank > 0 ? recipe.rank : sum_ranks(in);
      const bool fast = route == DenseRoute::Fast;
      const auto dense = fast ? dense_merge(in, recipe) : dense_merge_reference(in, recipe);
      // The exact truncation on both routes: real merged ΔW have no spectral gap at r (the
      // sample set's σ_{r+1}/σ_r is 0.96–0.9995), where the randomised solver's factors differ
      // from the exact ones by up to half of max|ΔW| — near-optimal, but not the same merge.
      const auto svd = dense_top_svd(dense, rank);
      const auto f = factors_from_svd(svd, rank, {});
      return make_module(module, f.A, f.B);
    }
  }
}

// --- PEFT-compatible route (PEFT 0.19 add_weighted_adapter) ------------------------------

// PEFT's merge of one factor list (merge_utils.py): prune each tensor, vote signs on the
// unweighted tensors, then weight and combine.
at::Tensor peft_combine(const std::vector<at::Tensor>& tensors, const std::vector<double>& w,
                        const std::vector<MergeInput>& in, const MergeRecipe& recipe,
                        uint64_t side) {
  std::vector<at::Tensor> pruned;
  for (size_t i = 0; i < tensors.size(); ++i) {
    at::Tensor t = f32(tensors[i]);
    if (recipe.density < 1.0) {
      if (recipe.method == MergeMethod::Ties || recipe.method == MergeMethod::MagnitudePrune) {
        t = magnitude_trim(t, recipe.density);
      } else if (recipe.method == MergeMethod::DareLinear ||
                 recipe.method == MergeMethod::DareTies) {
        t = t * dare_keep_mask(t.sizes(), recipe.density, recipe.seed, in[i].stream * 2 + side) /
            recipe.density;
      }
    }
    pruned.push_back(t);
  }
  const auto stacked = torch::stack(pruned, 0);
  const auto wt = torch::tensor(w, torch::kFloat64).to(torch::kFloat32).view({-1, 1, 1});
  if (recipe.method == MergeMethod::Ties || recipe.method == MergeMethod::DareTies) {
    const auto elected = elect_sign(stacked, recipe.majority_sign);
    const auto agree = (stacked.sign() == elected.unsqueeze(0)).to(torch::kFloat32);
    return (stacked * wt * agree).sum(0) / agree.sum(0).clamp_min(1.0);
  }
  return (stacked * wt).sum(0);
}

LoraModule merge_peft(const std::string& module, const std::vector<MergeInput>& in,
                      const MergeRecipe& recipe, int64_t slot_rank) {
  const int64_t out = in.front().B.size(0), inf = in.front().A.size(1);
  switch (recipe.method) {
    case MergeMethod::Cat: {
      // Weight and scale go on A; the slot of rank Σ r_i is zero where an adapter is missing.
      auto A = torch::zeros({slot_rank, inf}, torch::kFloat32);
      auto B = torch::zeros({out, slot_rank}, torch::kFloat32);
      int64_t pos = 0;
      for (const auto& x : in) {
        const int64_t r = x.A.size(0);
        if (pos + r > slot_rank)
          throw InputError("module '" + module + "' has more rank than its config's r allows");
        A.index_put_({Slice(pos, pos + r)}, f32(x.A) * static_cast<float>(x.weight * x.scale));
        B.index_put_({Slice(), Slice(pos, pos + r)}, f32(x.B));
        pos += r;
      }
      return make_module(module, A, B);
    }
    case MergeMethod::Svd: {
      // PEFT multiplies by weight · scaling and get_delta_weight scales again: c_i = w_i s_i².
      std::vector<at::Tensor> As, Bs;
      std::vector<double> coeffs;
      for (const auto& x : in) {
        As.push_back(x.A);
        Bs.push_back(x.B);
        coeffs.push_back(x.weight * x.scale * x.scale);
      }
      const auto svd = low_rank_svd(Bs, As, coeffs, slot_rank);
      // PEFT's slot has rank new_rank even where ΔW has less; the extra directions are zero.
      auto f = factors_from_svd(svd, slot_rank, recipe.clamp);
      if (f.A.size(0) < slot_rank) {
        const int64_t pad = slot_rank - f.A.size(0);
        f.A = torch::cat({f.A, torch::zeros({pad, inf}, torch::kFloat32)}, 0);
        f.B = torch::cat({f.B, torch::zeros({out, pad}, torch::kFloat32)}, 1);
      }
      return make_module(module, f.A, f.B);
    }
    case MergeMethod::TaskArithmetic:
      throw InputError("PEFT's add_weighted_adapter has no task_arithmetic");
    default: {
      // linear, ties, dare_*, magnitude_prune act on factor entries: √|w s| on both factors,
      // the sign of w s on A only (PEFT #2918).
      require_equal_ranks(module, in, recipe);
      std::vector<at::Tensor> As, Bs;
      std::vector<double> wa, wb;
      for (const auto& x : in) {
        const double ws = x.weight * x.scale;
        const double root = std::sqrt(std::abs(ws));
        As.push_back(x.A);
        Bs.push_back(x.B);
        wa.push_back(ws >= 0 ? root : -root);
        wb.push_back(root);
      }
      auto A = peft_combine(As, wa, in, recipe, 0);
      auto B = peft_combine(Bs, wb, in, recipe, 1);
      return make_module(module, A, B);
    }
  }
}

}  // namespace

LoraModule merge_module(const std::string& module, const std::vector<MergeInput>& inputs,
                        const MergeRecipe& recipe, int64_t slot_rank, DenseRoute route) {
  if (inputs.empty()) throw InputError("no adapter has module '" + module + "'");
  LoraModule m = recipe.peft_compat ? merge_peft(module, inputs, recipe, slot_rank)
                                    : merge_exact(module, inputs, recipe, route);
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

  // PEFT sizes the merged slot from the configs' r (max with rank_pattern), not the tensors.
  int64_t slot_rank = 0;
  if (recipe.peft_compat) {
    std::vector<int64_t> ranks;
    for (size_t i = 0; i < set.size(); ++i) {
      int64_t r = set[i].config.r;
      for (const auto& [k, v] : set[i].config.rank_pattern)
        r = std::max(r, v);
      ranks.push_back(r);
    }
    if (recipe.method == MergeMethod::Cat) {
      for (auto r : ranks)
        slot_rank += r;
    } else if (recipe.method == MergeMethod::Svd) {
      slot_rank = recipe.rank > 0 ? recipe.rank : *std::max_element(ranks.begin(), ranks.end());
    } else {
      for (auto r : ranks)
        if (r != ranks.front())
          throw InputError(std::string(method_name(recipe.method)) +
                           " with --peft-compat needs every adapter's r to be equal, got " +
                           std::to_string(ranks.front()) + " and " + std::to_string(r));
      slot_rank = ranks.front();
    }
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
  size_t done = 0;
  std::mutex done_mu;  // reports in order, whichever worker finishes
  progress.report(0.0, stage);
  jobs::parallel_tasks(
      modules.size(), compute_threads(), [&](size_t mi, const std::atomic<bool>& stop) {
        if (stop.load()) return;
        progress.check_cancelled();
        std::vector<MergeInput> inputs;
        for (size_t ai = 0; ai < set.size(); ++ai) {
          const LoraModule* m = set[ai].find(modules[mi].name);
          if (!m) continue;
          inputs.push_back(
              {m->A, m->B, m->scale, weights[ai], static_cast<uint64_t>(mi) * 1000003u + ai});
        }
        out.modules[mi] = merge_module(modules[mi].name, inputs, recipe, slot_rank, route);
        const std::lock_guard<std::mutex> lock(done_mu);
        progress.report(double(++done) / double(modules.size()), stage);
      });
  progress.report(1.0, stage);
  out.metadata = merge_provenance(set, recipe);
  // The config describes the merged modules as save_peft_adapter will write them.
  const PeftLoraConfig cfg = config_for_save(out);
  out.config.r = cfg.r;
  out.config.lora_alpha = cfg.lora_alpha;
  out.config.rank_pattern = cfg.rank_pattern;
  out.config.alpha_pattern = cfg.alpha_pattern;
  out.config.target_modules = cfg.target_modules;
  return out;
}

}  // namespace basin
