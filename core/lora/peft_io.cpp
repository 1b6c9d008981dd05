#include "lora/peft_io.h"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "io/tensor_torch.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names the LoRA variants Basin recognises but does not handle, for a clear refusal.
std::string unsupported_reason(const std::string& key) {
  if (key.find("lora_magnitude_vector") != std::string::npos)
    return "a DoRA magnitude vector (DoRA adapters are not supported yet)";
  if (key.find("lora_embedding_A") != std::string::npos ||
      key.find("lora_embedding_B") != std::string::npos)
    return "an embedding LoRA factor (embedding LoRA is not supported yet)";
  if (ends_with(key, ".lora_B.bias") || ends_with(key, ".lora_A.bias"))
    return "a LoRA bias (lora_bias adapters are not supported yet)";
  if (ends_with(key, ".bias")) return "a bias vector (bias training is not supported yet)";
  if (key.find("modules_to_save") != std::string::npos || key.find("lora_") == std::string::npos)
    return "a full weight saved beside the adapter (modules_to_save is not supported yet)";
  return "not a lora_A.weight / lora_B.weight tensor";
}

}  // namespace

std::shared_ptr<Adapter> load_peft_adapter(const fs::path& dir_in) {
  fs::path dir = dir_in;
  if (!fs::exists(dir)) throw InputError("adapter folder not found: '" + dir.string() + "'");
  if (!fs::is_directory(dir))
    throw InputError("'" + dir.string() + "' is not a folder (an adapter is a folder with " +
                     kAdapterConfigFile + " and " + kAdapterWeightsFile + ")");
  const fs::path config_path = dir / kAdapterConfigFile;
  const fs::path weights_path = dir / kAdapterWeightsFile;
  if (!fs::exists(config_path))
    throw InputError("missing " + std::string(kAdapterConfigFile) + " in adapter folder '" +
                     dir.string() + "'");
  if (!fs::exists(weights_path)) {
    if (fs::exists(dir / "adapter_model.bin"))
      throw InputError("'" + dir.string() +
                       "' holds adapter_model.bin (PyTorch pickle), which Basin does not read; "
                       "save the adapter with safe_serialization=True");
    throw InputError("missing " + std::string(kAdapterWeightsFile) + " in adapter folder '" +
                     dir.string() + "'");
  }

  auto adapter = std::make_shared<Adapter>();
  adapter->path = dir;
  adapter->name = fs::absolute(dir).lexically_normal().filename().string();
  if (adapter->name.empty()) adapter->name = fs::absolute(dir).parent_path().filename().string();
  adapter->config = PeftLoraConfig::from_json(read_json_file(config_path), config_path.string());

  const SafetensorsReader reader(weights_path);
  const std::string label = weights_path.string();
  adapter->metadata = reader.metadata();
  adapter->file_bytes = reader.file()->size();

  struct Pair {
    const TensorInfo* A = nullptr;
    const TensorInfo* B = nullptr;
  };
  std::map<std::string, Pair> pairs;
  for (const auto& t : reader.tensors()) {
    const std::string& key = t.name;
    const bool is_a = ends_with(key, ".lora_A.weight");
    const bool is_b = ends_with(key, ".lora_B.weight");
    if (!is_a && !is_b)
      throw InputError("'" + label + "': tensor '" + key + "' is " + unsupported_reason(key));
    if (key.rfind(kPeftKeyPrefix, 0) != 0)
      throw InputError("'" + label + "': tensor '" + key + "' does not start with '" +
                       kPeftKeyPrefix + "' as PEFT names adapter weights");
    const size_t suffix = std::string_view(".lora_A.weight").size();
    const std::string module =
        key.substr(std::string_view(kPeftKeyPrefix).size(),
                   key.size() - suffix - std::string_view(kPeftKeyPrefix).size());
    if (module.empty()) throw InputError("'" + label + "': tensor '" + key + "' names no module");
    (is_a ? pairs[module].A : pairs[module].B) = &t;
  }

  for (const auto& [module, p] : pairs) {
    if (!p.A)
      throw InputError("'" + label + "': module '" + module +
                       "' has lora_B.weight but no lora_A.weight");
    if (!p.B)
      throw InputError("'" + label + "': module '" + module +
                       "' has lora_A.weight but no lora_B.weight");
    for (const TensorInfo* t : {p.A, p.B}) {
      if (!is_floating(t->dtype))
        throw InputError("'" + label + "': tensor '" + t->name + "' has dtype " +
                         dtype_name(t->dtype) + "; LoRA factors must be floating point");
      if (t->shape.size() != 2)
        throw InputError("'" + label + "': tensor '" + t->name + "' has " +
                         std::to_string(t->shape.size()) +
                         " dimensions; only linear-layer LoRA (2-D factors) is supported");
    }
    const int64_t r = p.A->shape[0];
    if (p.B->shape[1] != r)
      throw InputError("'" + label + "': module '" + module + "' has lora_A [" +
                       std::to_string(p.A->shape[0]) + ", " + std::to_string(p.A->shape[1]) +
                       "] and lora_B [" + std::to_string(p.B->shape[0]) + ", " +
                       std::to_string(p.B->shape[1]) + "] whose ranks disagree");
    if (r == 0 || p.A->shape[1] == 0 || p.B->shape[0] == 0)
      throw InputError("'" + label + "': module '" + module + "' has an empty factor");
    const int64_t cfg_r = adapter->config.rank_for(module);
    if (cfg_r != r)
      throw InputError("'" + label + "': module '" + module + "' has rank " + std::to_string(r) +
                       " but " + config_path.string() + " gives it r=" + std::to_string(cfg_r));
    // PEFT builds LoRA layers only where its config selects them and drops other tensors
    // without a word (load_state_dict(strict=False)): such a file disagrees with its config.
    if (const std::string why = adapter->config.untargeted_reason(module); !why.empty())
      throw InputError("'" + label + "': module '" + module + "' " + why + " in " +
                       config_path.string() +
                       ", so PEFT would not load its tensors; fix the config or the file");

    LoraModule m;
    m.name = module;
    m.A = tensor_view(reader, *p.A);
    m.B = tensor_view(reader, *p.B);
    require_finite(m.A, "'" + label + "': tensor '" + p.A->name + "'");
    require_finite(m.B, "'" + label + "': tensor '" + p.B->name + "'");
    m.alpha = adapter->config.alpha_for(module);
    m.scale = adapter->config.scale_for(module);
    adapter->modules.push_back(std::move(m));
  }
  if (adapter->modules.empty())
    throw InputError("'" + label + "' holds no LoRA factors (no *.lora_A.weight tensors)");
  sort_modules(adapter->modules);
  adapter->content_hash = sha256_file(weights_path);
  return adapter;
}

