// kit.json, the demo kit's manifest (core/demo/demo_kit.h), read checked: the fields the CLI,
// the GUI and the kit builder act on. The rest of the file (losses, timings, sizes) is a record
// for people and is not read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace basin {

// Only "tasks" is required; a field that is absent keeps its default here ("", 0, none), and a
// kit whose size, seed or version do not match is built again rather than reused.
struct KitManifest {
  std::string size;                   // "tiny", "small", "medium"
  uint64_t seed = 0;                  // the build's seed
  int version = 0;                    // the kit design's version (kKitVersion when current)
  std::vector<std::string> tasks;     // tasks/<name>.json and adapters/<name>, in order
  std::vector<std::string> adapters;  // every adapters/<name>: tasks, seeds and ranks
  nlohmann::json json;                // the whole manifest, for OracleVsBase::from_kit

  // Throws InputError naming `label` and the key at fault: a missing "tasks", a mistyped field,
  // or a task or adapter name that is not a plain folder name (empty, ".", "..", '/', '\\', NUL).
  static KitManifest from_json(const nlohmann::json& j, const std::string& label);
  // <kit_dir>/kit.json; InputError also for a missing or unparsable file.
  static KitManifest read(const std::filesystem::path& kit_dir);
};

}  // namespace basin
