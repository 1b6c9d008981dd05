// The per-entry steps of the trim/drop merges on raw float rows, shared by the dense route
// (dense_merge.cpp) and the DARE mask (sparsify.cpp). No LibTorch here: this file is built with
// -fno-trapping-math (core/CMakeLists.txt) so GCC vectorises the comparisons; the flag lets the
// compiler ignore floating-point exception flags and changes no value.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace basin {

// splitmix64 (Steele et al. 2014): a strong 64-bit mixer, cheap enough to call per entry.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// DARE's draw (Yu et al. 2024, eq. 2) for one tensor: entry j is kept, with probability d,
// when dare_kept(dare_key(seed, stream), j, d), i.e. when u_j = (mix64(key ^ j) >> 11) · 2⁻⁵³
// is below d. u_j · 2⁵³ is an integer below 2⁵³ and d · 2⁵³ is exact in a double, so
// u_j < d <=> (mix64(key ^ j) >> 11) < ceil(d · 2⁵³) = dare_cut(d): the same draw on integers,
// which vectorises (no 64-bit integer to double conversion).
inline uint64_t dare_key(uint64_t seed, uint64_t stream) {
  return mix64(seed ^ mix64(stream + 0x632be59bd9b4e019ull));
}
inline uint64_t dare_cut(double density) {
  if (!(density > 0.0)) return 0;                // nothing kept (NaN too)
  if (density >= 1.0) return uint64_t(1) << 53;  // everything kept
  return static_cast<uint64_t>(std::ceil(std::ldexp(density, 53)));
}
inline bool dare_kept_cut(uint64_t key, int64_t j, uint64_t cut) {
  return (mix64(key ^ static_cast<uint64_t>(j)) >> 11) < cut;
}
inline bool dare_kept(uint64_t key, int64_t j, double density) {
  return dare_kept_cut(key, j, dare_cut(density));
}

// What one entry of τ_i contributes after the trim (|v| >= the k-th largest |τ_i|, ties kept)
// or the DARE drop (kept with probability d, rescaled by 1/d; Yu et al. 2024, eq. 2).
struct EntryRule {
  enum Kind { Keep, Trim, Drop } kind = Keep;
  float threshold = 0;  // Trim; NaN keeps nothing (k = 0)
  uint64_t key = 0;     // Drop: dare_key(seed, stream)
  double density = 1;
  uint64_t cut = uint64_t(1) << 53;  // Drop: dare_cut(density)
  float divisor = 1;                 // Drop: d, as the float the reference divides by
};

// One block of the trim threshold's counting pass (kth_largest_magnitude): adds to *above the
// number of the n entries whose |x| bit pattern is above hi, writes the bit patterns in
// [lo, hi] to inside (room for n + 16 values) and returns how many. With AVX-512 where the CPU
// has it (16 entries per compare and compress), else a branch-free scalar loop: both give the
// same counts and the same values in the same order.
int64_t bracket_block(const float* x, int64_t n, uint32_t lo, uint32_t hi, uint32_t* inside,
                      int64_t* above);

// TIES sign election and disjoint mean (Yadav et al. 2023, §3 steps 2–3), or the plain sum,
// over n entries (first flat index j0) of the N task tensors t[i] after their rules,
// accumulated in the order i = 0…N−1 as the reference's whole-tensor adds do. `scratch`
// holds N·n floats.
void combine_entries(const std::vector<const float*>& t, const std::vector<EntryRule>& rules,
                     int64_t j0, int64_t n, bool elect, bool frequency, float* scratch, float* out);

}  // namespace basin
