// Bounded quotes of JSON values for error messages: a value from a user's file may be a 10 MB
// string or an array nested 300,000 deep, and nlohmann's dump() copies all of it (and recurses
// on the nesting), so error messages quote values through json_excerpt instead.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace basin {

// Compact JSON text of `v`, cut after about `max` bytes with "…" appended when cut. Walks the
// value with an explicit stack and stops as soon as the quote is full: time and memory are
// O(max), whatever the size or depth of `v`. Strings and keys are quoted as excerpt() does.
std::string json_excerpt(const nlohmann::json& v, size_t max = 80);

}  // namespace basin
