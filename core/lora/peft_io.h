// PEFT adapter folders: adapter_config.json + adapter_model.safetensors with keys
//   base_model.model.<module path>.lora_A.weight  [r, in]
//   base_model.model.<module path>.lora_B.weight  [out, r]
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "io/safetensors.h"
#include "lora/adapter.h"

namespace basin {

inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";
inline constexpr const char* kPeftKeyPrefix = "base_model.model.";

// Loads and validates an adapter folder. Tensors view the memory-mapped file (no copy).
// Throws InputError naming the file, key or value for anything Basin cannot use.
std::shared_ptr<Adapter> load_peft_adapter(const std::filesystem::path& dir);

struct SaveOptions {
  bool overwrite = false;    // replace an existing non-empty folder
  DType dtype = DType::F32;  // storage dtype of the factors (F32, F16, BF16 or F64)
  std::map<std::string, std::string> metadata;  // extra __metadata__ (provenance)
};

// Writes `adapter` as a PEFT folder that PEFT loads unchanged; the folder appears atomically.
// The config gets r / lora_alpha from the most common module values and rank_pattern /
// alpha_pattern entries (full module paths) for the others, so every module keeps its scale.
void save_peft_adapter(const Adapter& adapter, const std::filesystem::path& dir,
                       const SaveOptions& options = {});

// The config save_peft_adapter writes for `adapter` (exposed for tests).
PeftLoraConfig config_for_save(const Adapter& adapter);

}  // namespace basin
