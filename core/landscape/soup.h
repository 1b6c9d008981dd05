// Greedy soup with interpolation (uniformity study, Algorithm 1; after Wortsman et al. 2022):
// sort the ingredients by validation loss, start from the best, and for each next one try
// θ' = (k θ_g + (5−k) θ_i) / 5 for k = 1…4, keeping the best θ' if it lowers the loss.
// Also the uniform soup (the mean). Soups are coefficient vectors over the ingredients, i.e.
// linear combinations of their ΔW; saved as a `cat` merge with those weights.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "jobs/progress.h"
#include "landscape/points.h"

namespace basin {

struct SoupStep {
  std::string candidate;      // ingredient tried
  std::vector<double> tried;  // loss for k = 1…4
  int accepted_k = 0;         // 0: rejected
  double loss = 0;            // soup loss after the step
  Point coeffs;               // soup after the step
};

struct SoupResult {
  std::vector<std::string> labels;  // ingredients
  std::vector<double> single_loss;  // each ingredient alone
  std::vector<int> order;           // ingredients by ascending loss
  Point coeffs;                     // greedy soup
  double loss = 0;
  std::vector<SoupStep> steps;
  Point uniform_coeffs;
  double uniform_loss = 0;

  int best_single() const { return order.empty() ? -1 : order.front(); }
  nlohmann::json to_json() const;
  static SoupResult from_json(const nlohmann::json& j);
};

// Loss of each point (one batch); the soup never evaluates a point twice.
using PointLossFn = std::function<std::vector<double>(const std::vector<Point>&)>;

SoupResult greedy_soup(const std::vector<std::string>& labels, const PointLossFn& loss,
                       jobs::Progress& progress);

// The soup's loss through an evaluator: ingredient i is bank adapter slots[i] (slots empty:
// adapter i), every other adapter is 0. Each batch relays only the cancel of `job` (the soup
// reports its own steps), and a cancelled job throws after the batch.
PointLossFn evaluator_loss(const PointEvaluator& eval, jobs::Progress& job,
                           std::vector<size_t> slots = {});

}  // namespace basin