PeftLoraConfig config_for_save(const Adapter& adapter) {
  PeftLoraConfig c;
  c.base_model_name_or_path = adapter.config.base_model_name_or_path;
  c.task_type = adapter.config.task_type;
  c.fan_in_fan_out = adapter.config.fan_in_fan_out;
  c.use_rslora = false;
  // The most common rank and alpha become the defaults (ties: the earliest module's value);
  // the rest go to the patterns.
  std::vector<std::pair<int64_t, int>> rank_count;
  std::vector<std::pair<double, int>> alpha_count;
  auto bump = [](auto& counts, auto value) {
    for (auto& [v, n] : counts)
      if (v == value) return void(++n);
    counts.emplace_back(value, 1);
  };
  for (const auto& m : adapter.modules) {
    bump(rank_count, m.rank());
    bump(alpha_count, m.scale * static_cast<double>(m.rank()));
  }
  auto most = [](const auto& counts) {
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    return best->first;
  };
  c.r = rank_count.empty() ? 8 : most(rank_count);
  c.lora_alpha = alpha_count.empty() ? 8.0 : most(alpha_count);
  // Full module paths: PEFT selects a listed name where the module path equals it or ends in
  // ".name", so a leaf such as "0" (to_out.0) would also select every other module ending in
  // ".0" (ff.net.0, a GELU PEFT cannot wrap). A full path selects that module, and otherwise
  // only a module whose path ends in "." + that whole path (a model nesting a second copy of
  // the same path under a longer prefix). An anchored regex would be exact but grows with the
  // module count past what std::regex can compile (kMaxPatternLength).
  std::set<std::string> paths;
  for (const auto& m : adapter.modules) {
    paths.insert(m.name);
    const double alpha = m.scale * static_cast<double>(m.rank());
    if (m.rank() != c.r) c.rank_pattern.emplace_back(m.name, m.rank());
    if (alpha != c.lora_alpha) c.alpha_pattern.emplace_back(m.name, alpha);
  }
  c.target_modules.assign(paths.begin(), paths.end());
  return c;
}

void save_peft_adapter(const Adapter& adapter, const fs::path& dir, const SaveOptions& options) {
  if (adapter.modules.empty())
    throw InputError("adapter '" + adapter.name + "' has no modules to save");
  const auto st = to_scalar_type(options.dtype);
  if (!is_floating(options.dtype))
    throw InputError(std::string("cannot save LoRA factors as ") + dtype_name(options.dtype));
  const PeftLoraConfig config = config_for_save(adapter);
  // Check that the patterns give every module back its rank and scale: a pattern written for
  // one module must not also match another (it cannot with full paths, but verify).
  for (const auto& m : adapter.modules) {
    if (config.rank_for(m.name) != m.rank() ||
        std::abs(config.scale_for(m.name) - m.scale) > 1e-12 * std::max(1.0, std::abs(m.scale)))
      throw Error("internal: config for '" + adapter.name + "' does not reproduce module '" +
                  m.name + "'");
  }

  std::vector<at::Tensor> keep;
  std::vector<TensorBytes> tensors;
  for (const auto& m : adapter.modules) {
    const std::string base = std::string(kPeftKeyPrefix) + m.name;
    keep.push_back(m.A.to(torch::kCPU, st).contiguous());
    tensors.push_back(tensor_bytes(base + ".lora_A.weight", keep.back()));
    keep.push_back(m.B.to(torch::kCPU, st).contiguous());
    tensors.push_back(tensor_bytes(base + ".lora_B.weight", keep.back()));
  }
  std::map<std::string, std::string> meta = options.metadata;
  meta["format"] = "pt";  // what PEFT/transformers write; some loaders check it
  write_folder_atomic(dir, options.overwrite, [&](const fs::path& tmp) {
    write_safetensors(tmp / kAdapterWeightsFile, tensors, meta);
    write_json_file(tmp / kAdapterConfigFile, config.to_json());
  });
}

}  // namespace basin
