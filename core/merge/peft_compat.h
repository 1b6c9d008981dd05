// The --peft-compat route: PEFT's LoraModel.add_weighted_adapter as it is in PEFT 0.19 and
// 0.20 (src/peft/tuners/lora/model.py, src/peft/utils/merge_utils.py; the two releases do not
// differ there), and the notes that say where PEFT's own merged adapter would differ from the
// one Basin writes (docs/MERGING.md, section 4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lora/adapter.h"
#include "lora/adapter_set.h"
#include "merge/low_rank.h"
#include "merge/merge.h"
#include "merge/merge_recipe.h"

namespace basin {

struct PeftPlan {
  MergeMethod method = MergeMethod::Svd;  // what PEFT runs: linear for a single adapter
  int64_t new_rank = 0;                   // the merged slot's rank (PEFT's new_rank)
  // Where PEFT's add_weighted_adapter would give another result than the adapter Basin writes,
  // or announce what PEFT does differently from what was asked; each names its field.
  std::vector<std::string> notes;
};

// PEFT's _check_add_weighted_adapter and the config it copies from the first adapter. Throws
// InputError where PEFT raises and Basin cannot follow (unequal r for linear and the trim/drop
// methods).
PeftPlan peft_plan(const AdapterSet& set, const MergeRecipe& recipe);

// One module by PEFT's formulas; `recipe.method` is the plan's method. The result has scale 1.
LoraModule peft_merge_module(const std::string& module, const std::vector<MergeInput>& inputs,
                             const MergeRecipe& recipe, int64_t new_rank);

// The factors _svd_generalized_task_arithmetic_weighted_adapter keeps from ΔW = U diag(S) Vᵀ:
// B = U_n diag(S_n), A = V_nᵀ for n = min(new_rank, out, in) directions, where a direction ΔW
// lacks has a zero B column and an A row from an orthonormal completion of V (PEFT keeps
// LAPACK's null-space rows of Vh there); with `clamp`, both are clipped to ± the clamp-quantile
// of their pooled entries; then zero directions pad the factors to new_rank. float32.
Factors peft_svd_factors(const Svd& svd, int64_t new_rank, int64_t out, int64_t in,
                         std::optional<double> clamp);

}  // namespace basin
