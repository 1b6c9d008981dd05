// Numbers in result JSON. Arrays: non-finite values are written as null and read back as NaN
// (JSON has no NaN), as PairwiseMatrix::to_json does for matrices. Integers: read checked.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "util/errors.h"

namespace basin {

// An integer field of type Int. nlohmann's get<int>() converts a float such as 1e300 with a cast
// that is undefined behaviour (found by tests/fuzz); this accepts an integer, or an integral
// float, that fits Int, and throws InputError naming `key` for anything else.
template <class Int>
Int json_integer(const nlohmann::json& j, const std::string& key) {
  using Limits = std::numeric_limits<Int>;
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u <= static_cast<uint64_t>(Limits::max())) return static_cast<Int>(u);
  } else if (j.is_number_integer()) {
    const int64_t i = j.get<int64_t>();
    if (i >= 0 ? static_cast<uint64_t>(i) <= static_cast<uint64_t>(Limits::max())
               : Limits::is_signed && i >= static_cast<int64_t>(Limits::min()))
      return static_cast<Int>(i);
  } else if (j.is_number_float()) {
    const double d = j.get<double>();
    // [min, 2^digits) holds exactly the doubles that convert to Int.
    if (d == std::trunc(d) && d >= static_cast<double>(Limits::min()) &&
        d < std::ldexp(1.0, Limits::digits))
      return static_cast<Int>(d);
  }
  throw InputError("'" + key + "' must be an integer from " + std::to_string(Limits::min()) +
                   " to " + std::to_string(Limits::max()) + ", got " + json_excerpt(j));
}

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
