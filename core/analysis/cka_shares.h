// A CKA matrix computed in shares (basin-cli cka over MPI ranks or with --shard i/n). The work
// splits in one of two exact ways, by where the features come from:
//  - from a model: the forward passes are the cost, so a share computes the pooled features of
//    a contiguous block of the models. A model's features are computed in the same batches
//    whichever other models run beside it (features.h: a batch never mixes points), so the
//    gathered features are those one process computes, and the CKA matrix is then computed
//    once from all of them, as one process does.
//  - from feature files: reading is cheap and the pairs are the cost, so a share computes the
//    CKA of a contiguous block of the pairs (i ≤ j, row by row) with the same function one
//    process calls; the gathered matrix is bit for bit the single-process one.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json_fwd.hpp>

#include "analysis/pairwise_matrix.h"
#include "jobs/progress.h"
#include "jobs/shard.h"

namespace basin {

// A CKA matrix of this many models at most is gathered (2,048 models are 2 million pairs); a
// partial result naming more is not one Basin wrote.
inline constexpr size_t kMaxCkaModels = 2048;

struct CkaPart {
  std::vector<std::string> labels;  // every model of the matrix, in order
  bool debiased = false;
  // Feature shares: the features of models first … first + features.size() − 1.
  bool has_features = false;
  size_t first = 0;
  std::vector<Eigen::MatrixXd> features;
  // Pair shares: (i, j, CKA) for the share's pairs.
  std::vector<std::pair<size_t, size_t>> pairs;
  std::vector<double> values;

  // Doubles are written with 17 significant digits, so they read back exactly.
  nlohmann::json to_json() const;
  // Throws InputError naming the key for anything malformed (partial results come from files).
  static CkaPart from_json(const nlohmann::json& j);
};

// The pairs (i, j), i ≤ j < n, row by row: the units of a pair share.
std::vector<std::pair<size_t, size_t>> cka_pairs(size_t n);

// A pair share: the CKA (linear_cka) of `share`'s block of cka_pairs(features.size()).
CkaPart cka_pair_share(const std::vector<Eigen::MatrixXd>& features,
                       const std::vector<std::string>& labels, bool debiased,
                       const jobs::Shard& share, jobs::Progress& progress);

// The whole matrix from the shares (in share order): feature shares are joined and the matrix
// computed (cka_matrix); pair shares are placed. Throws InputError when the shares do not
// cover the models or pairs exactly once, or disagree on the models or the estimator.
PairwiseMatrix gather_cka(const std::vector<CkaPart>& parts, jobs::Progress& progress);

}  // namespace basin
