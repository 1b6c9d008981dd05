#include "merge/sparsify_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define BASIN_AVX512_SCAN 1
#endif

namespace basin {

// GCC builds the per-entry kernels twice, for x86-64-v4 (AVX-512: eight 64-bit multiplies per
// instruction for the DARE hash, 45x faster than scalar) and for the baseline, and picks one
// at load time (ifunc). Both clones compute the same values: the operations are the same and
// -std=c++20 keeps floating-point contraction off.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define BASIN_KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define BASIN_KERNEL_CLONES
#endif

// Applies `rule` to n entries of one τ_i whose first flat index is j0, written as mask
// products (the reference's own formulas, t · (|t| >= thr)). Inlined into each clone of
// combine_entries. The DARE branch is a select, not a jump (a kept entry is a coin flip).
__attribute__((always_inline)) static inline void apply_rule(const EntryRule& rule, const float* t,
                                                             int64_t j0, int64_t n, float* v) {
  switch (rule.kind) {
    case EntryRule::Keep:
      std::copy(t, t + n, v);
      return;
    case EntryRule::Trim: {
      const float thr = rule.threshold;
      for (int64_t j = 0; j < n; ++j)
        v[j] = t[j] * float(std::fabs(t[j]) >= thr);
      return;
    }
    case EntryRule::Drop: {
      const uint64_t key = rule.key, cut = rule.cut;
      const float divisor = rule.divisor;
      for (int64_t j = 0; j < n; ++j) {
        const bool kept = dare_kept_cut(key, j0 + j, cut);
        const float q = t[j] / divisor;
        v[j] = kept ? q : 0.0f;
      }
      return;
    }
  }
}

namespace {

// |x| as its IEEE-754 bit pattern (non-negative floats order as their bits do).
inline uint32_t abs_bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b & 0x7fffffffu;
}

// Every entry is stored at the end of `inside`; the end advances only for entries in the
// bracket (no data-dependent branch: a branch there mispredicts on every gathered entry).
int64_t bracket_block_scalar(const float* x, int64_t n, uint32_t lo, uint32_t hi, uint32_t* inside,
                             int64_t* above) {
  const uint32_t width = hi - lo;  // b in [lo, hi] <=> b - lo <= width (unsigned)
  int64_t count = 0, up = 0;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t b = abs_bits(x[j]);
    up += b > hi;
    inside[count] = b;
    count += (b - lo) <= width;
  }
  *above += up;
  return count;
}

#ifdef BASIN_AVX512_SCAN
// The same with 16 entries at a time: one masked compare counts, a register compress packs the
// bracket's entries in order and one unaligned store writes all 16 lanes (the memory form of
// vpcompressd is microcoded on AMD Zen 4), so `inside` needs 16 values of room.
__attribute__((target("avx512f,popcnt"))) int64_t bracket_block_avx512(const float* x, int64_t n,
                                                                       uint32_t lo, uint32_t hi,
                                                                       uint32_t* inside,
                                                                       int64_t* above) {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512i vlo = _mm512_set1_epi32(static_cast<int>(lo));
  const __m512i vwidth = _mm512_set1_epi32(static_cast<int>(hi - lo));
  const __m512i vhi = _mm512_set1_epi32(static_cast<int>(hi));
  int64_t count = 0, up = 0, j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512i b = _mm512_and_si512(_mm512_loadu_si512(x + j), magnitude);
    up += _mm_popcnt_u32(_mm512_cmpgt_epu32_mask(b, vhi));
    const __mmask16 in = _mm512_cmple_epu32_mask(_mm512_sub_epi32(b, vlo), vwidth);
    _mm512_storeu_si512(inside + count, _mm512_maskz_compress_epi32(in, b));
    count += _mm_popcnt_u32(in);
  }
  *above += up;
  return count + bracket_block_scalar(x + j, n - j, lo, hi, inside + count, above);
}
#endif

}  // namespace

int64_t bracket_block(const float* x, int64_t n, uint32_t lo, uint32_t hi, uint32_t* inside,
                      int64_t* above) {
#ifdef BASIN_AVX512_SCAN
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt");
  if (avx512) return bracket_block_avx512(x, n, lo, hi, inside, above);
#endif
  return bracket_block_scalar(x, n, lo, hi, inside, above);
}

BASIN_KERNEL_CLONES void combine_entries(const std::vector<const float*>& t,
                                         const std::vector<EntryRule>& rules, int64_t j0, int64_t n,
                                         bool elect, bool frequency, float* v, float* out) {
  const size_t N = t.size();
  for (size_t i = 0; i < N; ++i)
    apply_rule(rules[i], t[i], j0, n, v + int64_t(i) * n);
  if (!elect) {
    std::copy(v, v + n, out);
    for (size_t i = 1; i < N; ++i) {
      const float* vi = v + int64_t(i) * n;
      for (int64_t j = 0; j < n; ++j)
        out[j] += vi[j];
    }
    return;
  }
  // out holds the election statistic, then the elected sign; sum/count are local.
  std::fill(out, out + n, 0.0f);
  for (size_t i = 0; i < N; ++i) {
    const float* vi = v + int64_t(i) * n;
    if (frequency) {
      for (int64_t j = 0; j < n; ++j)
        out[j] += float(vi[j] > 0.0f) - float(vi[j] < 0.0f);
    } else {
      for (int64_t j = 0; j < n; ++j)
        out[j] += vi[j];
    }
  }
  constexpr int64_t kMax = 1024;
  float sum[kMax], count[kMax];
  for (int64_t b = 0; b < n; b += kMax) {
    const int64_t m = std::min(kMax, n - b);
    float* e = out + b;
    for (int64_t j = 0; j < m; ++j) {
      e[j] = 2.0f * float(e[j] >= 0.0f) - 1.0f;
      sum[j] = 0.0f;
      count[j] = 0.0f;
    }
    for (size_t i = 0; i < N; ++i) {
      const float* vi = v + int64_t(i) * n + b;
      for (int64_t j = 0; j < m; ++j) {
        const float agree = float(vi[j] * e[j] > 0.0f);  // same sign; zeros never agree
        sum[j] += vi[j] * agree;
        count[j] += agree;
      }
    }
    for (int64_t j = 0; j < m; ++j)
      e[j] = sum[j] / (count[j] + float(count[j] < 1.0f));  // count clamped to >= 1
  }
}

}  // namespace basin
