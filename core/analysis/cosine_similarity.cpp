#include "analysis/cosine_similarity.h"

#include <cmath>
#include <limits>
#include <set>

#include "util/strings.h"

namespace basin {

Eigen::MatrixXd cosine_from_gram(const Eigen::MatrixXd& g) {
  const auto n = g.rows();
  Eigen::MatrixXd c(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      const double d = std::sqrt(std::max(0.0, g(i, i)) * std::max(0.0, g(j, j)));
      c(i, j) =
          d > 0 ? std::clamp(g(i, j) / d, -1.0, 1.0) : std::numeric_limits<double>::quiet_NaN();
    }
  return c;
}

PairwiseMatrix SimilarityResult::subset(const std::vector<size_t>& idx,
                                        const std::string& what) const {
  const auto n = static_cast<Eigen::Index>(labels.size());
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  for (auto i : idx)
    g += gram.at(i);
  return {"cosine_similarity" + (what.empty() ? std::string() : " (" + what + ")"), labels,
          cosine_from_gram(g)};
}

PairwiseMatrix SimilarityResult::overall() const {
  std::vector<size_t> all(modules.size());
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  return subset(all, "");
}

PairwiseMatrix SimilarityResult::module(size_t index) const {
  return subset({index}, modules.at(index));
}

PairwiseMatrix SimilarityResult::layer(int layer) const {
  std::vector<size_t> idx;
  for (size_t i = 0; i < modules.size(); ++i)
    if (layer_index(modules[i]) == layer) idx.push_back(i);
  return subset(idx, "layer " + std::to_string(layer));
}

std::vector<int> SimilarityResult::layers() const {
  std::set<int> s;
  for (const auto& m : modules)
    if (auto l = layer_index(m)) s.insert(*l);
  return {s.begin(), s.end()};
}

SimilarityResult cosine_similarity(const AdapterSet& set, jobs::Progress& progress) {
  SimilarityResult r;
  r.labels = set.names();
  const size_t n = set.size();
  for (const auto& m : set.modules())
    r.modules.push_back(m.name);
  r.gram.reserve(r.modules.size());
  for (size_t mi = 0; mi < r.modules.size(); ++mi) {
    progress.check_cancelled();
    progress.report(double(mi) / double(r.modules.size()), "cosine similarity");
    // Scale-folded factors, float64: P_i = s_i B_i, Q_i = A_i.
    std::vector<at::Tensor> P(n), Q(n);
    for (size_t i = 0; i < n; ++i)
      if (const LoraModule* m = set[i].find(r.modules[mi])) {
        P[i] = m->B.to(torch::kFloat64) * m->scale;
        Q[i] = m->A.to(torch::kFloat64);
      }
    Eigen::MatrixXd g =
        Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    for (size_t i = 0; i < n; ++i) {
      if (!P[i].defined()) continue;
      for (size_t j = i; j < n; ++j) {
        if (!P[j].defined()) continue;
        // ⟨P_i Q_i, P_j Q_j⟩_F = tr((P_iᵀ P_j)(Q_j Q_iᵀ)) = Σ (P_iᵀP_j) ⊙ (Q_i Q_jᵀ)
        const double v = (P[i].t().mm(P[j]) * Q[i].mm(Q[j].t())).sum().item<double>();
        g(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = v;
        g(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(i)) = v;
      }
    }
    r.gram.push_back(std::move(g));
  }
  progress.report(1.0, "cosine similarity");
  return r;
}

}  // namespace basin
