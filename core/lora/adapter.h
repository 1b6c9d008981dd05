// A LoRA adapter in memory: per module the factors A [r, in] and B [out, r] and the scale s,
// so that the module's weight update is ΔW = s · B · A (Hu et al. 2021, eq. 3).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lora/peft_config.h"

namespace basin {

struct LoraModule {
  std::string name;  // module path in the model, e.g. "model.layers.0.self_attn.q_proj"
  at::Tensor A;      // lora_A.weight [r, in]; may view a memory-mapped file
  at::Tensor B;      // lora_B.weight [out, r]
  double alpha = 1;  // lora_alpha PEFT gives this module
  double scale = 1;  // s = alpha / r (or alpha / sqrt(r) with rsLoRA)

  int64_t rank() const { return A.size(0); }
  int64_t in_features() const { return A.size(1); }
  int64_t out_features() const { return B.size(0); }
};

struct Adapter {
  std::string name;                 // display name (the folder's name by default)
  std::filesystem::path path;       // folder it was loaded from; empty for a merge result
  PeftLoraConfig config;            // as read (or as it will be written)
  std::vector<LoraModule> modules;  // in natural order of their names
  std::string content_hash;         // SHA-256 of adapter_model.safetensors ("" if in memory)
  std::map<std::string, std::string> metadata;  // safetensors __metadata__
  uint64_t file_bytes = 0;                      // size of adapter_model.safetensors

  const LoraModule* find(std::string_view module) const;
  int64_t parameter_count() const;
  // Smallest and largest rank over the modules (0, 0 when there are none).
  std::pair<int64_t, int64_t> rank_range() const;
  // Frobenius norm of ΔW_m = s B A per module, from the r×r Gram matrices (no dense ΔW).
  std::vector<double> delta_norms() const;
};

// Sorts modules into natural order (layers.2 before layers.10).
void sort_modules(std::vector<LoraModule>& modules);

}  // namespace basin
