#include "merge/sparsify.h"

#include <ATen/Parallel.h>

namespace basin {
namespace {

// splitmix64 (Steele et al. 2014): a strong 64-bit mixer, cheap enough to call per entry.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

at::Tensor magnitude_trim(const at::Tensor& t, double density) {
  if (density >= 1.0) return t;
  const int64_t n = t.numel();
  const int64_t k = static_cast<int64_t>(density * static_cast<double>(n));
  if (k <= 0) return torch::zeros_like(t);
  const auto mag = t.abs().flatten();
  // k-th largest = (n - k + 1)-th smallest
  const auto thr = std::get<0>(torch::kthvalue(mag, n - k + 1));
  return t * (t.abs() >= thr).to(t.scalar_type());
}

at::Tensor dare_keep_mask(at::IntArrayRef sizes, double density, uint64_t seed, uint64_t stream) {
  auto mask = torch::empty(sizes, torch::kFloat32);
  float* p = mask.data_ptr<float>();
  const int64_t n = mask.numel();
  const uint64_t key = mix64(seed ^ mix64(stream + 0x632be59bd9b4e019ull));
  at::parallel_for(0, n, 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const double u = static_cast<double>(mix64(key ^ static_cast<uint64_t>(j)) >> 11) * 0x1.0p-53;
      p[j] = u < density ? 1.0f : 0.0f;
    }
  });
  return mask;
}

at::Tensor elect_sign(const at::Tensor& stacked, MajoritySign method) {
  const auto stat = method == MajoritySign::Total ? stacked.sum(0) : stacked.sign().sum(0);
  return torch::where(stat >= 0, torch::ones_like(stat), -torch::ones_like(stat));
}

at::Tensor disjoint_mean(const at::Tensor& stacked, const at::Tensor& elected) {
  const auto agree = (stacked.sign() == elected.unsqueeze(0)).to(stacked.scalar_type());
  const auto total = (stacked * agree).sum(0);
  const auto count = agree.sum(0).clamp_min(1.0);
  return total / count;
}

}  // namespace basin
