// Several adapters trained on one base model. Adding an adapter checks that every module it
// shares with the set has the same [out, in]; a module an adapter lacks counts as ΔW = 0 there.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "jobs/progress.h"
#include "lora/adapter.h"

namespace basin {

struct ModuleShape {
  std::string name;
  int64_t out_features = 0;
  int64_t in_features = 0;
};

class AdapterSet {
 public:
  AdapterSet() = default;

  // Loads each folder (progress per adapter) and adds it; throws on the first problem.
  static AdapterSet load(const std::vector<std::filesystem::path>& dirs, jobs::Progress& progress);

  // Adds `adapter`; throws IncompatibleError naming the module and both shapes, or a clash of
  // fan_in_fan_out. A name already in the set is made unique ("parent/name", then "name #2").
  // Returns warnings (e.g. a different base_model_name_or_path) that do not stop the add.
  std::vector<std::string> add(std::shared_ptr<const Adapter> adapter);
  void remove(size_t index);

  size_t size() const { return adapters_.size(); }
  bool empty() const { return adapters_.empty(); }
  const Adapter& operator[](size_t i) const { return *adapters_.at(i); }
  const std::shared_ptr<const Adapter>& ptr(size_t i) const { return adapters_.at(i); }
  std::vector<std::string> names() const;

  // Union of the adapters' modules, in natural order, with their shapes.
  const std::vector<ModuleShape>& modules() const { return modules_; }

 private:
  void rebuild_modules();
  std::vector<std::shared_ptr<const Adapter>> adapters_;
  std::vector<ModuleShape> modules_;
};

}  // namespace basin
