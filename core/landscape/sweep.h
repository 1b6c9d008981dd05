// Interpolation sweeps θ(α) = α θ_a + (1−α) θ_b between two points of weight space (ΔW space:
// θ = s B A, never A and B separately), and the pairwise connectivity of a whole set:
// convexity gap, loss barrier and error barrier for every pair (analysis/curve_metrics.h).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "analysis/pairwise_matrix.h"
#include "jobs/shard.h"
#include "landscape/points.h"

namespace basin {

struct SweepRange {
  double alpha_min = 0.0;  // −0.5 … 1.5 allowed (extrapolation)
  double alpha_max = 1.0;
  int intervals = 10;  // N: the sweep has N+1 evenly spaced points
};
// The N+1 values of α; throws InputError naming the bad value (range outside [−0.5, 1.5],
// min ≥ max, N < 1 or N > 1000).
std::vector<double> sweep_alphas(const SweepRange& range);

// One path: α = 1 is endpoint a, α = 0 endpoint b.
struct Curve {
  std::string a, b;
  std::vector<double> alpha;
  std::vector<double> loss;          // mean NLL per target token
  std::vector<double> token_error;   // next-token error on the targets
  std::string metric;                // optional task metric name ("" = none)
  std::vector<double> metric_value;  // one per α when metric is set

  double convexity_gap() const;
  double barrier() const;             // loss barrier (Entezari et al.)
  double error_barrier() const;       // on token_error (Frankle et al.)
  std::vector<double> hull() const;   // lower convex hull of the loss at each α
  std::vector<double> chord() const;  // straight line between the loss at α = 0 and α = 1

  nlohmann::json to_json() const;
  static Curve from_json(const nlohmann::json& j);
  std::string to_csv() const;  // alpha,loss,token_error[,metric],hull,chord
  // The path from consecutive blocks of its α grid (the shares of a sweep, in share order;
  // empty blocks allowed); throws InputError when they are not one path.
  static Curve concatenate(const std::vector<Curve>& blocks);
};

// Evaluates the N+1 points of the path a → b in batches.
Curve sweep(const PointEvaluator& eval, const Endpoint& a, const Endpoint& b,
            const std::vector<double>& alphas, jobs::Progress& progress);

// Every pair i < j of `models`, in the order (0,1), (0,2), …, (1,2), …
struct ConnectivityResult {
  std::vector<std::string> labels;
  std::vector<double> alphas;
  // curves[pair_index(i, j)] for i < j; fewer while streaming. A share of the pairs
  // (jobs::Shard) leaves the pairs of other shares empty (no α), and they read as missing.
  std::vector<Curve> curves;

  static size_t pair_count(size_t n) { return n * (n - 1) / 2; }
  size_t pair_index(size_t i, size_t j) const;  // i < j
  // The curve of (i, j) in either order (α = 1 at labels[min]); nullptr while not computed.
  const Curve* curve(size_t i, size_t j) const;
  // The pairs a share computed: those with a curve.
  size_t computed_pairs() const;
  // Symmetric matrices, diagonal 0, NaN for pairs not computed yet.
  // which: "convexity_gap", "barrier", "error_barrier".
  PairwiseMatrix matrix(const std::string& which) const;

  // Missing pairs are written as null (partial results) and read back as missing.
  nlohmann::json to_json() const;
  static ConnectivityResult from_json(const nlohmann::json& j);
  // Combines the shares of one run (same labels and α grid) into the whole result; throws
  // InputError when a pair is missing from every share or computed by two.
  static ConnectivityResult gather(const std::vector<ConnectivityResult>& shares);
};

// Sweeps every pair (or, with a share of several, the share's block of pairs in pair order).
// The endpoint points are scored once and shared; each pair's interior points are one
// batched evaluation. `on_pair` (optional, called on the calling thread after each pair)
// receives the partial result, for streaming into a view.
ConnectivityResult connectivity(
    const PointEvaluator& eval, const std::vector<Endpoint>& models,
    const std::vector<double>& alphas, jobs::Progress& progress,
    const std::function<void(const ConnectivityResult& partial)>& on_pair = {},
    const jobs::Shard& shard = {});

}  // namespace basin
