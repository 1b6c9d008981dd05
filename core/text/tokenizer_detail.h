// Internals shared by the parts of the tokenizer.json reader (not part of the public API).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/errors.h"

namespace basin::tokenizer_detail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
// A string-keyed map that can be searched with a string_view.
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Throws InputError "'file': key: what".
[[noreturn]] inline void fail(const std::filesystem::path& file, const std::string& key,
                              const std::string& what) {
  throw InputError("'" + file.string() + "': " + key + ": " + what);
}

}  // namespace basin::tokenizer_detail
