// Merging an AdapterSet into one adapter. Every method is a pure function
// AdapterSet × MergeRecipe → Adapter that streams module by module: peak memory is one
// module's dense ΔW (for the trim/drop methods) on top of the inputs' memory maps.
// Semantics: DESIGN.md "Merge semantics"; the PEFT-compatible route (peft_compat.h) follows PEFT
// 0.19–0.20 LoraModel.add_weighted_adapter (see docs/MERGING.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "jobs/progress.h"
#include "lora/adapter.h"
#include "lora/adapter_set.h"
#include "merge/merge_recipe.h"

namespace basin {

// One adapter's share of one module: ΔW_i = scale · B · A, weighted by `weight` in the merge.
struct MergeInput {
  at::Tensor A;  // [r_i, in]
  at::Tensor B;  // [out, r_i]
  double scale = 1.0;
  double weight = 1.0;
  uint64_t stream = 0;  // identifies (module, adapter) for reproducible DARE masks
};

// How ties / dare_* / magnitude_prune build and re-factorise the dense merged ΔW. Fast: exact
// trim thresholds by selection, fused passes, and only the top r eigenpairs of the Gram matrix
// (dense_top_svd_partial: top_eigh, exact; a randomised solver was rejected: see
// merge.cpp). Reference: the route before issue 12 (kthvalue, whole-tensor
// passes, the full eigh of the Gram matrix), kept so the benchmark measures both in one run.
enum class DenseRoute { Fast, Reference };

// A merged module: its factors stored with scale 1 (α = r), so ΔW = B A.
LoraModule merged_module(const std::string& name, at::Tensor A, at::Tensor B);

// Merges one module's inputs; the result has scale 1 (ΔW = B A). `slot_rank` is the rank of
// PEFT's merged slot in peft_compat mode (0 otherwise). Throws InputError naming `module`.
LoraModule merge_module(const std::string& module, const std::vector<MergeInput>& inputs,
                        const MergeRecipe& recipe, int64_t slot_rank = 0,
                        DenseRoute route = DenseRoute::Fast);

// Merges the whole set. Modules an adapter lacks count as zero for that adapter. The result
// carries provenance in `metadata` (method, weights, inputs with their SHA-256).
Adapter merge(const AdapterSet& set, const MergeRecipe& recipe, jobs::Progress& progress,
              DenseRoute route = DenseRoute::Fast);

// Provenance written into a merged adapter's __metadata__.
std::map<std::string, std::string> merge_provenance(const AdapterSet& set,
                                                    const MergeRecipe& recipe);

}  // namespace basin
