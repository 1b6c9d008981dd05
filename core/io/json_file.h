// Reading JSON files with errors that name the file and the key. Every JSON Basin reads from a
// user goes through parse_json_text: it refuses deep nesting, duplicate keys, invalid UTF-8,
// numbers beyond double range and oversized input with an InputError, and never recurses on
// the input, so no file can crash the reader.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace basin {

// Limits on the JSON Basin accepts.
struct JsonLimits {
  size_t max_bytes = size_t{64} << 20;  // larger input is refused before parsing (64 MiB)
  int max_depth = 256;                  // arrays/objects nested deeper are refused
};

// Tokenizer files carry whole vocabularies (tens of MB for the largest models).
inline constexpr size_t kMaxTokenizerJsonBytes = size_t{512} << 20;

// Parses `text`; throws InputError quoting `what` (a file name, or "file:line") for invalid
// JSON (line and column), invalid UTF-8 (byte offset), nesting beyond limits.max_depth, a
// duplicate key, a number that overflows a double, or input over limits.max_bytes. Any value
// the message quotes is a bounded excerpt.
nlohmann::json parse_json_text(std::string_view text, const std::string& what,
                               const JsonLimits& limits = {});

// Reads and parses a JSON file with parse_json_text; also throws InputError naming the file
// when it is missing, a folder or unreadable.
nlohmann::json read_json_file(const std::filesystem::path& path, const JsonLimits& limits = {});

// Serialises `j` (indented) and writes it atomically.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);
void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& j);

}  // namespace basin
