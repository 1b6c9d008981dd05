#include "analysis/cka_shares.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "analysis/cka.h"
#include "io/json_excerpt.h"
#include "io/json_numbers.h"
#include "util/errors.h"

namespace basin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

InputError bad(const std::string& key, const std::string& why) {
  return InputError("CKA partial result: key '" + key + "': " + why);
}

const nlohmann::json& at(const nlohmann::json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end()) throw bad(key, "missing");
  return *it;
}

size_t index_at(const nlohmann::json& j, const std::string& key) {
  return json_integer<size_t>(j, key);
}

}  // namespace

nlohmann::json CkaPart::to_json() const {
  nlohmann::json j;
  j["labels"] = labels;
  j["debiased"] = debiased;
  if (has_features) {
    j["first"] = first;
    nlohmann::json fs = nlohmann::json::array();
    for (const auto& f : features) {
      nlohmann::json rows = nlohmann::json::array();
      for (Eigen::Index r = 0; r < f.rows(); ++r) {
        const Eigen::RowVectorXd row = f.row(r);
        rows.push_back(json_numbers(std::vector<double>(row.data(), row.data() + row.size())));
      }
      fs.push_back(std::move(rows));
    }
    j["features"] = std::move(fs);
  } else {
    nlohmann::json ps = nlohmann::json::array();
    for (size_t k = 0; k < pairs.size(); ++k)
      ps.push_back({pairs[k].first, pairs[k].second,
                    std::isfinite(values[k]) ? nlohmann::json(values[k]) : nlohmann::json()});
    j["pairs"] = std::move(ps);
  }
  return j;
}

CkaPart CkaPart::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw InputError("CKA partial result: expected a JSON object");
  CkaPart p;
  const auto& labels = at(j, "labels");
  if (!labels.is_array()) throw bad("labels", "expected an array of names");
  if (labels.size() < 2 || labels.size() > kMaxCkaModels)
    throw bad("labels", std::to_string(labels.size()) + " models; a CKA matrix has 2 … " +
                            std::to_string(kMaxCkaModels));
  for (const auto& l : labels) {
    if (!l.is_string()) throw bad("labels", "expected names, got " + json_excerpt(l));
    p.labels.push_back(l.get<std::string>());
  }
  const auto& deb = at(j, "debiased");
  if (!deb.is_boolean()) throw bad("debiased", "expected true or false");
  p.debiased = deb.get<bool>();
  const size_t n = p.labels.size();
  const auto number = [&](const nlohmann::json& x, const std::string& key) {
    if (x.is_null()) return kNaN;
    if (!x.is_number()) throw bad(key, "expected a number, got " + json_excerpt(x));
    return x.get<double>();
  };
  if (j.contains("features")) {
    p.has_features = true;
    p.first = index_at(at(j, "first"), "first");
    const auto& fs = j.at("features");
    if (!fs.is_array()) throw bad("features", "expected an array of [N, d] matrices");
    if (p.first > n || fs.size() > n - p.first)
      throw bad("features", "models " + std::to_string(p.first) + " … +" +
                                std::to_string(fs.size()) + " are beyond the " + std::to_string(n) +
                                " labels");
    for (const auto& f : fs) {
      if (!f.is_array() || f.empty() || !f.front().is_array() || f.front().empty())
        throw bad("features", "expected a non-empty [N, d] matrix");
      Eigen::MatrixXd m(Eigen::Index(f.size()), Eigen::Index(f.front().size()));
      for (size_t r = 0; r < f.size(); ++r) {
        if (!f[r].is_array() || f[r].size() != size_t(m.cols()))
          throw bad("features", "rows of different lengths");
        for (size_t c = 0; c < f[r].size(); ++c)
          m(Eigen::Index(r), Eigen::Index(c)) = number(f[r][c], "features");
      }
      p.features.push_back(std::move(m));
    }
  } else {
    const auto& ps = at(j, "pairs");
    if (!ps.is_array() || ps.size() > n * (n + 1) / 2)
      throw bad("pairs", "expected at most " + std::to_string(n * (n + 1) / 2) + " [i, j, CKA]");
    for (const auto& e : ps) {
      if (!e.is_array() || e.size() != 3) throw bad("pairs", "expected [i, j, CKA]");
      const size_t i = index_at(e[0], "pairs"), k = index_at(e[1], "pairs");
      if (i > k || k >= n)
        throw bad("pairs", "(" + std::to_string(i) + ", " + std::to_string(k) +
                               ") is not a pair i ≤ j < " + std::to_string(n));
      p.pairs.emplace_back(i, k);
      p.values.push_back(number(e[2], "pairs"));
    }
  }
  return p;
}

