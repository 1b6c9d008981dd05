#include "analysis/pairwise_matrix.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "util/errors.h"
#include "util/strings.h"

namespace basin {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

nlohmann::json PairwiseMatrix::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < values.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index j = 0; j < values.cols(); ++j)
      row.push_back(std::isfinite(values(i, j)) ? nlohmann::json(values(i, j)) : nlohmann::json());
    rows.push_back(row);
  }
  return {{"metric", metric}, {"labels", labels}, {"values", rows}};
}

PairwiseMatrix PairwiseMatrix::from_json(const nlohmann::json& j) {
  PairwiseMatrix m;
  if (!j.is_object() || !j.contains("labels") || !j.contains("values"))
    throw InputError("pairwise matrix JSON needs 'labels' and 'values'");
  m.metric = j.value("metric", "");
  m.labels = j["labels"].get<std::vector<std::string>>();
  const auto n = static_cast<Eigen::Index>(m.labels.size());
  if (!j["values"].is_array() || static_cast<Eigen::Index>(j["values"].size()) != n)
    throw InputError("pairwise matrix JSON: 'values' must have one row per label");
  m.values.resize(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& row = j["values"][i];
    if (!row.is_array() || static_cast<Eigen::Index>(row.size()) != n)
      throw InputError("pairwise matrix JSON: row " + std::to_string(i) + " has the wrong length");
    for (Eigen::Index k = 0; k < n; ++k)
      m.values(i, k) =
          row[k].is_null() ? std::numeric_limits<double>::quiet_NaN() : row[k].get<double>();
  }
  return m;
}

std::string PairwiseMatrix::to_csv() const {
  std::string out = csv_field(metric.empty() ? "model" : metric);
  for (const auto& l : labels) {
    out += ',';
    out += csv_field(l);
  }
  out += "\n";
  for (Eigen::Index i = 0; i < values.rows(); ++i) {
    out += csv_field(labels[static_cast<size_t>(i)]);
    for (Eigen::Index j = 0; j < values.cols(); ++j) {
      out += ',';
      if (std::isfinite(values(i, j))) out += format_double(values(i, j));
    }
    out += "\n";
  }
  return out;
}

}  // namespace basin
