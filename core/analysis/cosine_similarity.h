// Cosine similarity between adapters' weight updates, per module and overall, computed from
// the factors: ⟨B1A1, B2A2⟩_F = tr((B1ᵀB2)(A2A1ᵀ)) — never a dense ΔW.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

#include "analysis/pairwise_matrix.h"
#include "jobs/progress.h"
#include "lora/adapter_set.h"

namespace basin {

struct SimilarityResult {
  std::vector<std::string> labels;   // adapter names
  std::vector<std::string> modules;  // the set's modules, natural order
  // Per module, the Gram matrix G_m(i,j) = ⟨ΔW_i, ΔW_j⟩_F (0 where an adapter lacks it).
  std::vector<Eigen::MatrixXd> gram;

  // Overall cosine: inner products summed over all modules, divided by the norms.
  PairwiseMatrix overall() const;
  // Cosine of one module (NaN where an adapter's ΔW is zero there).
  PairwiseMatrix module(size_t index) const;
  // Cosine over the modules of one layer (by layer_index of the module name).
  PairwiseMatrix layer(int layer) const;
  // Cosine over an arbitrary subset of modules.
  PairwiseMatrix subset(const std::vector<size_t>& module_indices, const std::string& what) const;
  std::vector<int> layers() const;  // layer indices present, ascending
};

// cos(i,j) = G(i,j) / sqrt(G(i,i) G(j,j)); NaN where a norm is 0.
Eigen::MatrixXd cosine_from_gram(const Eigen::MatrixXd& gram);

SimilarityResult cosine_similarity(const AdapterSet& set, jobs::Progress& progress);

}  // namespace basin
