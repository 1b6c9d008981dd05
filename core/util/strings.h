// Small string helpers shared by core, the CLI and the UI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basin {

// "Natural" order: digit runs compare as numbers, so layers.2 < layers.10.
bool natural_less(std::string_view a, std::string_view b);

// Layer index of a module path such as "model.layers.12.mlp.up_proj" (12), if any.
std::optional<int> layer_index(std::string_view module_name);
// Last component of a module path ("q_proj").
std::string leaf_name(std::string_view module_name);

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// "[2, 3, 4]": a tensor shape for messages.
std::string format_shape(const std::vector<int64_t>& shape);
// Shortest decimal that round-trips a double ("%.17g" trimmed); "nan"/"inf" spelled out.
std::string format_double(double v);
// 1234567 -> "1.2 MB".
std::string human_bytes(double bytes);
bool is_valid_utf8(std::string_view s);
// Offset of the first byte that starts no valid UTF-8 sequence (overlong forms and surrogates
// count as invalid), or std::string_view::npos when `s` is valid UTF-8.
size_t invalid_utf8_offset(std::string_view s);
// A bounded quote of user text for error messages: at most `max` bytes (cut at a UTF-8
// boundary, "…" appended when cut), control characters and invalid UTF-8 shown as '?'.
std::string excerpt(std::string_view s, size_t max = 60);

}  // namespace basin
