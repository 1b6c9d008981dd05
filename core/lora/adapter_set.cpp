#include "lora/adapter_set.h"

#include <map>

#include "lora/peft_io.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {

AdapterSet AdapterSet::load(const std::vector<std::filesystem::path>& dirs,
                            jobs::Progress& progress) {
  AdapterSet set;
  for (size_t i = 0; i < dirs.size(); ++i) {
    progress.check_cancelled();
    progress.report(double(i) / double(dirs.size()), "loading " + dirs[i].filename().string());
    set.add(load_peft_adapter(dirs[i]));
  }
  progress.report(1.0, "loaded");
  return set;
}

std::vector<std::string> AdapterSet::add(std::shared_ptr<const Adapter> adapter) {
  std::vector<std::string> warnings;
  // Folders are often all called "adapter" or "final": tell them apart by their parent folder,
  // then by a counter.
  auto taken = [&](const std::string& name) {
    for (const auto& a : adapters_)
      if (a->name == name) return true;
    return false;
  };
  if (taken(adapter->name)) {
    std::string name = adapter->path.has_parent_path() ? std::filesystem::absolute(adapter->path)
                                                                 .lexically_normal()
                                                                 .parent_path()
                                                                 .filename()
                                                                 .string() +
                                                             "/" + adapter->name
                                                       : adapter->name;
    for (int k = 2; taken(name); ++k)
      name = adapter->name + " #" + std::to_string(k);
    auto renamed = std::make_shared<Adapter>(*adapter);
    renamed->name = name;
    adapter = std::move(renamed);
  }
  if (!adapters_.empty()) {
    const Adapter& first = *adapters_.front();
    if (first.config.fan_in_fan_out != adapter->config.fan_in_fan_out)
      throw IncompatibleError("adapter '" + adapter->name + "' has fan_in_fan_out=" +
                              (adapter->config.fan_in_fan_out ? "true" : "false") + " but '" +
                              first.name + "' has the opposite");
    std::map<std::string, const ModuleShape*> shapes;
    for (const auto& m : modules_)
      shapes[m.name] = &m;
    for (const auto& m : adapter->modules) {
      const auto it = shapes.find(m.name);
      if (it == shapes.end()) continue;
      const ModuleShape& s = *it->second;
      if (s.out_features != m.out_features() || s.in_features != m.in_features())
        throw IncompatibleError(
            "adapter '" + adapter->name + "' is incompatible with the set: module '" + m.name +
            "' has ΔW shape [" + std::to_string(m.out_features()) + ", " +
            std::to_string(m.in_features()) + "] but the set has [" +
            std::to_string(s.out_features) + ", " + std::to_string(s.in_features) + "]");
    }
    const auto& base = adapter->config.base_model_name_or_path;
    if (!base.empty() && !first.config.base_model_name_or_path.empty() &&
        base != first.config.base_model_name_or_path)
      warnings.push_back("adapter '" + adapter->name + "' names base model '" + base + "' but '" +
                         first.name + "' names '" + first.config.base_model_name_or_path + "'");
  }
  adapters_.push_back(std::move(adapter));
  rebuild_modules();
  return warnings;
}

void AdapterSet::remove(size_t index) {
  adapters_.erase(adapters_.begin() + static_cast<std::ptrdiff_t>(index));
  rebuild_modules();
}

std::vector<std::string> AdapterSet::names() const {
  std::vector<std::string> out;
  for (const auto& a : adapters_)
    out.push_back(a->name);
  return out;
}

void AdapterSet::rebuild_modules() {
  std::map<std::string, ModuleShape> all;
  for (const auto& a : adapters_)
    for (const auto& m : a->modules)
      all.emplace(m.name, ModuleShape{m.name, m.out_features(), m.in_features()});
  modules_.clear();
  for (auto& [name, s] : all)
    modules_.push_back(s);
  std::sort(modules_.begin(), modules_.end(), [](const ModuleShape& a, const ModuleShape& b) {
    return natural_less(a.name, b.name);
  });
}

}  // namespace basin
