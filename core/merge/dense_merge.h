// The trim/drop merges on dense task tensors τ_i = w_i s_i B_i A_i of one module (ties,
// dare_linear, dare_ties, magnitude_prune; DESIGN.md "Merge semantics"). The result is the
// dense merged ΔW [out, in], float32; merge.cpp re-factorises it to rank r.
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

#include "merge/merge.h"
#include "merge/merge_recipe.h"

namespace basin {

// The route used: per adapter one GEMM and one pass that scales τ_i and finds its exact trim
// threshold (kth_largest_magnitude), then one fused pass over the entries that trims or
// drops, elects signs and takes the disjoint mean, touching each τ_i once.
// The N task tensors are kept between the passes while they fit in `cache_bytes`; past it they
// are recomputed per row block (a few [out, in] buffers however many adapters there are).
constexpr int64_t kDenseCacheBytes = int64_t(512) << 20;
at::Tensor dense_merge(const std::vector<MergeInput>& in, const MergeRecipe& recipe,
                       int64_t cache_bytes = kDenseCacheBytes);

// The route before issue 12 (torch::kthvalue over all out×in entries, whole-tensor ops per
// adapter), kept only so the benchmark measures the ratio in one run.
at::Tensor dense_merge_reference(const std::vector<MergeInput>& in, const MergeRecipe& recipe);

}  // namespace basin
