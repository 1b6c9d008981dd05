#include "analysis/cka.h"

#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "util/errors.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Unbiased HSIC estimator on Gram matrices (Song et al. 2012, eq. 5):
//   [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1 / ((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)), K̃ = K with zero diagonal.
double hsic_unbiased(Eigen::MatrixXd K, Eigen::MatrixXd L) {
  const double n = static_cast<double>(K.rows());
  K.diagonal().setZero();
  L.diagonal().setZero();
  const Eigen::VectorXd k1 = K.rowwise().sum(), l1 = L.rowwise().sum();
  const double trace = (K.array() * L.array()).sum();  // tr(KL) for symmetric K, L
  const double middle = k1.sum() * l1.sum() / ((n - 1) * (n - 2));
  const double last = 2.0 / (n - 2) * k1.dot(l1);
  return (trace + middle - last) / (n * (n - 3));
}

}  // namespace

double linear_cka(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y, bool debiased) {
  if (X.rows() != Y.rows())
    throw InputError("CKA needs the same inputs on both sides: " + std::to_string(X.rows()) +
                     " rows vs " + std::to_string(Y.rows()));
  if (X.rows() < 2) throw InputError("CKA needs at least 2 inputs");
  const Eigen::MatrixXd Xc = X.rowwise() - X.colwise().mean();
  const Eigen::MatrixXd Yc = Y.rowwise() - Y.colwise().mean();
  if (!debiased) {
    // Linear CKA (Kornblith et al. 2019, eq. 7) in feature space: O(N d²) and no N×N matrix.
    const double cross = (Yc.transpose() * Xc).squaredNorm();
    const double xx = (Xc.transpose() * Xc).norm(), yy = (Yc.transpose() * Yc).norm();
    if (xx == 0 || yy == 0) return kNaN;
    return cross / (xx * yy);
  }
  if (X.rows() < 4) throw InputError("debiased CKA needs at least 4 inputs");
  const Eigen::MatrixXd K = Xc * Xc.transpose(), L = Yc * Yc.transpose();
  const double xy = hsic_unbiased(K, L), xx = hsic_unbiased(K, K), yy = hsic_unbiased(L, L);
  if (!(xx > 0) || !(yy > 0)) return kNaN;
  return xy / std::sqrt(xx * yy);
}

PairwiseMatrix cka_matrix(const std::vector<Eigen::MatrixXd>& features,
                          const std::vector<std::string>& labels, bool debiased,
                          jobs::Progress& progress) {
  if (features.size() != labels.size())
    throw InputError("CKA: " + std::to_string(features.size()) + " feature matrices but " +
                     std::to_string(labels.size()) + " labels");
  PairwiseMatrix m;
  m.metric = debiased ? "cka_debiased" : "cka";
  m.labels = labels;
  const auto n = static_cast<Eigen::Index>(features.size());
  m.values = Eigen::MatrixXd::Constant(n, n, kNaN);
  const double pairs = std::max<double>(1.0, double(n) * double(n + 1) / 2.0);
  double done = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (features[i].rows() != features[0].rows())
      throw InputError("CKA: '" + labels[i] + "' has " + std::to_string(features[i].rows()) +
                       " rows, '" + labels[0] + "' has " + std::to_string(features[0].rows()));
    for (Eigen::Index j = i; j < n; ++j) {
      progress.check_cancelled();
      m.values(i, j) = m.values(j, i) = linear_cka(features[i], features[j], debiased);
      progress.report(++done / pairs, "CKA");
    }
  }
  return m;
}

}  // namespace basin
