// Splitting one study over several processes: share i of n (an MPI rank, or one job of a Slurm
// array run with `--shard i/n`) computes a contiguous block of the study's independent units
// (the pairs of a connectivity matrix, ...), and writes them as a partial result. Gathering
// the n partials gives the same result a single process computes (numbers equal within float32
// rounding: a unit's batches may be composed differently).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

namespace basin::jobs {

inline constexpr int kMaxShards = 4096;

struct Shard {
  int index = 0;  // 0 … count − 1
  int count = 1;

  bool whole() const { return count == 1; }
  // Parses "i/n" (0 ≤ i < n ≤ kMaxShards, decimal digits only); throws InputError quoting an
  // excerpt of `text` and saying what was expected.
  static Shard parse(const std::string& text);
  std::string to_string() const;  // "i/n"
  // The units [begin, end) of `total` this share computes: balanced contiguous blocks, so the
  // shares together cover 0 … total − 1 exactly once and differ in size by at most one.
  std::pair<size_t, size_t> block(size_t total) const;
};

}  // namespace basin::jobs
