// Reading JSON files with errors that name the file and the key.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace basin {

// Parses a JSON file; throws InputError naming the file (missing, unreadable, invalid JSON with
// line/column).
nlohmann::json read_json_file(const std::filesystem::path& path);

// Serialises `j` (indented) and writes it atomically.
void write_json_file(const std::filesystem::path& path, const nlohmann::json& j);
void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& j);

}  // namespace basin
