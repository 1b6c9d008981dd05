// An N×N result over a set of models (cosine similarity, CKA, convexity gap, ...), with the
// JSON/CSV forms used by the CLI, the study file and the GUI's export.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json_fwd.hpp>

namespace basin {

struct PairwiseMatrix {
  std::string metric;               // e.g. "cosine_similarity"
  std::vector<std::string> labels;  // row/column names
  Eigen::MatrixXd values;           // NaN where undefined (e.g. a zero ΔW)

  nlohmann::json to_json() const;  // NaN is written as null
  static PairwiseMatrix from_json(const nlohmann::json& j);
  // Header row "metric,label1,label2,..." then one row per label.
  std::string to_csv() const;
};

// Quotes a CSV field when it needs it (RFC 4180).
std::string csv_field(const std::string& s);

}  // namespace basin