std::vector<std::pair<size_t, size_t>> cka_pairs(size_t n) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j)
      out.emplace_back(i, j);
  return out;
}

CkaPart cka_pair_share(const std::vector<Eigen::MatrixXd>& features,
                       const std::vector<std::string>& labels, bool debiased,
                       const jobs::Shard& share, jobs::Progress& progress) {
  if (features.size() != labels.size())
    throw InputError("CKA: " + std::to_string(features.size()) + " feature matrices but " +
                     std::to_string(labels.size()) + " labels");
  CkaPart p;
  p.labels = labels;
  p.debiased = debiased;
  const auto all = cka_pairs(features.size());
  const auto [begin, end] = share.block(all.size());
  for (size_t k = begin; k < end; ++k) {
    progress.check_cancelled();
    const auto [i, j] = all[k];
    p.pairs.push_back(all[k]);
    p.values.push_back(linear_cka(features[i], features[j], debiased));
    progress.report(double(k + 1 - begin) / double(std::max<size_t>(1, end - begin)), "CKA");
  }
  return p;
}

PairwiseMatrix gather_cka(const std::vector<CkaPart>& parts, jobs::Progress& progress) {
  if (parts.empty()) throw InputError("CKA: no shares to gather");
  const auto& first = parts.front();
  const size_t n = first.labels.size();
  for (size_t s = 0; s < parts.size(); ++s) {
    if (parts[s].labels != first.labels || parts[s].debiased != first.debiased ||
        parts[s].has_features != first.has_features)
      throw InputError("CKA: share " + std::to_string(s) +
                       " has other models, another estimator or another kind of share than "
                       "share 0");
  }
  if (first.has_features) {
    std::vector<Eigen::MatrixXd> features;
    for (size_t s = 0; s < parts.size(); ++s) {
      if (parts[s].first != features.size())
        throw InputError("CKA: share " + std::to_string(s) + " starts at model " +
                         std::to_string(parts[s].first) + ", expected " +
                         std::to_string(features.size()));
      for (const auto& f : parts[s].features)
        features.push_back(f);
    }
    if (features.size() != n)
      throw InputError("CKA: the shares hold the features of " + std::to_string(features.size()) +
                       " models, the matrix has " + std::to_string(n));
    for (size_t k = 1; k < n; ++k)
      if (features[k].rows() != features[0].rows())
        throw InputError("CKA: '" + first.labels[k] + "' has " +
                         std::to_string(features[k].rows()) + " inputs, '" + first.labels[0] +
                         "' has " + std::to_string(features[0].rows()));
    return cka_matrix(features, first.labels, first.debiased, progress);
  }
  PairwiseMatrix m;
  m.metric = first.debiased ? "cka_debiased" : "cka";
  m.labels = first.labels;
  const auto N = Eigen::Index(n);
  m.values = Eigen::MatrixXd::Constant(N, N, kNaN);
  Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic> seen =
      Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic>::Constant(N, N, false);
  size_t placed = 0;
  for (const auto& p : parts)
    for (size_t k = 0; k < p.pairs.size(); ++k) {
      const auto i = Eigen::Index(p.pairs[k].first), j = Eigen::Index(p.pairs[k].second);
      if (seen(i, j))
        throw InputError("CKA: the pair (" + m.labels[size_t(i)] + ", " + m.labels[size_t(j)] +
                         ") is in two shares");
      seen(i, j) = true;
      m.values(i, j) = m.values(j, i) = p.values[k];
      ++placed;
    }
  if (placed != n * (n + 1) / 2)
    throw InputError("CKA: the shares hold " + std::to_string(placed) + " of the " +
                     std::to_string(n * (n + 1) / 2) + " pairs");
  progress.report(1.0, "CKA");
  return m;
}

}  // namespace basin
