#include "merge/peft_compat.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "merge/low_rank.h"
#include "merge/sparsify.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

using torch::indexing::Slice;

at::Tensor f32(const at::Tensor& t) {
  return t.to(torch::kFloat32);
}

bool svd_family(MergeMethod m) {
  return m == MergeMethod::Svd || is_peft_svd_variant(m);
}

// PEFT's merge of one tensor list (merge_utils.py): prune each tensor (magnitude or DARE),
// elect signs on the unweighted tensors, then weight, then sum or take the disjoint mean.
at::Tensor peft_combine(const std::vector<at::Tensor>& tensors, const std::vector<double>& w,
                        const std::vector<MergeInput>& in, const MergeRecipe& recipe,
                        uint64_t side) {
  const MergeMethod m = base_method(recipe.method);
  std::vector<at::Tensor> pruned;
  for (size_t i = 0; i < tensors.size(); ++i) {
    at::Tensor t = f32(tensors[i]);
    if (recipe.density < 1.0) {
      if (m == MergeMethod::Ties || m == MergeMethod::MagnitudePrune) {
        t = magnitude_trim(t, recipe.density);
      } else if (m == MergeMethod::DareLinear || m == MergeMethod::DareTies) {
        // The factor lists draw streams 2·stream + side; the dense ΔW_i (side 2) the exact
        // route's stream, so a *_svd variant drops what the exact dare_* drops.
        const uint64_t stream = side < 2 ? in[i].stream * 2 + side : in[i].stream;
        t = t * dare_keep_mask(t.sizes(), recipe.density, recipe.seed, stream) / recipe.density;
      }
    }
    pruned.push_back(t);
  }
  const auto stacked = torch::stack(pruned, 0);
  std::vector<int64_t> shape(static_cast<size_t>(stacked.dim()), 1);
  shape[0] = -1;
  const auto wt = torch::tensor(w, torch::kFloat64).to(torch::kFloat32).view(shape);
  if (m == MergeMethod::Ties || m == MergeMethod::DareTies) {
    const auto elected = elect_sign(stacked, recipe.majority_sign);
    const auto agree = (stacked.sign() == elected.unsqueeze(0)).to(torch::kFloat32);
    return (stacked * wt * agree).sum(0) / agree.sum(0).clamp_min(1.0);
  }
  return (stacked * wt).sum(0);
}

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string example(const std::vector<std::string>& modules) {
  return modules.size() == 1
             ? "'" + modules.front() + "'"
             : std::to_string(modules.size()) + " modules, e.g. '" + modules.front() + "'";
}

// The config PEFT gives the merged adapter: replace(config of adapters[0], r, lora_alpha,
// target_modules = the union (lists) or "(t1)|(t2)" (strings), rank/alpha patterns emptied).
// Notes where its coverage or scale differs from the adapter Basin writes.
void config_notes(const AdapterSet& set, int64_t new_rank, std::vector<std::string>& notes) {
  const PeftLoraConfig& first = set[0].config;
  const std::string who = "the first adapter ('" + set[0].name + "')";
  if (first.use_rslora)
    notes.push_back("use_rslora: PEFT's merged config copies use_rslora=true from " + who +
                    ", so PEFT would scale the merged adapter by lora_alpha/sqrt(r) = sqrt(" +
                    std::to_string(new_rank) + ") = " + short_number(std::sqrt(double(new_rank))) +
                    " instead of 1 and its ΔW would be that many times Basin's; Basin writes "
                    "use_rslora=false and scale 1");
  bool any_regex = false, any_list = false;
  for (size_t i = 0; i < set.size(); ++i) {
    const bool regex = set[i].config.target_modules_regex.has_value();
    any_regex |= regex;
    any_list |= !regex;
  }
  if (any_regex && any_list) {
    notes.push_back(
        "target_modules: the inputs mix a regex string and a list, which PEFT's "
        "add_weighted_adapter refuses (ValueError); Basin merges them");
    return;
  }
  PeftLoraConfig merged = first;
  merged.rank_pattern.clear();
  merged.alpha_pattern.clear();
  merged.target_modules.clear();
  merged.target_modules_regex.reset();
  if (any_regex) {
    std::string alt;
    for (size_t i = 0; i < set.size(); ++i)
      alt += (i ? "|(" : "(") + *set[i].config.target_modules_regex + ")";
    merged.target_modules_regex = alt;
  } else {
    for (size_t i = 0; i < set.size(); ++i)
      for (const auto& t : set[i].config.target_modules)
        if (std::find(merged.target_modules.begin(), merged.target_modules.end(), t) ==
            merged.target_modules.end())
          merged.target_modules.push_back(t);
  }
  // Which key of the copied config drops each merged module PEFT would not create.
  std::map<std::string, std::vector<std::string>> dropped;
  try {
    for (const auto& shape : set.modules()) {
      const std::string why = merged.untargeted_reason(shape.name);
      if (why.empty()) continue;
      const char* key = why.find("exclude_modules") != std::string::npos   ? "exclude_modules"
                        : why.find("modules_to_save") != std::string::npos ? "modules_to_save"
                        : why.find("layers_to_transform") != std::string::npos
                            ? "layers_to_transform"
                            : "target_modules";
      dropped[key].push_back(shape.name);
    }
  } catch (const InputError& e) {
    notes.push_back(std::string("target_modules: PEFT's merged pattern cannot be checked here (") +
                    e.what() + ")");
    return;
  }
  for (const auto& [key, modules] : dropped) {
    std::string what = key;
    if (key == "layers_to_transform")
      what += first.layers_pattern.empty() ? "" : " (with layers_pattern)";
    notes.push_back(what + ": PEFT's merged config copies " + key + " from " + who +
                    ", so PEFT would create no merged layer for " + example(modules) +
                    "; Basin merges every module its inputs have");
  }
}

}  // namespace

