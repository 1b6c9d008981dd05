// Number arrays in result JSON: non-finite values are written as null and read back as NaN
// (JSON has no NaN), as PairwiseMatrix::to_json does for matrices.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

namespace basin {

inline nlohmann::json json_numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v)
    a.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json());
  return a;
}

inline std::vector<double> numbers_from_json(const nlohmann::json& j) {
  std::vector<double> v;
  for (const auto& x : j)
    v.push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
  return v;
}

}  // namespace basin
