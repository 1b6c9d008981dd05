#include "demo/kit_manifest.h"

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "io/json_numbers.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

[[noreturn]] void refuse(const std::string& label, const std::string& key, const std::string& why) {
  throw InputError(label + ": '" + key + "' " + why);
}

const nlohmann::json& field(const nlohmann::json& j, const std::string& label,
                            const std::string& key) {
  if (!j.contains(key)) refuse(label, key, "is missing; rebuild the kit with basin-cli demo-kit");
  return j.at(key);
}

std::string string_field(const nlohmann::json& j, const std::string& label,
                         const std::string& key) {
  const auto& v = field(j, label, key);
  if (!v.is_string()) refuse(label, key, "must be a string, got " + json_excerpt(v));
  return v.get<std::string>();
}

// A name that becomes one folder or file name under the kit, never a path out of it.
std::vector<std::string> names_field(const nlohmann::json& j, const std::string& label,
                                     const std::string& key) {
  const auto& v = field(j, label, key);
  if (!v.is_array()) refuse(label, key, "must be a list of names, got " + json_excerpt(v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = key + "[" + std::to_string(i) + "]";
    if (!v[i].is_string()) refuse(label, at, "must be a string, got " + json_excerpt(v[i]));
    const std::string name = v[i].get<std::string>();
    if (name.empty() || name == "." || name == ".." || name.size() > 255 ||
        name.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
      refuse(label, at, "'" + excerpt(name) + "' is not a plain folder name");
    out.push_back(name);
  }
  return out;
}

}  // namespace

KitManifest KitManifest::from_json(const nlohmann::json& j, const std::string& label) {
  if (!j.is_object()) throw InputError(label + ": expected a JSON object, got " + json_excerpt(j));
  KitManifest m;
  m.tasks = names_field(j, label, "tasks");
  if (j.contains("size")) m.size = string_field(j, label, "size");
  try {
    if (j.contains("seed")) m.seed = json_integer<uint64_t>(j.at("seed"), "seed");
    if (j.contains("version")) m.version = json_integer<int>(j.at("version"), "version");
  } catch (const InputError& e) {
    throw InputError(label + ": " + e.what());
  }
  if (j.contains("adapters")) m.adapters = names_field(j, label, "adapters");
  m.json = j;
  return m;
}

KitManifest KitManifest::read(const std::filesystem::path& kit_dir) {
  const auto file = kit_dir / "kit.json";
  return from_json(read_json_file(file), "'" + file.string() + "'");
}

}  // namespace basin
