// Centred kernel alignment between two representations of the same N inputs
// (Kornblith et al. 2019): linear CKA on centred feature matrices, and the debiased variant
// built on the unbiased HSIC estimator (Song et al. 2012; Nguyen et al. 2021).
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

#include "analysis/pairwise_matrix.h"
#include "jobs/progress.h"

namespace basin {

// Linear CKA of X [N, d1] and Y [N, d2] (rows = the same inputs):
//   ‖Ycᵀ Xc‖²_F / (‖Xcᵀ Xc‖_F ‖Ycᵀ Yc‖_F), Xc, Yc column-centred.
// Invariant to orthogonal transforms and isotropic scaling of either side; 1 for X = Y.
// With `debiased`, HSIC is the unbiased estimator on Gram matrices (needs N ≥ 4).
// Throws InputError when the row counts differ; NaN when a side has zero variance.
double linear_cka(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, bool debiased = false);

// CKA of every pair of feature matrices (all with the same N). metric = "cka" or
// "cka_debiased".
PairwiseMatrix cka_matrix(const std::vector<Eigen::MatrixXd>& features,
                          const std::vector<std::string>& labels, bool debiased,
                          jobs::Progress& progress);

}  // namespace basin
