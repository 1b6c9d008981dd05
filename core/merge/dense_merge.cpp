#include "merge/dense_merge.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "merge/sparsify.h"
#include "merge/sparsify_kernels.h"

namespace basin {
namespace {

at::Tensor f32(const at::Tensor& t) {
  return t.to(torch::kFloat32);
}

bool trims(const MergeRecipe& r) {
  return (r.method == MergeMethod::Ties || r.method == MergeMethod::MagnitudePrune) &&
         r.density < 1.0;
}

bool drops(const MergeRecipe& r) {
  return (r.method == MergeMethod::DareLinear || r.method == MergeMethod::DareTies) &&
         r.density < 1.0;
}

bool elects(const MergeRecipe& r) {
  return r.method == MergeMethod::Ties || r.method == MergeMethod::DareTies;
}

// τ_i = c_i · B_i A_i (rows r0…r0+rows), one GEMM with c_i as its alpha: BLAS scales each
// float32 dot product once by the float32 c_i, which is what the reference's GEMM and then
// `* c_i` compute, bit for bit (DenseMerge.FastModuleEqualsTheReferenceModule), without a
// second pass over τ_i.
void task_rows_into(at::Tensor& t, const MergeInput& x, int64_t r0) {
  at::addmm_out(t, t, f32(x.B).narrow(0, r0, t.size(0)), f32(x.A), 0.0, x.weight * x.scale);
}

at::Tensor task_rows(const MergeInput& x, int64_t r0, int64_t rows) {
  auto t = torch::empty({rows, x.A.size(1)}, torch::kFloat32);
  task_rows_into(t, x, r0);
  return t;
}

// --- the route before issue 12 -------------------------------------------------------------

at::Tensor reference_trim(const at::Tensor& t, double density) {
  if (density >= 1.0) return t;
  const int64_t n = t.numel();
  const int64_t k = trim_count(density, n);
  if (k <= 0) return torch::zeros_like(t);
  // k-th largest = (n - k + 1)-th smallest
  const auto thr = std::get<0>(torch::kthvalue(t.abs().flatten(), n - k + 1));
  return t * (t.abs() >= thr).to(t.scalar_type());
}

at::Tensor reference_task(const MergeInput& x, double coeff, const MergeRecipe& recipe) {
  at::Tensor t = f32(x.B).mm(f32(x.A)) * coeff;
  if (trims(recipe)) return reference_trim(t, recipe.density);
  if (drops(recipe))
    return t * dare_keep_mask(t.sizes(), recipe.density, recipe.seed, x.stream).to(t.device()) /
           recipe.density;
  return t;
}

}  // namespace

at::Tensor dense_merge(const std::vector<MergeInput>& in, const MergeRecipe& recipe,
                       int64_t cache_bytes) {
  const int64_t out = in.front().B.size(0), inf = in.front().A.size(1);
  const size_t N = in.size();
  const bool cached = int64_t(N) * out * inf * 4 <= cache_bytes;
  // Rows per block: the whole matrix when cached; else about cache_bytes / 4 of τ's.
  const int64_t block =
      cached ? out : std::max<int64_t>(1, (cache_bytes / 4) / (int64_t(N) * inf * 4));
  std::vector<at::Tensor> tau(N);
  std::vector<EntryRule> rules(N);
  for (size_t i = 0; i < N; ++i) {
    auto& rule = rules[i];
    rule.density = recipe.density;
    if (drops(recipe)) {
      rule.kind = EntryRule::Drop;
      rule.key = dare_key(recipe.seed, in[i].stream);
      rule.divisor = static_cast<float>(recipe.density);
      rule.cut = dare_cut(recipe.density);
    }
    if (!cached && !trims(recipe)) continue;
    // Built from the same row-block products the merge pass below recomputes when τ is not
    // cached: a BLAS product of a row block can differ in the last bit from the same rows of
    // the whole product, and the threshold must be taken on the values that are trimmed.
    auto t = torch::empty({out, inf}, torch::kFloat32);
    for (int64_t r0 = 0; r0 < out; r0 += block) {
      auto rows = t.narrow(0, r0, std::min(block, out - r0));
      task_rows_into(rows, in[i], r0);
    }
    if (trims(recipe)) {
      rule.kind = EntryRule::Trim;
      const int64_t k = trim_count(recipe.density, t.numel());
      rule.threshold = k > 0 ? kth_largest_magnitude(t.data_ptr<float>(), t.numel(), k)
                             : std::numeric_limits<float>::quiet_NaN();
    }
    if (cached) tau[i] = std::move(t);
  }
  auto merged = torch::empty({out, inf}, torch::kFloat32);
  const bool elect = elects(recipe);
  const bool frequency = recipe.majority_sign == MajoritySign::Frequency;
  for (int64_t r0 = 0; r0 < out; r0 += block) {
    const int64_t rows = std::min(block, out - r0);
    std::vector<at::Tensor> blocks(N);
    std::vector<const float*> ptr(N);
    for (size_t i = 0; i < N; ++i) {
      blocks[i] = cached ? tau[i].narrow(0, r0, rows) : task_rows(in[i], r0, rows);
      ptr[i] = blocks[i].data_ptr<float>();
    }
    float* dst = merged.data_ptr<float>() + r0 * inf;
    const int64_t n = rows * inf, j0 = r0 * inf;
    constexpr int64_t kChunk = 4096;  // entries per combine call: N chunks stay in L2
    at::parallel_for(0, (n + kChunk - 1) / kChunk, 4, [&](int64_t c0, int64_t c1) {
      std::vector<float> scratch(N * kChunk);
      std::vector<const float*> p(N);
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t b = c * kChunk, m = std::min(kChunk, n - b);
        for (size_t i = 0; i < N; ++i)
          p[i] = ptr[i] + b;
        combine_entries(p, rules, j0 + b, m, elect, frequency, scratch.data(), dst + b);
      }
    });
  }
  return merged;
}

at::Tensor dense_merge_reference(const std::vector<MergeInput>& in, const MergeRecipe& recipe) {
  auto tau = [&](size_t i) { return reference_task(in[i], in[i].weight * in[i].scale, recipe); };
  if (!elects(recipe)) {
    at::Tensor acc;
    for (size_t i = 0; i < in.size(); ++i) {
      auto t = tau(i);
      acc = acc.defined() ? acc.add_(t) : t;
    }
    return acc;
  }
  const int64_t bytes = int64_t(in.size()) * in.front().B.size(0) * in.front().A.size(1) * 4;
  std::vector<at::Tensor> cache(bytes <= kDenseCacheBytes ? in.size() : 0);
  auto get = [&](size_t i) {
    if (cache.empty()) return tau(i);
    if (!cache[i].defined()) cache[i] = tau(i);
    return cache[i];
  };
  at::Tensor stat;
  for (size_t i = 0; i < in.size(); ++i) {
    const auto t = get(i);
    auto contrib = recipe.majority_sign == MajoritySign::Total ? t : t.sign();
    stat = stat.defined() ? stat.add_(contrib) : contrib.clone();
  }
  const auto elected = torch::where(stat >= 0, torch::ones_like(stat), -torch::ones_like(stat));
  stat = at::Tensor();
  at::Tensor total, count;
  for (size_t i = 0; i < in.size(); ++i) {
    const auto t = get(i);
    const auto agree = (t.sign() == elected).to(t.scalar_type());
    total = total.defined() ? total.add_(t * agree) : t * agree;
    count = count.defined() ? count.add_(agree) : agree;
  }
  return total / count.clamp_min(1.0);
}

}  // namespace basin