PeftPlan peft_plan(const AdapterSet& set, const MergeRecipe& recipe) {
  PeftPlan plan;
  plan.method = recipe.method;
  if (set.size() == 1 && recipe.method != MergeMethod::Linear) {
    plan.method = MergeMethod::Linear;
    plan.notes.push_back(std::string("method: PEFT's add_weighted_adapter merges a single adapter "
                                     "with linear whatever combination_type is asked, so ") +
                         method_name(recipe.method) + " runs as linear here" +
                         (recipe.clamp ? " and --clamp is ignored" : ""));
  }
  // The slot is sized from the configs' r (the maximum with rank_pattern), not the tensors.
  std::vector<int64_t> ranks;
  for (size_t i = 0; i < set.size(); ++i) {
    int64_t r = set[i].config.r;
    for (const auto& [k, v] : set[i].config.rank_pattern)
      r = std::max(r, v);
    ranks.push_back(r);
  }
  if (plan.method == MergeMethod::Cat) {
    for (auto r : ranks)
      plan.new_rank += r;
  } else if (svd_family(plan.method)) {
    plan.new_rank = recipe.rank > 0 ? recipe.rank : *std::max_element(ranks.begin(), ranks.end());
  } else {
    for (auto r : ranks)
      if (r != ranks.front())
        throw InputError(std::string(method_name(plan.method)) +
                         " with --peft-compat needs every adapter's r to be equal, got " +
                         std::to_string(ranks.front()) + " and " + std::to_string(r));
    plan.new_rank = ranks.front();
  }
  if (svd_family(plan.method)) {
    std::vector<std::string> small;
    for (const auto& m : set.modules())
      if (plan.new_rank > std::min(m.out_features, m.in_features) &&
          m.out_features != m.in_features)
        small.push_back(m.name + " [" + std::to_string(m.out_features) + "x" +
                        std::to_string(m.in_features) + "]");
    if (!small.empty())
      plan.notes.push_back(
          "rank: new_rank " + std::to_string(plan.new_rank) + " exceeds min(out, in) for " +
          example(small) +
          "; with its default svd_full_matrices=True PEFT fails there (U·diag(S) cannot be formed "
          "when out > in; the factors' ranks disagree when out < in). Basin gives "
          "svd_full_matrices=False's factors, zero-padded to rank " +
          std::to_string(plan.new_rank));
  }
  const bool drops = base_method(plan.method) == MergeMethod::DareLinear ||
                     base_method(plan.method) == MergeMethod::DareTies;
  if (drops && recipe.density < 1.0)
    plan.notes.push_back(
        "seed: PEFT draws the DARE masks with torch.bernoulli on torch's global generator; "
        "Basin's come from its seeded hash, so the entries dropped differ (the formulas match)");
  config_notes(set, plan.new_rank, plan.notes);
  return plan;
}

