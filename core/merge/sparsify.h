// The element-wise steps of the trim/drop merges, shared by the exact route (on dense ΔW) and
// the PEFT-compatible route (on factor entries).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "merge/merge_recipe.h"
#include "merge/sparsify_kernels.h"

namespace basin {

// TIES "trim" (Yadav et al. 2023, §3 step 1): keep the k = floor(density · numel) entries of
// largest magnitude, zero the rest (entries tied with the k-th largest are all kept).
at::Tensor magnitude_trim(const at::Tensor& t, double density);

// The trim's threshold, exactly the k-th largest |x[j]| of n floats (1 <= k <= n), equal to
// torch::kthvalue(|x|, n - k + 1) without sorting or copying all n: a strided sample brackets
// the threshold, one pass counts the entries above the bracket and gathers those inside, and
// a histogram step then nth_element pick the threshold among the few gathered (Floyd &
// Rivest 1975, SELECT). An unlucky sample only costs a second pass over a wider bracket,
// never exactness.
float kth_largest_magnitude(const float* x, int64_t n, int64_t k);

// The trim's k for n entries, as the trim computes it: floor(density · n).
int64_t trim_count(double density, int64_t n);

// DARE keep-mask (Yu et al. 2024, eq. 2): each entry kept with probability `density`. The
// draw for entry j is a hash of (seed, stream, j), so it is reproducible on any thread count
// and a second pass over the same tensor sees the same mask.
at::Tensor dare_keep_mask(at::IntArrayRef sizes, double density, uint64_t seed, uint64_t stream);

// TIES sign election over stacked task tensors [N, ...] (§3 step 2): sign of the sum (total)
// or of the count of signs (frequency); +1 where the statistic is >= 0, as PEFT does.
at::Tensor elect_sign(const at::Tensor& stacked, MajoritySign method);

// TIES disjoint mean (§3 step 3): per entry, mean of the tensors whose sign agrees with the
// elected sign (zeros never agree); entries with no agreeing tensor are 0.
at::Tensor disjoint_mean(const at::Tensor& stacked, const at::Tensor& elected);

}  // namespace basin
