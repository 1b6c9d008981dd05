#include "io/json_file.h"

#include <nlohmann/json.hpp>

#include "io/mapped_file.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path))
    throw InputError("expected a JSON file but found a folder: '" + path.string() + "'");
  auto f = MappedFile::open(path);
  const std::string_view text(reinterpret_cast<const char*>(f->data()), f->size());
  if (!is_valid_utf8(text)) throw InputError("'" + path.string() + "' is not valid UTF-8");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError("'" + path.string() + "' is not valid JSON: " + e.what());
  }
}

void write_json_file(const std::filesystem::path& path, const nlohmann::json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

void write_json_file(const std::filesystem::path& path, const nlohmann::ordered_json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace basin