Factors peft_svd_factors(const Svd& svd, int64_t new_rank, int64_t out, int64_t in,
                         std::optional<double> clamp) {
  const int64_t n = std::min({new_rank, out, in});
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto B = torch::zeros({out, n}, f64);
  auto V = torch::zeros({in, n}, f64);
  const int64_t k = std::min<int64_t>(n, svd.S.size(0));
  std::vector<int64_t> missing;
  std::vector<at::Tensor> basis;  // the kept columns of V, orthonormal
  for (int64_t j = 0; j < n; ++j) {
    // A direction the SVD did not resolve comes back as a zero vector (low_rank_svd,
    // dense_top_svd): PEFT's Vh has a unit null-space row there.
    const bool real = j < k && svd.V.select(1, j).norm().item<double>() > 0.5;
    if (!real) {
      missing.push_back(j);
      continue;
    }
    B.select(1, j).copy_(svd.U.select(1, j) * svd.S[j]);
    V.select(1, j).copy_(svd.V.select(1, j));
    basis.push_back(svd.V.select(1, j).to(torch::kFloat64));
  }
  // Orthonormal completion: Gram–Schmidt (twice) of e_0, e_1, … against the basis so far.
  int64_t t = 0;
  for (const int64_t j : missing) {
    for (; t < in; ++t) {
      auto v = torch::zeros({in}, f64);
      v[t] = 1.0;
      for (int pass = 0; pass < 2; ++pass)
        for (const auto& q : basis)
          v -= q * q.dot(v);
      const double norm = v.norm().item<double>();
      if (norm > 1e-3) {  // e_t is not (numerically) in the span
        v /= norm;
        basis.push_back(v);
        V.select(1, j).copy_(v);
        ++t;
        break;
      }
    }
  }
  auto A = V.t().contiguous();
  if (clamp) {
    // PEFT: dist = cat(U.flatten(), Vh.flatten()); hi = torch.quantile(dist, clamp).
    const double hi =
        torch::quantile(torch::cat({B.flatten(), A.flatten()}), *clamp).item<double>();
    B = B.clamp(-hi, hi);
    A = A.clamp(-hi, hi);
  }
  if (n < new_rank) {  // past min(out, in): PEFT's slot keeps zero directions
    B = torch::cat({B, torch::zeros({out, new_rank - n}, f64)}, 1);
    A = torch::cat({A, torch::zeros({new_rank - n, in}, f64)}, 0);
  }
  return {A.to(torch::kFloat32).contiguous(), B.to(torch::kFloat32).contiguous()};
}

LoraModule peft_merge_module(const std::string& module, const std::vector<MergeInput>& in,
                             const MergeRecipe& recipe, int64_t new_rank) {
  const int64_t out = in.front().B.size(0), inf = in.front().A.size(1);
  const MergeMethod method = recipe.method;
  if (method == MergeMethod::Cat) {
    // Weight and scale go on A; the slot of rank Σ r_i is zero where an adapter is missing.
    auto A = torch::zeros({new_rank, inf}, torch::kFloat32);
    auto B = torch::zeros({out, new_rank}, torch::kFloat32);
    int64_t pos = 0;
    for (const auto& x : in) {
      const int64_t r = x.A.size(0);
      if (pos + r > new_rank)
        throw InputError("module '" + module + "' has more rank than its config's r allows");
      A.index_put_({Slice(pos, pos + r)}, f32(x.A) * static_cast<float>(x.weight * x.scale));
      B.index_put_({Slice(), Slice(pos, pos + r)}, f32(x.B));
      pos += r;
    }
    return merged_module(module, A, B);
  }
  if (method == MergeMethod::TaskArithmetic)
    throw InputError("PEFT's add_weighted_adapter has no task_arithmetic");
  if (svd_family(method)) {
    // PEFT weights each ΔW_i = get_delta_weight = s_i B_i A_i by w_i s_i: the scale counts
    // twice (PEFT 0.19–0.20; the fix, PR #3111, is not merged).
    Svd svd;
    if (method == MergeMethod::Svd) {
      std::vector<at::Tensor> As, Bs;
      std::vector<double> coeffs;
      for (const auto& x : in) {
        As.push_back(x.A);
        Bs.push_back(x.B);
        coeffs.push_back(x.weight * x.scale * x.scale);
      }
      svd = low_rank_svd(Bs, As, coeffs, new_rank);
    } else {
      // The trim/drop method on the dense ΔW_i (votes on the unweighted ΔW_i), then the SVD.
      std::vector<at::Tensor> deltas;
      std::vector<double> w;
      for (const auto& x : in) {
        deltas.push_back(f32(x.B).mm(f32(x.A)) * static_cast<float>(x.scale));
        w.push_back(x.weight * x.scale);
      }
      const auto dense = peft_combine(deltas, w, in, recipe, 2);
      svd = dense_top_svd(dense, std::min({new_rank, out, inf}));
    }
    const auto f = peft_svd_factors(svd, new_rank, out, inf, recipe.clamp);
    return merged_module(module, f.A, f.B);
  }
  // linear, ties, dare_*, magnitude_prune act on factor entries: √|w s| on both factors, the
  // sign of w s on A only (PEFT #2918).
  for (const auto& x : in)
    if (x.A.size(0) != in.front().A.size(0))
      throw InputError(std::string(method_name(method)) + " needs equal ranks, but module '" +
                       module + "' has ranks " + std::to_string(in.front().A.size(0)) + " and " +
                       std::to_string(x.A.size(0)));
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
  return merged_module(module, peft_combine(As, wa, in, recipe, 0),
                       peft_combine(Bs, wb, in, recipe, 1));
}

}  // namespace basin
